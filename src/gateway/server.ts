/**
 * The binhost Portage talks to: `Packages`, `Packages.gz` and
 * `CAT/PN/PF-BUILD_ID.gpkg.tar` for what the policy trusts; 404 for anything
 * else. A package's bytes are re-hashed before they are sent, so nothing
 * that changed on disk since verification reaches Portage.
 */
import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Gateway } from './gateway.js';
import { registerGatewayMetrics } from './metrics.js';

export function buildGatewayApp(gw: Gateway, opts: { refresh?: () => Promise<unknown> } = {}): FastifyInstance {
  const app = Fastify({ logger: false });
  const served = registerGatewayMetrics(app, gw);
  const notReady = { error: { code: 'NOT_READY', message: 'the gateway has not completed its first refresh' } };
  app.get('/Packages', async (_req, reply) => {
    if (!gw.current()) return reply.status(503).send(notReady);
    return reply.type('text/plain; charset=utf-8').send(gw.packagesText());
  });
  app.get('/Packages.gz', async (_req, reply) => {
    if (!gw.current()) return reply.status(503).send(notReady);
    return reply.type('application/gzip').send(gzipSync(gw.packagesText()));
  });
  app.get('/-/status', async () => {
    const v = gw.current();
    return {
      refreshedAt: v ? new Date(v.refreshedAt).toISOString() : null,
      checkpointSize: v?.checkpointSize ?? null,
      // For `binswarm status`: counts and what this gateway gave Portage.
      counts: { listed: v?.packages.size ?? 0, trusted: v?.results.filter((r) => r.status === 'trusted').length ?? 0, untrusted: v?.results.filter((r) => r.status !== 'trusted').length ?? 0 },
      contribution: { packagesServed: served.packagesServed(), bytesServed: served.bytesServed(), ...gw.stats },
      served: v ? [...v.packages.values()].map((p) => ({ path: p.path, cpv: p.cpv, buildId: p.buildId, archive: p.archiveSha256, level: p.trust.level })) : [],
      decisions: v?.results.map((r) => ({ cpv: r.cpv, buildKey: r.buildKey, status: r.status, level: r.level, required: r.required, why: r.why })) ?? [],
      // Trusted, yet not listed: the archive itself was refused (e.g. a hostile image entry).
      refused: v?.refused ?? [],
    };
  });
  app.post('/-/refresh', async (req, reply) => {
    if (req.ip !== '127.0.0.1' && req.ip !== '::1') return reply.status(403).send({ error: { code: 'NOT_ALLOWED', message: 'refresh only from localhost' } });
    await (opts.refresh ?? (() => gw.refresh()))();
    return { ok: true };
  });
  app.get('/:cat/:pn/:file', async (req, reply) => {
    const { cat, pn, file } = req.params as { cat: string; pn: string; file: string };
    const p = gw.lookup(`${cat}/${pn}/${file}`);
    if (!p) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'not a package your policy trusts' } });
    if (!(await gw.store.verify(p.servedSha256))) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'cached archive failed verification; it was removed and will be fetched again' } });
    return reply.type('application/x-tar').header('content-length', String(p.size)).send(gw.store.openRead(p.servedSha256));
  });
  return app;
}
