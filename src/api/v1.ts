/**
 * The coordinator's HTTP API, v1: paths, JSON schemas and the TypeScript
 * types of what goes over the wire. The coordinator validates with these
 * schemas and builds its OpenAPI document from them; nodes and gateways
 * use the same types through api/client.ts. Nobody imports another
 * component's internals.
 */
import type { BuildConfig } from '../formats/build-config.js';
import type { Envelope } from '../trust/dsse.js';

/** Attestations per batch request (about 1.5 KiB each, under the batch route's 4 MiB body limit). */
export const MAX_BATCH = 500;
/** Output metadata sheets per batch read (what a gateway refresh asks for at once). */
export const MAX_METADATA_BATCH = 100;
const hex64 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const envelope = {
  type: 'object',
  additionalProperties: false,
  required: ['payloadType', 'payload', 'signatures'],
  properties: {
    payloadType: { type: 'string', maxLength: 200 },
    payload: { type: 'string', maxLength: 1_000_000 },
    signatures: { type: 'array', minItems: 1, maxItems: 16, items: { type: 'object', additionalProperties: false, required: ['keyid', 'sig'], properties: { keyid: { type: 'string', maxLength: 200 }, sig: { type: 'string', maxLength: 200 } } } },
  },
} as const;
const error = { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } } } as const;
const logged = { type: 'object', required: ['id', 'logIndex', 'logTime'], properties: { id: hex64, logIndex: { type: 'integer' }, logTime: { type: 'integer' }, duplicate: { type: 'boolean' } } } as const;
const signedEntry = { type: 'object', required: ['envelope', 'logIndex', 'logTime'], properties: { envelope, logIndex: { type: 'integer' }, logTime: { type: 'integer' } } } as const;
const page = { type: 'object', properties: { after: { type: 'integer', minimum: -1 }, limit: { type: 'integer', minimum: 1, maximum: 5000 } } } as const;

export interface RouteSpec {
  method: 'GET' | 'POST';
  url: string;
  summary: string;
  signed?: boolean;
  /** Body limit for this route when it differs from the server's. */
  bodyLimit?: number;
  schema: { body?: object; querystring?: object; params?: object; response?: Record<number, object> };
}

// ---- demand, scheduling, disputes (issue 11) ----

const str = (max: number) => ({ type: 'string', maxLength: max }) as const;
const strList = (maxItems: number, max = 100) => ({ type: 'array', maxItems, items: str(max) }) as const;
/** JSON schema of a BuildConfig (formats/build-config.ts); the same bounds as trust/statements.ts. */
const buildConfig = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'cpv', 'repo', 'ebuild', 'eclasses', 'eapi', 'chost', 'arch', 'use', 'cflags', 'cxxflags', 'ldflags', 'features', 'installMask', 'depAbi'],
  properties: {
    v: { const: 1 }, cpv: { type: 'string', minLength: 3, maxLength: 300 }, repo: str(200), ebuild: str(64), eclasses: strList(500), eapi: str(10), chost: str(100), arch: str(50),
    use: strList(2000), cflags: str(4000), cxxflags: str(4000), ldflags: str(4000), features: strList(100), installMask: str(4000), depAbi: strList(2000, 300),
    links: { type: 'array', minItems: 1, maxItems: 2000, items: { type: 'string', minLength: 1, maxLength: 300 } },
  },
} as const;
const jobSpec = {
  type: 'object',
  additionalProperties: false,
  required: ['cpv', 'repo', 'chost', 'arch', 'use', 'cflags', 'cxxflags', 'ldflags', 'features', 'installMask'],
  properties: {
    cpv: { type: 'string', minLength: 3, maxLength: 300 }, repo: str(200), chost: str(100), arch: str(50), use: strList(2000), cflags: str(4000), cxxflags: str(4000), ldflags: str(4000),
    features: strList(100), installMask: str(4000), ebuild: { type: 'string', pattern: '^([0-9a-f]{64})?$' }, eclasses: strList(500), eapi: str(10),
  },
} as const;
const jobIdParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[0-9]{1,15}$' } } } as const;
const leaseId = { type: 'string', pattern: '^[0-9a-f]{32}$' } as const;
/** Census submissions per request. */
export const MAX_DEMAND = 5000;
/** Bytes of one canonical listing (image or metadata) uploaded for an output. */
export const MAX_LISTING = 16 * 1024 * 1024;

