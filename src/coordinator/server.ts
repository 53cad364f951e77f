/**
 * The coordinator's HTTP server: routes from api/v1.ts (validated by their
 * schemas, listed in /v1/openapi.json), signed requests for every write,
 * replay protection through the store's nonce table, body and rate limits,
 * and typed JSON errors.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { isBinswarmError, BinswarmError } from '../errors.js';
import { MerkleLog } from '../log/log.js';
import { ERROR_SCHEMA, MAX_METADATA_BATCH, ROUTES, type ArchiveReply, type AssignmentsReply, type Info, type PackageGroup, type PlacementReply, type RouteSpec } from '../api/v1.js';
import type { Envelope } from '../trust/dsse.js';
import { writeKeyPair } from '../trust/files.js';
import { generateKey, readPrivateKey, type PublicKey } from '../trust/keys.js';
import { MAX_SKEW_MS, verifyRequest, type SignedBy } from '../trust/request-signing.js';
import { VerifyPool } from '../trust/verify-pool.js';
import { registerCoordinatorMetrics } from './metrics.js';
import { ingestAttestation, ingestAttestations, ingestCertificate, ingestRevocation, latestCheckpoint, type Coordinator } from './ingest.js';
import { DEFAULT_TRACKER, liveHolders, placementCache, startProber, type TrackerPolicy } from './mirrors.js';
import { registerSchedulingRoutes } from './routes-scheduling.js';
import { SchedulerQueue, type SchedulerSettings } from './scheduler-queue.js';
import { openStore } from './store/sql-store.js';
import type { Store } from './store/types.js';
import { registerTileRoutes, storeTiles } from './tiles.js';
import { acceptCosignature, publishedCheckpoint } from './cosignatures.js';
import { verifyOutputMetadata, type OutputMetadata } from '../formats/output-metadata.js';
import { registerDashboardRoutes } from './dashboard/routes.js';
import { DEFAULT_SAMPLES_KEPT, startSampler } from './dashboard/sampler.js';

const STATUS: Record<string, number> = {
  BAD_JSON: 400, BAD_REQUEST: 400, BAD_ENVELOPE: 400, BAD_STATEMENT: 400, BUILD_KEY_MISMATCH: 400, WRONG_PAYLOAD_TYPE: 400, KEY_MISMATCH: 400, STALE_ATTESTATION: 400, BAD_TREE_SIZE: 400, BAD_KEY: 400, LEAF_TOO_LARGE: 413,
  UNSIGNED: 401, BAD_REQUEST_SIGNATURE: 401, STALE_REQUEST: 401, REPLAYED: 401,
  BAD_SIGNATURE: 403, UNKNOWN_KEY: 403, UNKNOWN_ISSUER: 403, NOT_ALLOWED: 403, NOT_CERTIFIED: 403, KEY_REVOKED: 403, CERT_NOT_VALID: 403,
  NOT_FOUND: 404, BAD_OUTPUT_METADATA: 400, OUTPUT_METADATA_MISMATCH: 400, ARCHIVE_CONFLICT: 409, LEASE_LOST: 409, LISTING_MISMATCH: 400, BAD_LISTING: 400, BAD_RESULT: 400,
  NO_ROOTS: 409, BODY_TOO_LARGE: 413, RATE_LIMITED: 429, NOT_IMPLEMENTED: 501, STORE_UNAVAILABLE: 503,
};

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
    signer?: SignedBy;
  }
}

export interface CoordinatorOptions {
  store: Store;
  key: Coordinator['key'];
  roots: PublicKey[];
  origin?: string;
  bodyLimit?: number;
  ratePerMinute?: number;
  logLevel?: string;
  /** Build jobs waiting, for /metrics (the scheduler's hook). */
  queueLength?: () => number | Promise<number>;
  now?: () => number;
  /** Tracker bans, mirror liveness, replica minimum (defaults: DEFAULT_TRACKER). */
  tracker?: Partial<TrackerPolicy>;
  /** One placement computation serves every placement/assignment request for this long (default 2 s). */
  placementTtlMs?: number;
  /** Probe peers' /health this often (off when absent). */
  probeIntervalMs?: number;
  /** How long one read of the published checkpoint is served to every follower (default 1 s; writes through this server drop it at once). */
  checkpointTtlMs?: number;
  /** Cosignatures a checkpoint needs before /log/checkpoint publishes it (0: the newest at once). */
  witnesses?: number;
  /** Scheduler settings (verify target, heartbeat, demand half-life, …). */
  scheduler?: Partial<SchedulerSettings>;
  /** Randomness for verify assignment (tests inject a seeded one). */
  rng?: () => number;
  /** Sample queue, peers, bytes served and trust levels for the dashboard's charts this often (off when absent). */
  sampleIntervalMs?: number;
  /** Samples kept (default 960: 4 h at 15 s). */
  samplesKept?: number;
  /** Dashboard: peers by role and replication (passes over every peer and archive) are shared this long, refreshed in the background (default: the sample interval, else 10 s). */
  dashboardSlowTtlMs?: number;
}

