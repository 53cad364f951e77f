/**
 * The three signed statements binswarm deals in, validated strictly on read:
 * attestations (a builder says: this build config produced this output),
 * certificates (a root certifies an operator, an operator its builders) and
 * revocations. Each names its signer's key inside the payload, and the
 * envelope must be signed by exactly that key — a statement re-signed by
 * someone else is a different claim and is refused.
 */
import { z } from 'zod';
import { BinswarmError, isBinswarmError } from '../errors.js';
import { buildKeyOf, configKeyOf, type BuildConfig } from '../formats/build-config.js';
import { canonicalJson } from '../formats/canonical-json.js';
import { isAttestationShape } from './attestation-shape.js';
import { checkPayloadType, decodePayload, openEnvelope, parseEnvelope, signatureCheck, signEnvelope, signerOf, verifyCheck, type Envelope, type SignatureCheck } from './dsse.js';
import { publicKeyFromRaw, type PrivateKey, type PublicKey } from './keys.js';
import type { VerifyPool } from './verify-pool.js';

export type StatementErrorCode = 'BAD_STATEMENT' | 'KEY_MISMATCH' | 'BUILD_KEY_MISMATCH';

export const ATTESTATION_TYPE = 'application/vnd.binswarm.attestation+json';
export const CERTIFICATE_TYPE = 'application/vnd.binswarm.certificate+json';
export const REVOCATION_TYPE = 'application/vnd.binswarm.revocation+json';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const isoTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/).refine((s) => !Number.isNaN(Date.parse(s)), 'invalid time');
const key = z.object({ keyId: hex64, publicKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/) }).strict();

const BuildConfigSchema = z
  .object({
    v: z.literal(1),
    cpv: z.string().min(3).max(300),
    repo: z.string().max(200),
    ebuild: z.string().max(64),
    eclasses: z.array(z.string().max(100)).max(500),
    eapi: z.string().max(10),
    chost: z.string().max(100),
    arch: z.string().max(50),
    use: z.array(z.string().max(100)).max(2000),
    cflags: z.string().max(4000),
    cxxflags: z.string().max(4000),
    ldflags: z.string().max(4000),
    features: z.array(z.string().max(100)).max(100),
    installMask: z.string().max(4000),
    depAbi: z.array(z.string().max(300)).max(2000),
    // Absent, never empty: an empty list would be a second buildKey for the same build.
    links: z.array(z.string().min(1).max(300)).min(1).max(2000).optional(),
  })
  .strict();

export const AttestationSchema = z
  .object({
    _type: z.literal('binswarm/attestation/v1'),
    builder: key,
    kind: z.enum(['build', 'verify', 'contribute']),
    cpv: z.string().min(3).max(300),
    buildConfig: BuildConfigSchema,
    buildKey: hex64,
    configKey: hex64,
    outputDigest: hex64,
    archive: z.object({ sha256: hex64, size: z.number().int().min(0).max(2 ** 45), pieceRoot: hex64 }).strict(),
    time: isoTime,
  })
  .strict();

export const CertificateSchema = z
  .object({
    _type: z.literal('binswarm/certificate/v1'),
    role: z.enum(['operator', 'builder']),
    name: z.string().min(1).max(200),
    subject: key,
    issuer: hex64,
    notBefore: isoTime,
    notAfter: isoTime,
  })
  .strict();

export const RevocationSchema = z
  .object({
    _type: z.literal('binswarm/revocation/v1'),
    subject: hex64,
    issuer: hex64,
    time: isoTime,
    reason: z.string().max(500).optional(),
  })
  .strict();

export type Attestation = z.infer<typeof AttestationSchema>;
export type Certificate = z.infer<typeof CertificateSchema>;
export type Revocation = z.infer<typeof RevocationSchema>;

export interface Opened<T> {
  statement: T;
  envelope: Envelope;
  /** Key id of the verified signer. */
  signer: string;
}

export function keyRef(k: PublicKey): { keyId: string; publicKey: string } {
  return { keyId: k.id, publicKey: k.raw.toString('base64') };
}

// Building a KeyObject costs about as much as a signature check; coordinators
// and gateways see the same few thousand builder keys over and over.
const keyCache = new Map<string, PublicKey>();
const KEY_CACHE_MAX = 10_000;