export const SCHEDULING_ROUTES = {
  submitDemand: {
    method: 'POST', url: '/v1/demand', summary: `Census: the build configs installed on the signing peer (≤ ${MAX_DEMAND}); demand = distinct peers per configKey, decayed`, signed: true, bodyLimit: 16 * 1024 * 1024,
    schema: { body: { type: 'object', additionalProperties: false, required: ['configs'], properties: { configs: { type: 'array', maxItems: MAX_DEMAND, items: buildConfig } } } },
  },
  submitRequest: {
    method: 'POST', url: '/v1/requests', summary: 'Ask for one configuration explicitly (counts as demand of the signing peer; queues a build job when nothing is attested)', signed: true,
    schema: { body: { type: 'object', additionalProperties: false, required: ['spec'], properties: { spec: jobSpec } } },
  },
  leaseJob: {
    method: 'POST', url: '/v1/jobs/lease', summary: 'A certified builder takes the highest-priority job it can do (verify jobs are assigned: never its own operator’s output)', signed: true,
    schema: { body: { type: 'object', additionalProperties: false, required: ['backends', 'chost'], properties: { backends: strList(16, 50), chost: str(100), max: { type: 'integer', minimum: 1, maximum: 1 } } } },
  },
  heartbeat: {
    method: 'POST', url: '/v1/jobs/:id/heartbeat', summary: 'Extend a lease (409 LEASE_LOST when it expired or was given to another builder)', signed: true,
    schema: { params: jobIdParam, body: { type: 'object', additionalProperties: false, required: ['leaseId'], properties: { leaseId } } },
  },
  jobResult: {
    method: 'POST', url: '/v1/jobs/:id/result', summary: 'Report a leased job’s outcome (idempotent: a duplicate or late result is answered, not counted twice)', signed: true,
    schema: {
      params: jobIdParam,
      body: {
        type: 'object', additionalProperties: false, required: ['leaseId', 'outcome', 'seconds'],
        properties: { leaseId, outcome: { enum: ['built', 'failed', 'refused'] }, attestation: hex64, seconds: { type: 'number', minimum: 0, maximum: 30 * 86400 }, reason: str(2000) },
      },
    },
  },
  queue: {
    method: 'GET', url: '/v1/queue', summary: 'Jobs with kind, configuration, state, lease holder, priority and why each is where it is',
    schema: { querystring: { type: 'object', additionalProperties: false, properties: { state: { enum: ['queued', 'leased', 'done', 'failed', 'refused'] }, kind: { enum: ['build', 'verify', 'abi-rebuild'] }, cpv: str(300), after: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 1000 } } } },
  },
  uploadListing: {
    method: 'POST', url: '/v1/outputs/:outputDigest/listing', summary: 'The canonical image and metadata listings of an attested output (checked: sha256(image) ‖ sha256(metadata) must give outputDigest)', signed: true, bodyLimit: 2 * MAX_LISTING + 4096,
    schema: { params: { type: 'object', required: ['outputDigest'], properties: { outputDigest: hex64 } }, body: { type: 'object', additionalProperties: false, required: ['image', 'metadata'], properties: { image: str(MAX_LISTING), metadata: str(MAX_LISTING), abi: { type: 'object', additionalProperties: false, required: ['slot', 'provides', 'requires'], properties: { slot: str(200), provides: strList(2000, 300), requires: strList(2000, 300) } } } } },
  },
  explainDispute: {
    method: 'GET', url: '/v1/disputes/:buildKey/explain', summary: 'Why the outputs of a disputed build differ: image entries and metadata keys, from the canonical listings',
    schema: { params: { type: 'object', required: ['buildKey'], properties: { buildKey: hex64 } } },
  },
} satisfies Record<string, RouteSpec>;

