/**
 * The coordinator's HTTP API, v1: paths, JSON schemas and the TypeScript
 * types of what goes over the wire. The coordinator validates with these
 * schemas and builds its OpenAPI document from them; nodes and gateways
 * use the same types through api/client.ts. Nobody imports another
 * component's internals.
 */
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

export const ROUTES = {
  info: { method: 'GET', url: '/v1/info', summary: 'Coordinator identity: log origin and checkpoint key, trust roots', schema: {} },
  registerPeer: {
    method: 'POST', url: '/v1/peers', summary: 'Register or refresh the signing peer', signed: true,
    schema: { body: { type: 'object', additionalProperties: false, required: ['roles'], properties: { roles: { type: 'array', maxItems: 6, items: { enum: ['consume', 'contribute', 'mirror', 'build', 'witness'] } }, url: { type: 'string', maxLength: 500, pattern: '^https?://' }, capacity: { type: 'integer', minimum: 0 }, failureDomain: { type: 'string', maxLength: 200 } } } },
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