/** Signed objects in log order; `next` is the cursor for the following page (null at the end). */
function page(rows: { envelope: string; logIndex: number; logTime: number }[], limit = 1000): { items: { envelope: unknown; logIndex: number; logTime: number }[]; next: number | null } {
  return { items: rows.map((r) => ({ envelope: JSON.parse(r.envelope) as unknown, logIndex: r.logIndex, logTime: r.logTime })), next: rows.length === limit ? rows[rows.length - 1]!.logIndex : null };
}

export function openApiDocument(): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const [id, r] of Object.entries(ROUTES) as [string, RouteSpec][]) {
    const path = r.url.replace(/:(\w+)/g, '{$1}');
    const params = [
      ...Object.keys((r.schema.params as { properties?: object })?.properties ?? {}).map((name) => ({ name, in: 'path', required: true, schema: (r.schema.params as { properties: Record<string, object> }).properties[name] })),
      ...Object.entries((r.schema.querystring as { properties?: Record<string, object> })?.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', schema })),
    ];
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      operationId: id,
      summary: r.summary,
      ...(params.length ? { parameters: params } : {}),
      ...(r.schema.body ? { requestBody: { required: true, content: { 'application/json': { schema: r.schema.body } } } } : {}),
      ...(r.signed ? { security: [{ binswarmSignature: [] }] } : {}),
      responses: { 200: { description: 'ok', ...(r.schema.response?.[200] ? { content: { 'application/json': { schema: r.schema.response[200] } } } : {}) }, '4XX': { description: 'typed error', content: { 'application/json': { schema: ERROR_SCHEMA } } } },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'binswarm coordinator', version: '1' },
    components: { securitySchemes: { binswarmSignature: { type: 'apiKey', in: 'header', name: 'x-binswarm-signature', description: 'Ed25519 over method, path, body sha256, x-binswarm-time and x-binswarm-nonce; key in x-binswarm-key' } } },
    paths,
  };
}