// ---- dashboard (issue 15) ----

/** Rows per dashboard list (packages, disputes, jobs, peers, archives): the page never reads everything. */
export const DASHBOARD_DEFAULT_LIMIT = 50;
export const DASHBOARD_MAX_LIMIT = 500;
const dashboardQuery = { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: DASHBOARD_MAX_LIMIT } } } as const;

export const DASHBOARD_ROUTES = {
  dashboardPage: { method: 'GET', url: '/', summary: 'The dashboard (HTML, no external resources; refreshes itself): packages with trust levels, disputes, queue, peers, replication, checkpoint, charts', schema: { querystring: { ...dashboardQuery, properties: { ...dashboardQuery.properties, refresh: { enum: ['0', '1'] } } } } },
  dashboard: { method: 'GET', url: '/v1/dashboard', summary: 'What the dashboard shows, as JSON (lists capped at `limit`, with totals)', schema: { querystring: dashboardQuery } },
} satisfies Record<string, RouteSpec>;

export const ROUTES = {
  info: { method: 'GET', url: '/v1/info', summary: 'Coordinator identity: log origin and checkpoint key, trust roots', schema: {} },
  registerPeer: {
    method: 'POST', url: '/v1/peers', summary: 'Register or refresh the signing peer', signed: true,
    schema: {
      body: {
        type: 'object', additionalProperties: false, required: ['roles'],
        properties: {
          roles: { type: 'array', maxItems: 6, items: { enum: ['consume', 'contribute', 'mirror', 'build', 'witness'] } }, url: { type: 'string', maxLength: 500, pattern: '^https?://' }, capacity: { type: 'integer', minimum: 0 }, failureDomain: { type: 'string', maxLength: 200 },
          // The node's own counter since it started (a restart starts again at 0); the dashboard sums the latest of each peer.
          served: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        },
      },
    },
  },
  submitCertificate: { method: 'POST', url: '/v1/certificates', summary: 'Submit a certificate (logged)', signed: true, schema: { body: envelope, response: { 200: logged } } },
  submitRevocation: { method: 'POST', url: '/v1/revocations', summary: 'Submit a revocation (logged)', signed: true, schema: { body: envelope, response: { 200: logged } } },
  submitAttestation: { method: 'POST', url: '/v1/attestations', summary: 'Submit an attestation (logged; may record a dispute and a binrev)', signed: true, schema: { body: envelope } },
  submitAttestations: {
    method: 'POST', url: '/v1/attestations/batch', summary: `Submit up to ${MAX_BATCH} attestations in one transaction; each gets its own result (accepted, or a typed error)`, signed: true, bodyLimit: 4 * 1024 * 1024,
    schema: { body: { type: 'object', additionalProperties: false, required: ['envelopes'], properties: { envelopes: { type: 'array', minItems: 1, maxItems: MAX_BATCH, items: envelope } } } },
  },
  announceHolder: {
    method: 'POST', url: '/v1/archives/:sha256/holders', summary: 'Announce that the signing peer serves this archive', signed: true,
    schema: { params: { type: 'object', required: ['sha256'], properties: { sha256: hex64 } }, body: { type: 'object', additionalProperties: false, required: ['url'], properties: { url: { type: 'string', maxLength: 500, pattern: '^https?://' }, partial: { type: 'boolean' }, gone: { type: 'boolean' } } } },
  },
  reportHolder: {
    method: 'POST', url: '/v1/archives/:sha256/reports', summary: 'Report a holder that served wrong bytes', signed: true,
    schema: { params: { type: 'object', required: ['sha256'], properties: { sha256: hex64 } }, body: { type: 'object', additionalProperties: false, required: ['peer', 'reason'], properties: { peer: hex64, reason: { type: 'string', maxLength: 500 } } } },
  },
  archive: { method: 'GET', url: '/v1/archives/:sha256', summary: 'An archive and its holders (complete and partial; banned and unhealthy ones left out)', schema: { params: { type: 'object', required: ['sha256'], properties: { sha256: hex64 } } } },
  placement: { method: 'GET', url: '/v1/placement', summary: 'Mirrors (health, quota, domain) and where each archive is placed, with its replica target and live holders', schema: {} },
  assignments: { method: 'GET', url: '/v1/mirrors/:peer/assignments', summary: 'Archives placed on one mirror', schema: { params: { type: 'object', required: ['peer'], properties: { peer: hex64 } } } },
  packages: {
    method: 'GET', url: '/v1/packages', summary: 'Attestations by CPV, CHOST or configKey, grouped by buildKey, with binrev and dispute state',
    schema: { querystring: { type: 'object', additionalProperties: false, properties: { cpv: { type: 'string', maxLength: 300 }, chost: { type: 'string', maxLength: 100 }, configKey: hex64, ...page.properties } } },
  },
  attestations: { method: 'GET', url: '/v1/attestations', summary: 'Attestations in log order (paged)', schema: { querystring: { type: 'object', additionalProperties: false, properties: { cpv: { type: 'string' }, chost: { type: 'string' }, configKey: hex64, buildKey: hex64, ...page.properties } } } },
  certificates: { method: 'GET', url: '/v1/certificates', summary: 'All certificates in log order (paged)', schema: { querystring: page } },
  revocations: { method: 'GET', url: '/v1/revocations', summary: 'All revocations in log order (paged)', schema: { querystring: page } },
  disputes: { method: 'GET', url: '/v1/disputes', summary: 'Recorded disputes', schema: { querystring: { type: 'object', properties: { buildKey: hex64 } } } },
  checkpoint: { method: 'GET', url: '/v1/log/checkpoint', summary: 'Latest signed checkpoint (C2SP signed note, text/plain)', schema: {} },
  inclusion: { method: 'GET', url: '/v1/log/inclusion', summary: 'Inclusion proof of a leaf', schema: { querystring: { type: 'object', required: ['index', 'size'], properties: { index: { type: 'integer', minimum: 0 }, size: { type: 'integer', minimum: 1 } } } } },
  consistency: { method: 'GET', url: '/v1/log/consistency', summary: 'Consistency proof between two tree sizes', schema: { querystring: { type: 'object', required: ['from', 'to'], properties: { from: { type: 'integer', minimum: 0 }, to: { type: 'integer', minimum: 0 } } } } },
  logCheckpoint: { method: 'GET', url: '/log/checkpoint', summary: 'C2SP tlog-tiles: the latest checkpoint with the witness cosignatures collected (text/plain, no-cache)', schema: {} },
  logTile: { method: 'GET', url: '/log/tile/*', summary: 'C2SP tlog-tiles: hash tiles tile/<L>/<N>[.p/<W>] and entry bundles tile/entries/<N>[.p/<W>] (full tiles immutable)', schema: {} },
  submitCosignature: {
    method: 'POST', url: '/v1/log/cosignatures', summary: 'A witness submits its cosignature (C2SP tlog-cosignature line) of the checkpoint of one size; the request signer is the witness key', signed: true,
    schema: { body: { type: 'object', additionalProperties: false, required: ['size', 'name', 'cosignature'], properties: { size: { type: 'integer', minimum: 1 }, name: { type: 'string', maxLength: 200, pattern: '^[^\\s+]+$' }, cosignature: { type: 'string', maxLength: 500 } } } },
  },
  submitOutputMetadata: {
    method: 'POST', url: '/v1/outputs/:outputDigest/metadata', summary: 'The metadata sheet of an attested output (file listing, entry files, imageDigest), checked against outputDigest', signed: true, bodyLimit: 1024 * 1024,
    schema: { params: { type: 'object', required: ['outputDigest'], properties: { outputDigest: hex64 } }, body: { type: 'object', additionalProperties: false, required: ['imageDigest', 'files'], properties: { imageDigest: hex64, files: { type: 'array', maxItems: 200, items: { type: 'object', additionalProperties: false, required: ['name', 'size', 'sha256'], properties: { name: { type: 'string', maxLength: 200 }, size: { type: 'integer', minimum: 0 }, sha256: hex64, content: { type: 'string', maxLength: 90000 } } } } } } },
  },
  outputMetadataBatch: {
    method: 'GET', url: '/v1/outputs/metadata', summary: `Metadata sheets of up to ${MAX_METADATA_BATCH} outputs at once (comma-separated digests); outputs without one are left out`,
    schema: { querystring: { type: 'object', additionalProperties: false, required: ['digests'], properties: { digests: { type: 'string', maxLength: MAX_METADATA_BATCH * 65, pattern: '^[0-9a-f]{64}(,[0-9a-f]{64})*$' } } } },
  },
  outputMetadata: { method: 'GET', url: '/v1/outputs/:outputDigest/metadata', summary: 'The metadata sheet of an output (verify it against the attested outputDigest)', schema: { params: { type: 'object', required: ['outputDigest'], properties: { outputDigest: hex64 } } } },
  leaves: { method: 'GET', url: '/v1/log/leaves', summary: 'Leaf data (base64) in [start, end)', schema: { querystring: { type: 'object', required: ['start', 'end'], properties: { start: { type: 'integer', minimum: 0 }, end: { type: 'integer', minimum: 0 } } } } },
  ...SCHEDULING_ROUTES,
  ...DASHBOARD_ROUTES,
} satisfies Record<string, RouteSpec>;