export function publicKeyOfRef(ref: { keyId: string; publicKey: string }, subject?: string): PublicKey {
  let k = keyCache.get(ref.publicKey);
  if (!k) {
    k = publicKeyFromRaw(Buffer.from(ref.publicKey, 'base64'));
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(ref.publicKey, k);
  }
  if (k.id !== ref.keyId) throw new BinswarmError<StatementErrorCode>('KEY_MISMATCH', 'keyId is not the sha256 of the public key', { subject });
  return k;
}

/** `fast`: a check that says yes only where the schema does (zod still judges, and words, every refusal). */
function parsePayload<T>(schema: z.ZodType<T>, payload: Buffer, what: string, subject?: string, fast?: (v: unknown) => boolean): T {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new BinswarmError<StatementErrorCode>('BAD_STATEMENT', `${what} payload is not JSON`, { subject });
  }
  if (fast?.(json)) return json as T;
  const r = schema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new BinswarmError<StatementErrorCode>('BAD_STATEMENT', `${what}: ${i?.path.join('.') || '(root)'}: ${i?.message ?? 'invalid'}`, { subject });
  }
  return r.data;
}

/** Decodes a payload without checking signatures (to find out who claims to have signed it). */
function peek<T>(schema: z.ZodType<T>, env: Envelope, what: string, subject?: string): T {
  return parsePayload(schema, Buffer.from(env.payload, 'base64'), what, subject);
}

function sign(type: string, statement: unknown, keyPair: PrivateKey): Envelope {
  return signEnvelope(type, Buffer.from(canonicalJson(statement)), keyPair);
}

// ---- attestations ------------------------------------------------------------

export interface AttestationInput {
  kind: Attestation['kind'];
  buildConfig: BuildConfig;
  outputDigest: string;
  archive: Attestation['archive'];
  time: Date;
}

export function signAttestation(input: AttestationInput, builder: PrivateKey): Envelope {
  const statement: Attestation = {
    _type: 'binswarm/attestation/v1',
    builder: keyRef(builder.publicKey),
    kind: input.kind,
    cpv: input.buildConfig.cpv,
    buildConfig: input.buildConfig as Attestation['buildConfig'],
    buildKey: buildKeyOf(input.buildConfig),
    configKey: configKeyOf(input.buildConfig),
    outputDigest: input.outputDigest,
    archive: input.archive,
    time: isoSeconds(input.time),
  };
  return sign(ATTESTATION_TYPE, AttestationSchema.parse(statement), builder);
}

/** An attestation checked in everything but its signature, and what checking that takes. */
interface ReadAttestation {
  statement: Attestation;
  envelope: Envelope;
  check: SignatureCheck;
}

function readAttestation(value: unknown, subject?: string): ReadAttestation {
  const envelope = parseEnvelope(value, subject);
  // The payload is parsed once: the bytes the signature covers are the same
  // base64 decoded here, so the statement read before the check is the signed one.
  checkPayloadType(envelope, ATTESTATION_TYPE, subject);
  const payload = decodePayload(envelope, subject);
  const statement = parsePayload(AttestationSchema, payload, 'attestation', subject, isAttestationShape);
  const builder = publicKeyOfRef(statement.builder, subject);
  const check = signatureCheck(envelope, ATTESTATION_TYPE, (id) => (id === builder.id ? builder : undefined), subject, payload);
  if (statement.cpv !== statement.buildConfig.cpv) throw new BinswarmError<StatementErrorCode>('BAD_STATEMENT', 'cpv differs from the build config', { subject });
  if (buildKeyOf(statement.buildConfig) !== statement.buildKey || configKeyOf(statement.buildConfig) !== statement.configKey) {
    throw new BinswarmError<StatementErrorCode>('BUILD_KEY_MISMATCH', 'buildKey/configKey do not match the build config', { subject });
  }
  return { statement, envelope, check };
}

/** Signature by the builder key named inside, schema, and buildKey/configKey recomputed. */
export function openAttestation(value: unknown, subject?: string): Opened<Attestation> {
  const { statement, envelope, check } = readAttestation(value, subject);
  return { statement, envelope, signer: verifyCheck(check, subject).id };
}

/**
 * An attestation whose signature the caller has already verified (and
 * remembered, as a gateway does): everything else is checked again.
 */
export function openVerifiedAttestation(value: unknown, subject?: string): Attestation {
  return readAttestation(value, subject).statement;
}

/**
 * openAttestation for many at once, the signatures verified on the pool's
 * threads. Each result is the opened attestation or the typed error it
 * would have thrown (other errors are thrown).
 */