export async function buildCoordinatorApp(opts: CoordinatorOptions): Promise<{ app: FastifyInstance; coordinator: Coordinator; scheduler: SchedulerQueue }> {
  const now = opts.now ?? Date.now;
  const tracker: TrackerPolicy = { ...DEFAULT_TRACKER, ...opts.tracker };
  const placement = placementCache(opts.store, tracker, opts.placementTtlMs ?? 2000);
  const scheduler = new SchedulerQueue(opts.store, opts.scheduler, now, opts.rng);
  const coordinator: Coordinator = {
    store: opts.store, roots: opts.roots, key: opts.key, origin: opts.origin ?? 'binswarm.local/log', keyName: opts.origin ?? 'binswarm.local/log',
    attestationWindowMs: 24 * 3600 * 1000, now, verifyPool: new VerifyPool({ callerShares: false }),
  };
  // removeAdditional off: fastify's default silently strips unknown fields, and a
  // signed object with fields removed is not the object that was signed.
  const app = Fastify({ bodyLimit: opts.bodyLimit ?? 256 * 1024, logger: opts.logLevel ? { level: opts.logLevel } : false, ajv: { customOptions: { removeAdditional: false } } });
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    req.rawBody = body as Buffer;
    try {
      done(null, (body as Buffer).length === 0 ? undefined : JSON.parse((body as Buffer).toString('utf8')));
    } catch {
      done(new BinswarmError('BAD_JSON', 'request body is not valid JSON'), undefined);
    }
  });
  registerCoordinatorMetrics(app, opts.store, opts.queueLength);
  await app.register(rateLimit, {
    max: opts.ratePerMinute ?? 6000,
    timeWindow: 60_000,
    keyGenerator: (req) => String(req.headers['x-binswarm-key'] ?? req.ip),
    errorResponseBuilder: (_req, ctx) => ({ statusCode: 429, error: { code: 'RATE_LIMITED', message: `more than ${ctx.max} requests per minute` } }),
  });
  app.setErrorHandler((err, req, reply) => {
    const e = err as Error & { code?: string; statusCode?: number; validation?: unknown };
    let code = isBinswarmError(err) ? err.code : e.validation ? 'BAD_REQUEST' : e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'BODY_TOO_LARGE' : e.statusCode === 429 ? 'RATE_LIMITED' : e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'BAD_JSON' : 'INTERNAL';
    if (code === 'INTERNAL' && e.statusCode && e.statusCode < 500) code = 'BAD_REQUEST';
    const status = STATUS[code] ?? (code === 'INTERNAL' ? 500 : 400);
    if (status >= 500) req.log.error({ err }, 'internal error');
    else req.log.warn({ code, url: req.url, key: req.signer?.key.id }, e.message);
    const body = (e as { error?: unknown }).error ?? { code, message: status >= 500 ? 'internal error' : e.message };
    void reply.status(status).send({ error: body });
  });
  app.addHook('onClose', () => coordinator.verifyPool.close());
  if (opts.probeIntervalMs) {
    const stop = startProber(opts.store, { intervalMs: opts.probeIntervalMs, now, log: (m) => app.log.warn(m) });
    app.addHook('onClose', async () => stop());
  }
  app.setNotFoundHandler((req, reply) => void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` } }));

  const verifySigned = async (req: FastifyRequest) => {
    const signer = verifyRequest({ method: req.method, path: req.url, body: req.rawBody ?? Buffer.alloc(0), headers: req.headers, now: now() });
    if (!(await opts.store.useNonce(signer.key.id, signer.nonce, signer.time + MAX_SKEW_MS, now()))) throw new BinswarmError('REPLAYED', 'this request was already received (replay)');
    req.signer = signer;
  };
  // Writes drop the cached published checkpoint (set once the tile routes exist); reads pay no hook.
  let dropCheckpoint = () => {};
  const route = <Q = unknown, B = unknown, P = unknown>(r: RouteSpec, handler: (req: FastifyRequest<{ Querystring: Q; Body: B; Params: P }>) => Promise<unknown>) => {
    app.route({
      method: r.method, url: r.url, schema: r.schema, ...(r.bodyLimit ? { bodyLimit: r.bodyLimit } : {}), ...(r.signed ? { preValidation: verifySigned } : {}),
      ...(r.method === 'POST' ? { onResponse: async () => dropCheckpoint() } : {}),
      handler: handler as never,
    });
  };
  const s = opts.store;

  app.get('/v1/openapi.json', async () => openApiDocument());
  route(ROUTES.info, async (): Promise<Info> => ({ origin: coordinator.origin, logKeyName: coordinator.keyName, logKey: opts.key.publicKey.raw.toString('base64'), roots: opts.roots.map((r) => r.raw.toString('base64')) }));
  route<unknown, { roles: string[]; url?: string; capacity?: number; failureDomain?: string; served?: number }>(ROUTES.registerPeer, async (req) => {
    const k = req.signer!.key;
    const t = now();
    await s.upsertPeer({ keyId: k.id, publicKey: k.raw.toString('base64'), roles: req.body.roles, url: req.body.url ?? null, capacity: req.body.capacity ?? 0, failureDomain: req.body.failureDomain ?? null, firstSeen: t, lastSeen: t, ...(req.body.served !== undefined ? { served: req.body.served } : {}) });
    return { keyId: k.id };
  });
  route<unknown, Envelope>(ROUTES.submitCertificate, async (req) => ingestCertificate(coordinator, req.body));
  route<unknown, Envelope>(ROUTES.submitRevocation, async (req) => ingestRevocation(coordinator, req.body));
  route<unknown, Envelope>(ROUTES.submitAttestation, async (req) => ingestAttestation(coordinator, req.body));
  route<unknown, { envelopes: Envelope[] }>(ROUTES.submitAttestations, async (req) => ({ results: await ingestAttestations(coordinator, req.body.envelopes) }));
  route<unknown, { url: string; partial?: boolean; gone?: boolean }, { sha256: string }>(ROUTES.announceHolder, async (req) => {
    if (req.body.gone) {
      await s.removeHolder(req.params.sha256, req.signer!.key.id);
      return { ok: true };
    }
    if (!(await s.getArchive(req.params.sha256))) throw new BinswarmError('NOT_FOUND', 'no attestation names this archive; submit one first');
    await s.addHolder({ archiveSha256: req.params.sha256, peer: req.signer!.key.id, url: req.body.url, announcedAt: now(), partial: req.body.partial === true });
    return { ok: true };
  });
  route<unknown, { peer: string; reason: string }, { sha256: string }>(ROUTES.reportHolder, async (req) => {
    req.log.warn({ archive: req.params.sha256, peer: req.body.peer, by: req.signer!.key.id }, `bad holder: ${req.body.reason}`);
    // One vote per reporter: a single peer cannot take an honest holder out alone (unless banAfterReports is 1).
    const reports = await s.reportBadHolder(req.params.sha256, req.body.peer, req.signer!.key.id, req.body.reason, now());
    return { ok: true, reports, banned: reports >= tracker.banAfterReports };
  });
  route<unknown, unknown, { sha256: string }>(ROUTES.archive, async (req): Promise<ArchiveReply> => {
    const a = await s.getArchive(req.params.sha256);
    if (!a) throw new BinswarmError('NOT_FOUND', 'unknown archive');
    return { ...a, holders: await liveHolders(s, a.sha256, tracker) };
  });
  route(ROUTES.placement, async (): Promise<PlacementReply> => {
    const { mirrors, archives } = await placement(now());
    return { mirrors, archives };
  });
  route<unknown, unknown, { peer: string }>(ROUTES.assignments, async (req): Promise<AssignmentsReply> => {
    const placed = await placement(now());
    const size = new Map(placed.archives.map((a) => [a.sha256, a.size]));
    return { peer: req.params.peer, assignments: (placed.byMirror.get(req.params.peer) ?? []).map((sha256) => ({ sha256, size: size.get(sha256)!, pieceRoot: placed.pieceRoots.get(sha256)! })) };
  });
  route<{ cpv?: string; chost?: string; configKey?: string; after?: number; limit?: number }>(ROUTES.packages, async (req) => {
    const rows = await s.queryAttestations(req.query);
    const groups = new Map<string, PackageGroup>();
    // Per build on this page (one primary-key read each), not every dispute of the network.
    for (const r of rows) {
      const g = groups.get(r.buildKey) ?? { cpv: r.cpv, chost: r.chost, buildKey: r.buildKey, configKey: r.configKey, binrev: (await s.binrevOf(r.buildKey)) ?? null, disputed: (await s.listDisputes(r.buildKey)).length > 0, attestations: [] };
      g.attestations.push({ envelope: JSON.parse(r.envelope) as Envelope, logIndex: r.logIndex, logTime: r.logTime });
      groups.set(r.buildKey, g);
    }
    const limit = req.query.limit ?? 1000;
    return { packages: [...groups.values()], next: rows.length === limit ? rows[rows.length - 1]!.logIndex : null };
  });
  route<{ cpv?: string; chost?: string; configKey?: string; buildKey?: string; after?: number; limit?: number }>(ROUTES.attestations, async (req) => {
    return page(await s.queryAttestations(req.query), req.query.limit);
  });
  route<{ after?: number; limit?: number }>(ROUTES.certificates, async (req) => {
    return page(await s.listCertificates(req.query.after, req.query.limit), req.query.limit);
  });
  route<{ after?: number; limit?: number }>(ROUTES.revocations, async (req) => {
    return page(await s.listRevocations(req.query.after, req.query.limit), req.query.limit);
  });
  route<{ buildKey?: string }>(ROUTES.disputes, async (req) => ({ items: (await s.listDisputes(req.query.buildKey)).map((d) => ({ buildKey: d.buildKey, cpv: d.cpv, outputDigests: d.outputDigests, logIndex: d.logIndex })) }));
  registerSchedulingRoutes(route, scheduler, s, now);
  app.get(ROUTES.checkpoint.url, async (_req, reply) => {
    const cp = await latestCheckpoint(coordinator);
    if (!cp) throw new BinswarmError('NOT_FOUND', 'the log is empty');
    return reply.type('text/plain; charset=utf-8').send(cp);
  });
  const checkpointChanged = registerTileRoutes(app, storeTiles(s), () => publishedCheckpoint(coordinator, opts.witnesses ?? 0), now, opts.checkpointTtlMs);
  // A write here may grow the log or add a cosignature: the next read of /log/checkpoint sees it (other replicas within the TTL).
  dropCheckpoint = checkpointChanged;
  route<unknown, { size: number; name: string; cosignature: string }>(ROUTES.submitCosignature, async (req) => acceptCosignature(coordinator, req.signer!.key, req.body, now()));
  route<unknown, OutputMetadata, { outputDigest: string }>(ROUTES.submitOutputMetadata, async (req) => {
    if ((await s.archivesWithOutput(req.params.outputDigest)).length === 0) throw new BinswarmError('NOT_FOUND', 'no attestation names this output; submit one first');
    const { sheet } = verifyOutputMetadata(req.body, req.params.outputDigest);
    return { stored: await s.putOutputMetadata(req.params.outputDigest, JSON.stringify(sheet)) };
  });
  route<{ digests: string }>(ROUTES.outputMetadataBatch, async (req) => {
    const digests = [...new Set(req.query.digests.split(','))];
    if (digests.length > MAX_METADATA_BATCH) throw new BinswarmError('BAD_REQUEST', `at most ${MAX_METADATA_BATCH} digests per request`);
    const items: Record<string, OutputMetadata> = {};
    for (const d of digests) {
      const body = await s.getOutputMetadata(d);
      if (body) items[d] = JSON.parse(body) as OutputMetadata;
    }
    return { items };
  });
  route<unknown, unknown, { outputDigest: string }>(ROUTES.outputMetadata, async (req) => {
    const body = await s.getOutputMetadata(req.params.outputDigest);
    if (!body) throw new BinswarmError('NOT_FOUND', 'no metadata for this output');
    return JSON.parse(body) as OutputMetadata;
  });
  const kept = opts.samplesKept ?? DEFAULT_SAMPLES_KEPT;
  registerDashboardRoutes(app, { store: s, origin: coordinator.origin, tracker, placement, checkpoint: () => latestCheckpoint(coordinator), witnessesRequired: opts.witnesses ?? 0, sampleIntervalMs: opts.sampleIntervalMs ?? 0, samplesShown: kept }, now, opts.dashboardSlowTtlMs ?? (opts.sampleIntervalMs || 10_000));
  if (opts.sampleIntervalMs) {
    const stop = startSampler(s, { intervalMs: opts.sampleIntervalMs, keep: kept, now, log: (m) => app.log.warn(m) });
    app.addHook('onClose', stop);
  }
  route<{ index: number; size: number }>(ROUTES.inclusion, async (req) => ({ proof: (await new MerkleLog(s.log).inclusionProof(req.query.index, req.query.size)).map((h) => Buffer.from(h).toString('hex')) }));
  route<{ from: number; to: number }>(ROUTES.consistency, async (req) => ({ proof: (await new MerkleLog(s.log).consistencyProof(req.query.from, req.query.to)).map((h) => Buffer.from(h).toString('hex')) }));
  route<{ start: number; end: number }>(ROUTES.leaves, async (req) => {
    if (req.query.end - req.query.start > 1000) throw new BinswarmError('BAD_REQUEST', 'at most 1000 leaves per request');
    return { leaves: (await s.getLeaves(req.query.start, req.query.end)).map((b) => b.toString('base64')) };
  });
  return { app, coordinator, scheduler };
}

/** Opens (or creates) the coordinator's key and store under `dataDir`. */
export async function openCoordinatorState(dataDir: string, db?: string): Promise<{ store: Store; key: Coordinator['key']; keyCreated: boolean }> {
  const keyPath = join(dataDir, 'coordinator.key');
  let keyCreated = false;
  if (!existsSync(keyPath)) {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dataDir, { recursive: true });
    await writeKeyPair(keyPath, generateKey());
    keyCreated = true;
  }
  return { store: await openStore(db ?? join(dataDir, 'coordinator.db')), key: await readPrivateKey(keyPath), keyCreated };
}