export const ERROR_SCHEMA = error;
export const SIGNED_ENTRY_SCHEMA = signedEntry;

// ---- wire types ----

export interface Info {
  origin: string;
  logKeyName: string;
  /** base64 raw Ed25519 public key that signs checkpoints. */
  logKey: string;
  roots: string[];
}

export interface Logged {
  id: string;
  logIndex: number;
  /** Receipt time in the leaf (ms since the epoch); the first one for a duplicate. */
  logTime: number;
  duplicate?: boolean;
}

export interface AttestationAccepted extends Logged {
  binrev: number;
  dispute?: { outputDigests: string[]; logIndex: number };
}

/** One item of a batch submission: accepted, or refused with a typed error (the others still count). */
export type BatchResult = { ok: AttestationAccepted } | { error: { code: string; message: string } };

/**
 * A logged statement as the API serves it: the leaf at logIndex is
 * {envelope, logTime, type}, so an inclusion proof of that leaf proves the
 * logTime too.
 */
export interface SignedEntry {
  envelope: Envelope;
  logIndex: number;
  /** The coordinator's receipt time (ms since the epoch) recorded in the leaf. */
  logTime: number;
}

export interface PackageGroup {
  cpv: string;
  chost: string;
  buildKey: string;
  configKey: string;
  binrev: number | null;
  disputed: boolean;
  attestations: SignedEntry[];
}

