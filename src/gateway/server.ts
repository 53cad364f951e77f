/**
 * The binhost Portage talks to: `Packages`, `Packages.gz` and
 * `CAT/PN/PF-BUILD_ID.gpkg.tar` for what the policy trusts and this system
 * can use; 404 for anything else; 503 with the reason when the view is too
 * old (max-staleness) or missing. An archive is fetched and verified before
 * the response starts, and re-hashed from the cache before it is sent, so
 * nothing unverified reaches Portage.
 */
import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Gateway } from './gateway.js';
import { PACKAGE_ROUTE, registerGatewayMetrics } from './metrics.js';

export function buildGatewayApp(gw: Gateway, opts: { refresh?: () => Promise<unknown> } = {}): FastifyInstance {
  const app = Fastify({ logger: false });
  const served = registerGatewayMetrics(app, gw);
  const packages = (gz: boolean) => async (_req: unknown, reply: import('fastify').FastifyReply) => {
    const why = gw.unservable();
    if (why) return reply.status(503).send({ error: why });
    const text = gw.packagesText();
    return gz ? reply.type('application/gzip').send(gzipSync(text)) : reply.type('text/plain; charset=utf-8').send(text);
  };
  app.get('/Packages', packages(false));
  app.get('/Packages.gz', packages(true));
  app.get('/-/status', async () => {
    const v = gw.current();
    const now = Date.now();
    return {
      checkpointSize: v?.checkpointSize ?? null,
      verifiedAt: v ? new Date(v.verifiedAt).toISOString() : null,
      ageSeconds: v ? Math.round((now - v.verifiedAt) / 1000) : null,
      serving: gw.unservable() === undefined,
      notServing: gw.unservable() ?? null,
      lastRefreshProblem: gw.lastProblem ?? null,
      signsForPortage: gw.signsForPortage,
      // For `binswarm status`: counts and what this gateway gave Portage.
      counts: gw.counts(),
      contribution: { packagesServed: served.packagesServed(), bytesServed: served.bytesServed(), ...gw.stats },
      listed: v ? [...v.packages.values()].map((p) => ({ path: p.path, cpv: p.cpv, buildId: p.buildId, archive: p.archiveSha256, level: p.level })) : [],
      decisions: gw.decisions(),
      // Trusted, yet not served: the archive itself was refused after reading (e.g. a hostile image entry).
      refused: gw.refused(),
    };
  });
  app.post('/-/refresh', async (req, reply) => {
    if (req.ip !== '127.0.0.1' && req.ip !== '::1') return reply.status(403).send({ error: { code: 'NOT_ALLOWED', message: 'refresh only from localhost' } });
    try {
      await (opts.refresh ?? (() => gw.refresh()))();
      return { ok: true };
    } catch (e) {
      return reply.status(502).send({ error: { code: (e as { code?: string }).code ?? 'INTERNAL', message: (e as Error).message } });
    }
  });
  app.get(PACKAGE_ROUTE, async (req, reply) => {
    const { cat, pn, file } = req.params as { cat: string; pn: string; file: string };
    const p = gw.lookup(`${cat}/${pn}/${file}`);
    if (!p) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'not a package your policy trusts for this system' } });
    const failed = (e: unknown) => reply.status(502).send({ error: { code: (e as { code?: string }).code ?? 'INTERNAL', message: (e as Error).message } });
    if (gw.signsForPortage) {
      // The copy signed for Portage: made from the verified archive, re-hashed before it is sent like any blob.
      let copy;
      try {
        copy = await gw.signedCopyFor(p);
      } catch (e) {
        return failed(e);
      }
      if (!(await gw.store.verify(copy.sha256))) return reply.status(502).send({ error: { code: 'ARCHIVE_MISMATCH', message: 'the signed copy failed verification; it was removed and will be made again' } });
      // Counted in the LRU cache like the archives (evicted, it is made again when asked for).
      gw.archives.touch(copy.sha256, copy.size);
      return reply.type('application/x-tar').header('content-length', String(copy.size)).send(gw.store.openRead(copy.sha256));
    }
    try {
      await gw.archiveFor(p);
    } catch (e) {
      return failed(e);
    }
    if (!(await gw.store.verify(p.archiveSha256))) return reply.status(502).send({ error: { code: 'ARCHIVE_MISMATCH', message: 'cached archive failed verification; it was removed and will be fetched again' } });
    gw.archives.touch(p.archiveSha256, p.size);
    return reply.type('application/x-tar').header('content-length', String(p.size)).send(gw.store.openRead(p.archiveSha256));
  });
  return app;
}