export async function openAttestations(values: readonly unknown[], pool: VerifyPool): Promise<(Opened<Attestation> | BinswarmError)[]> {
  const out: (Opened<Attestation> | BinswarmError)[] = new Array(values.length);
  const read: { at: number; r: ReadAttestation }[] = [];
  values.forEach((v, at) => {
    try {
      read.push({ at, r: readAttestation(v) });
    } catch (e) {
      if (!isBinswarmError(e)) throw e;
      out[at] = e;
    }
  });
  const jobs = read.flatMap(({ r }) => r.check.candidates.map((c) => ({ key: c.key, message: r.check.message, signature: c.sig })));
  const verified = await pool.verify(jobs);
  let next = 0;
  for (const { at, r } of read) {
    const mine = verified.slice(next, (next += r.check.candidates.length));
    try {
      out[at] = { statement: r.statement, envelope: r.envelope, signer: signerOf(r.check, mine).id };
    } catch (e) {
      out[at] = e as BinswarmError;
    }
  }
  return out;
}

// ---- certificates ------------------------------------------------------------

export interface CertificateInput {
  role: Certificate['role'];
  name: string;
  subject: PublicKey;
  notBefore: Date;
  notAfter: Date;
}

export function signCertificate(input: CertificateInput, issuer: PrivateKey): Envelope {
  const statement: Certificate = {
    _type: 'binswarm/certificate/v1',
    role: input.role,
    name: input.name,
    subject: keyRef(input.subject),
    issuer: issuer.publicKey.id,
    notBefore: isoSeconds(input.notBefore),
    notAfter: isoSeconds(input.notAfter),
  };
  return sign(CERTIFICATE_TYPE, CertificateSchema.parse(statement), issuer);
}

/** Decodes a certificate and checks it is signed by `issuerKey` (which must be the issuer it names). */
export function openCertificate(value: unknown, issuerLookup: (keyId: string) => PublicKey | undefined, subject?: string): Opened<Certificate> {
  const envelope = parseEnvelope(value, subject);
  const claimed = peek(CertificateSchema, envelope, 'certificate', subject);
  publicKeyOfRef(claimed.subject, subject);
  const { payload, signer } = openEnvelope(envelope, CERTIFICATE_TYPE, (id) => (id === claimed.issuer ? issuerLookup(id) : undefined), subject);
  return { statement: parsePayload(CertificateSchema, payload, 'certificate', subject), envelope, signer: signer.id };
}

/** Reads who a certificate claims to be issued by, before its issuer is known. */
export function peekCertificate(value: unknown, subject?: string): Certificate {
  return peek(CertificateSchema, parseEnvelope(value, subject), 'certificate', subject);
}

// ---- revocations -------------------------------------------------------------

export function signRevocation(input: { subject: string; time: Date; reason?: string }, issuer: PrivateKey): Envelope {
  const statement: Revocation = {
    _type: 'binswarm/revocation/v1',
    subject: input.subject,
    issuer: issuer.publicKey.id,
    time: isoSeconds(input.time),
    ...(input.reason ? { reason: input.reason } : {}),
  };
  return sign(REVOCATION_TYPE, RevocationSchema.parse(statement), issuer);
}

export function openRevocation(value: unknown, issuerLookup: (keyId: string) => PublicKey | undefined, subject?: string): Opened<Revocation> {
  const envelope = parseEnvelope(value, subject);
  const claimed = peek(RevocationSchema, envelope, 'revocation', subject);
  const { payload, signer } = openEnvelope(envelope, REVOCATION_TYPE, (id) => (id === claimed.issuer ? issuerLookup(id) : undefined), subject);
  return { statement: parsePayload(RevocationSchema, payload, 'revocation', subject), envelope, signer: signer.id };
}

export function peekRevocation(value: unknown, subject?: string): Revocation {
  return peek(RevocationSchema, parseEnvelope(value, subject), 'revocation', subject);
}

/** What kind of statement an envelope holds, by payloadType. */
export function statementKind(value: unknown): 'attestation' | 'certificate' | 'revocation' | undefined {
  const t = (value as { payloadType?: unknown })?.payloadType;
  return t === ATTESTATION_TYPE ? 'attestation' : t === CERTIFICATE_TYPE ? 'certificate' : t === REVOCATION_TYPE ? 'revocation' : undefined;
}

/** ISO 8601 UTC to the second: the one time format in statements. */
export function isoSeconds(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