export interface PackagesReply {
  packages: PackageGroup[];
  next: number | null;
}

export interface Page<T> {
  items: T[];
  next: number | null;
}

export interface Holder {
  peer: string;
  url: string;
  failures: number;
  /** Still downloading: serves the pieces its `.have` bitmap shows. */
  partial?: boolean;
}

export interface MirrorInfo {
  peer: string;
  url: string | null;
  domain: string | null;
  capacity: number;
  live: boolean;
  lastSeen: number;
  probeFailures: number;
  assigned: number;
  assignedBytes: number;
}

export interface PlacedArchive {
  sha256: string;
  size: number;
  target: number;
  demand: number;
  /** Mirrors it is placed on. */
  mirrors: string[];
  /** Live complete holders (mirrors or not). */
  holders: number;
}

export interface PlacementReply {
  mirrors: MirrorInfo[];
  archives: PlacedArchive[];
}

export interface Assignment {
  sha256: string;
  size: number;
  pieceRoot: string;
}

export interface AssignmentsReply {
  peer: string;
  assignments: Assignment[];
}

export interface ArchiveReply {
  sha256: string;
  size: number;
  pieceRoot: string;
  outputDigest: string;
  holders: Holder[];
}

export interface DisputeReply {
  buildKey: string;
  cpv: string;
  outputDigests: string[];
  logIndex: number;
}

// ---- demand, scheduling, disputes: wire types ----

/**
 * A configuration as demanded: everything a builder must honour — the
 * build config without what only the build itself decides (depAbi, links).
 * The ebuild's sha256, eclasses and EAPI are there when the demander knew
 * them (a census always does); a builder refuses when its tree's differ.
 */
export type JobSpec = Omit<BuildConfig, 'v' | 'depAbi' | 'links' | 'ebuild' | 'eclasses' | 'eapi'> & Partial<Pick<BuildConfig, 'ebuild' | 'eclasses' | 'eapi'>>;

export type JobKind = 'build' | 'verify' | 'abi-rebuild';
export type JobState = 'queued' | 'leased' | 'done' | 'failed' | 'refused';
export type JobOutcome = 'built' | 'failed' | 'refused';

/** A leased job, as the builder receives it. */
export interface Job {
  id: string;
  kind: JobKind;
  spec: JobSpec;
  /** verify: the attested build config to reproduce exactly; abi-rebuild: the config to rebuild (with the new depAbi). */
  config?: BuildConfig;
  /** abi-rebuild for a soname: sonames the rebuilt output must no longer link (only older builds of the library provide them). */
  unlink?: string[];
  /** verify: the output being checked. */
  target?: { outputDigest: string; buildKey: string };
  lease: { id: string; expiresAt: number };
  /** Send a heartbeat at least this often; a lease not renewed for 3× this expires. */
  heartbeatMs: number;
}

export interface DemandReply {
  /** Configs recorded (duplicates within the request count once). */
  accepted: number;
  /** Build jobs this submission created. */
  jobsCreated: number;
}

export interface RequestReply {
  /** Known when the spec is complete (ebuild, eclasses, eapi); otherwise the builder's tree decides. */
  configKey?: string;
  /** The build job for this configuration (an existing one when it was already asked for); null when it is already attested. */
  jobId: string | null;
  /** The configuration is already attested (no build job; verification is queued if it still needs it). */
  attested?: boolean;
}

export interface LeaseRequest {
  /** Backends this builder runs (`portage`, `example`). */
  backends: string[];
  chost: string;
  max?: 1;
}

export interface JobResult {
  leaseId: string;
  outcome: JobOutcome;
  /** Envelope id (sha256 hex) of the attestation already submitted (outcome `built`). */
  attestation?: string;
  /** Wall-clock seconds the build took (feeds the expected cost of this package). */
  seconds: number;
  /** Why it failed or was refused (shown in the queue). */
  reason?: string;
}

export interface JobResultReply {
  state: JobState;
  /** True when this result (or a later lease's) had already been recorded. */
  duplicate: boolean;
  why: string;
}

export interface QueueItem {
  id: string;
  kind: JobKind;
  cpv: string;
  configKey: string | null;
  spec: JobSpec;
  target: { outputDigest: string; buildKey: string } | null;
  state: JobState;
  priority: number;
  /** Builder key id holding the lease (state `leased`), or the one that finished it. */
  holder: string | null;
  leaseExpiresAt: number | null;
  attempts: number;
  /** Human-readable: why the job is where it is (waiting for a builder of another operator, lease expired at …, refused: …). */
  why: string;
  createdAt: number;
  updatedAt: number;
}

export interface QueueReply {
  jobs: QueueItem[];
  /** Cursor (job id) for the next page, null at the end. */
  next: number | null;
}

export interface ListingUpload {
  /** Canonical image listing, exactly the bytes imageDigest hashes (formats/digests.ts). */
  image: string;
  /** Canonical metadata listing, exactly the bytes metadataDigest hashes. */
  metadata: string;
  /**
   * The output's SLOT (checked against the SLOT entry of the metadata
   * listing) and its scanelf soname lists (PROVIDES/REQUIRES, outside the
   * digests, so taken on the uploader's word: they only decide which ABI
   * rebuilds get queued). Issue 14.
   */
  abi?: OutputAbi;
}

export interface OutputAbi {
  slot: string;
  /** Sonames, without the `arch;` prefixes of Portage's PROVIDES/REQUIRES files. */
  provides: string[];
  requires: string[];
}

export interface ListingAccepted {
  outputDigest: string;
  imageDigest: string;
  metadataDigest: string;
  duplicate: boolean;
}

/** Image entries and metadata files as the canonical listings give them (formats/listing-diff.ts). */
export type { ListedEntry, ImageDifference, MetadataDifference, RenamedDirectory } from '../formats/listing-diff.js';
import type { ImageDifference, MetadataDifference, RenamedDirectory } from '../formats/listing-diff.js';

export interface DisputeExplanation {
  buildKey: string;
  cpv: string;
  outputs: { outputDigest: string; attesters: string[]; listing: boolean }[];
  /** Outputs whose listing was never uploaded (the comparison leaves them out). */
  missingListings: string[];
  /** Directories named differently in each output (a build prefix); the image differences below them are compared as if named alike. */
  renamed: RenamedDirectory[];
  image: ImageDifference[];
  metadata: MetadataDifference[];
  /** True when more differences exist than are listed. */
  truncated: boolean;
}

// ---- dashboard: wire types ----

/** One output of a configuration and who vouches for it. */
export interface DashboardOutput {
  outputDigest: string;
  /** Trust level: distinct operators whose certified, unrevoked builder keys attested this output. */
  level: number;
  /** Operator names (from their certificates; chosen by the operators, so untrusted text). */
  operators: string[];
  attestations: number;
}

export interface DashboardPackage {
  cpv: string;
  chost: string;
  use: string[];
  buildKey: string;
  configKey: string;
  binrev: number | null;
  disputed: boolean;
  /** The highest level among its outputs. */
  level: number;
  outputs: DashboardOutput[];
  lastLogTime: number;
}

export interface DashboardDispute {
  buildKey: string;
  cpv: string;
  logIndex: number;
  firstSeen: number;
  outputs: DashboardOutput[];
}

export interface DashboardJob {
  id: string;
  kind: JobKind;
  cpv: string;
  use: string[];
  state: JobState;
  priority: number;
  holder: string | null;
  /** Operator name of the lease holder, when its certificate chain is known. */
  holderOperator: string | null;
  why: string;
  updatedAt: number;
}

export interface DashboardPeer {
  keyId: string;
  roles: string[];
  url: string | null;
  lastSeen: number;
  /** Seen within the tracker's TTL and not failing health probes. */
  healthy: boolean;
  probeFailures: number;
  /** Bytes it says it served (its counter since it started). */
  served: number;
}

export interface DashboardArchive {
  sha256: string;
  size: number;
  target: number;
  holders: number;
  mirrors: number;
}

/** One sample of the coordinator's periodic census of itself (the charts' data). */
export interface DashboardSample {
  time: number;
  queued: number;
  leased: number;
  peers: number;
  /** Sum of the latest served-bytes counter of every peer. */
  served: number;
  /** Configurations (buildKeys) with attestations. */
  configs: number;
  /** Configurations by trust level (of their best output): level → count. */
  levels: Record<string, number>;
}

export interface DashboardReply {
  generatedAt: number;
  origin: string;
  /** Rows per list. */
  limit: number;
  packages: { total: number | null; shown: DashboardPackage[] };
  disputes: { total: number; shown: DashboardDispute[] };
  queue: { counts: Record<JobState, number>; asOf: number; shown: DashboardJob[] };
  /** Counts over every job / peer / archive are as of `asOf` (recomputed in the background, not per view). */
  peers: { total: number; roles: { role: string; total: number; healthy: number }[]; served: number; asOf: number; shown: DashboardPeer[] };
  replication: { archives: number; belowTarget: number; asOf: number; shown: DashboardArchive[] };
  checkpoint: { size: number; rootHash: string; witnesses: { name: string; time: number }[]; publishedSize: number | null } | null;
  samples: { intervalMs: number; items: DashboardSample[] };
}
