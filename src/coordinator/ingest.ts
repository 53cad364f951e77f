/**
 * What the coordinator accepts into its log, and the checks that come first.
 * Everything that changes the registry happens in one store transaction:
 * statement rows, log leaves and the Merkle nodes, so a crash leaves either
 * all of it or none. Checkpoints are signed later, when one is asked for.
 */
import { createHash } from 'node:crypto';
import { BinswarmError, isBinswarmError } from '../errors.js';
import { signCheckpoint } from '../log/checkpoint.js';
import { decodeLeaf, encodeLeaf, type Leaf } from '../log/leaf.js';
import { MerkleLog } from '../log/log.js';
import { MAX_ENTRY } from '../log/tiles.js';
import { canonicalEnvelope, type Envelope } from '../trust/dsse.js';
import type { PrivateKey, PublicKey } from '../trust/keys.js';
import { openAttestations, openCertificate, openRevocation, peekCertificate, peekRevocation, publicKeyOfRef, type Attestation, type Opened } from '../trust/statements.js';
import type { VerifyPool } from '../trust/verify-pool.js';
import { MAX_SIGNER_SKEW_MS } from '../trust/evaluate.js';
import { Standing } from './standing.js';
import type { AttestationAccepted, BatchResult, Logged } from '../api/v1.js';
import { AttestationBatch } from './attestation-batch.js';
import type { Store, StoreTx } from './store/types.js';

export type IngestErrorCode = 'NO_ROOTS' | 'UNKNOWN_ISSUER' | 'UNKNOWN_KEY' | 'NOT_ALLOWED' | 'STALE_ATTESTATION' | 'ARCHIVE_CONFLICT' | 'NOT_CERTIFIED';
export type { StandingErrorCode } from './standing.js';

export interface Coordinator {
  store: Store;
  roots: PublicKey[];
  key: PrivateKey;
  origin: string;
  keyName: string;
  /** How far an attestation's own time may be from the time we receive it. */
  attestationWindowMs: number;
  now: () => number;
  /** Threads that verify the signatures of batch submissions. */
  verifyPool: VerifyPool;
  /**
   * TEST ONLY: log statements of revoked or uncertified-at-receipt keys
   * instead of refusing them — a misbehaving coordinator, to prove that
   * clients judge from the log and gain it nothing. Never set in production.
   */
  unsafeSkipStandingChecks?: boolean;
}

/** sha256 of the envelope's canonical JSON. */
export function envelopeId(env: Envelope): string {
  return createHash('sha256').update(canonicalEnvelope(env)).digest('hex');
}

function fail(code: IngestErrorCode, message: string): BinswarmError<IngestErrorCode> {
  return new BinswarmError(code, message);
}

/** A leaf before the batch stamps its logTime on it. */
type LeafContent = Leaf extends infer L ? (L extends unknown ? Omit<L, 'logTime'> : never) : never;

/** The logTime of a stored leaf; a leaf from before logTimes existed reads as 0. */
function logTimeOf(data: Uint8Array): number {
  try {
    return decodeLeaf(data).logTime;
  } catch {
    return 0;
  }
}

/**
 * The leaves one transaction adds: indices are handed out as statements are
 * accepted, and the tree is extended once, at the end, with all of them
 * (one read of the right edge, one write of the new nodes). All of them
 * carry one receipt time, never before the previous leaf's.
 */
class LeafBatch {
  private readonly leaves: Leaf[] = [];
  private constructor(
    private readonly tx: StoreTx,
    private readonly base: number,
    readonly logTime: number,
  ) {}

  static async open(tx: StoreTx, now: number): Promise<LeafBatch> {
    const size = await tx.log.size();
    const last = size > 0 ? await tx.lastLeaf() : undefined;
    // Receipt times never go backwards along the log, even when this clock
    // (or another replica's) does: readers refuse a log where they do.
    return new LeafBatch(tx, size, Math.max(Math.floor(now), last ? logTimeOf(last) : 0));
  }

  add(leaf: LeafContent): number {
    this.leaves.push({ ...leaf, logTime: this.logTime } as Leaf);
    return this.base + this.leaves.length - 1;
  }

  async flush(): Promise<void> {
    if (this.leaves.length === 0) return;
    const datas = this.leaves.map(encodeLeaf);
    // Entry bundles carry a uint16 length (tlog-tiles): a larger leaf could never be published.
    for (const d of datas) if (d.length > MAX_ENTRY) throw new BinswarmError('LEAF_TOO_LARGE', `a log entry has at most ${MAX_ENTRY} bytes, this one ${d.length}`);
    const first = await new MerkleLog(this.tx.log).appendLeaves(datas);
    if (first !== this.base) throw new BinswarmError('STORE_CONFLICT', `log grew under a transaction (${this.base} → ${first})`);
    await this.tx.putLeaves(first, datas);
  }
}

/** Runs `fn` in one store transaction with a LeafBatch flushed before commit. */
function withLog<T>(c: Coordinator, fn: (tx: StoreTx, log: LeafBatch) => Promise<T>): Promise<T> {
  return c.store.transaction(async (tx) => {
    const log = await LeafBatch.open(tx, c.now());
    const r = await fn(tx, log);
    await log.flush();
    return r;
  });
}

/**
 * The signed checkpoint for the current tree, signing a new one only when the
 * tree grew: one signature per read of a grown log instead of one per write.
 */
export async function latestCheckpoint(c: Coordinator): Promise<string | undefined> {
  const have = await c.store.latestCheckpoint();
  const size = await c.store.log.size();
  if (have && have.size === size) return have.text;
  if (size === 0) return undefined;
  // Never sign over leaves a power cut could still take back.
  await c.store.syncHard();
  return c.store.transaction(async (tx) => {
    const n = await tx.log.size();
    const text = signCheckpoint({ origin: c.origin, size: n, root: await new MerkleLog(tx.log).root(n), extensions: [] }, c.keyName, c.key);
    await tx.putCheckpoint(n, text);
    return text;
  });
}

async function knownKey(c: Coordinator, keyId: string, role: 'operator' | 'builder'): Promise<PublicKey | undefined> {
  const cert = (await c.store.certificatesOf(keyId)).find((r) => r.role === role);
  return cert ? publicKeyOfRef(peekCertificate(JSON.parse(cert.envelope)).subject) : undefined;
}

export async function ingestCertificate(c: Coordinator, env: Envelope): Promise<Logged> {
  const claimed = peekCertificate(env);
  let issuer: PublicKey | undefined;
  if (claimed.role === 'operator') {
    if (c.roots.length === 0) throw fail('NO_ROOTS', 'this coordinator has no trust roots configured (--roots), so it cannot accept operator certificates');
    issuer = c.roots.find((r) => r.id === claimed.issuer);
    if (!issuer) throw fail('UNKNOWN_ISSUER', 'operator certificate is not issued by one of this coordinator’s roots');
  } else {
    issuer = await knownKey(c, claimed.issuer, 'operator');
    if (!issuer) throw fail('UNKNOWN_ISSUER', 'builder certificate is issued by a key with no operator certificate here');
  }
  const { statement } = openCertificate(env, (id) => (id === issuer!.id ? issuer : undefined));
  const id = envelopeId(env);
  return withLog(c, async (tx, log) => {
    const existing = (await c.store.certificatesOf(statement.subject.keyId)).find((r) => r.id === id);
    if (existing) return { id, logIndex: existing.logIndex, logTime: existing.logTime, duplicate: true };
    // A certificate from an operator revoked before it is logged certifies nothing.
    if (statement.role === 'builder' && !c.unsafeSkipStandingChecks) await new Standing(c.store, log.logTime).notRevoked(statement.issuer, 'issuing operator key');
    const logIndex = log.add({ type: 'certificate', envelope: env });
    await tx.insertCertificate({ id, subject: statement.subject.keyId, issuer: statement.issuer, role: statement.role, name: statement.name, notBefore: Date.parse(statement.notBefore), notAfter: Date.parse(statement.notAfter), logIndex, logTime: log.logTime, envelope: JSON.stringify(env) });
    return { id, logIndex, logTime: log.logTime };
  });
}

export async function ingestRevocation(c: Coordinator, env: Envelope): Promise<Logged> {
  const claimed = peekRevocation(env);
  let issuer = c.roots.find((r) => r.id === claimed.issuer);
  if (!issuer) {
    // An operator may revoke the builder keys it certified.
    const certified = (await c.store.certificatesOf(claimed.subject)).some((r) => r.role === 'builder' && r.issuer === claimed.issuer);
    if (certified) issuer = await knownKey(c, claimed.issuer, 'operator');
  }
  if (!issuer) throw fail('NOT_ALLOWED', 'revocation is not signed by a root or by the operator that certified the key');
  const { statement } = openRevocation(env, (id) => (id === issuer!.id ? issuer : undefined));
  const id = envelopeId(env);
  return withLog(c, async (tx, log) => {
    const dup = (await c.store.revocationsOf(statement.subject)).find((r) => r.id === id);
    if (dup) return { id, logIndex: dup.logIndex, logTime: dup.logTime, duplicate: true };
    const logIndex = log.add({ type: 'revocation', envelope: env });
    await tx.insertRevocation({ id, subject: statement.subject, issuer: statement.issuer, time: Date.parse(statement.time), logIndex, logTime: log.logTime, envelope: JSON.stringify(env) });
    return { id, logIndex, logTime: log.logTime };
  });
}

interface CheckedAttestation {
  env: Envelope;
  statement: Attestation;
  id: string;
  time: number;
}

/** What needs no transaction beyond the opened statement: a certified builder key and a fresh time. */
async function checkAttestation(c: Coordinator, opened: Opened<Attestation>, certified: Map<string, boolean>): Promise<CheckedAttestation> {
  const { statement, envelope } = opened;
  const keyId = statement.builder.keyId;
  let known = certified.get(keyId);
  if (known === undefined) certified.set(keyId, (known = (await c.store.certificatesOf(keyId)).some((r) => r.role === 'builder')));
  if (!known) throw fail('UNKNOWN_KEY', `builder key ${keyId.slice(0, 16)}… has no certificate here; submit its certificate first`);
  const time = Date.parse(statement.time);
  const now = c.now();
  // The receipt time will be ≥ now, so a time within the skew of now is within the skew of the log time.
  if (time > now + MAX_SIGNER_SKEW_MS) throw fail('STALE_ATTESTATION', `attestation time ${statement.time} is in the future (more than ${MAX_SIGNER_SKEW_MS / 1000} s ahead of receipt); check the signer's clock`);
  if (now - time > c.attestationWindowMs) throw fail('STALE_ATTESTATION', `attestation time ${statement.time} is too far from now; sign a fresh one`);
  return { env: envelope, statement, id: envelopeId(envelope), time };
}


/** Records one checked attestation; checks that can refuse it come before any change. */
async function applyAttestation(c: Coordinator, batch: AttestationBatch, log: LeafBatch, standing: Standing, a: CheckedAttestation): Promise<AttestationAccepted> {
  const { statement, id } = a;
  const siblings = [...batch.siblings(statement.buildKey)];
  const dup = siblings.find((x) => x.id === id);
  if (dup) return { id, logIndex: dup.logIndex, logTime: dup.logTime, duplicate: true, binrev: batch.binrevOf(statement.configKey, statement.buildKey) ?? 0 };
  if (!c.unsafeSkipStandingChecks) await standing.builder(statement.builder.keyId);
  const archive = batch.ctx.archives.get(statement.archive.sha256);
  if (archive && (archive.outputDigest !== statement.outputDigest || archive.size !== statement.archive.size || archive.pieceRoot !== statement.archive.pieceRoot)) {
    throw fail('ARCHIVE_CONFLICT', `archive ${statement.archive.sha256.slice(0, 16)}… is already attested with other digests`);
  }
  const logIndex = log.add({ type: 'attestation', envelope: a.env });
  batch.addAttestation({
    id, signer: statement.builder.keyId, kind: statement.kind, cpv: statement.cpv, chost: statement.buildConfig.chost, buildKey: statement.buildKey, configKey: statement.configKey,
    outputDigest: statement.outputDigest, archiveSha256: statement.archive.sha256, archiveSize: statement.archive.size, pieceRoot: statement.archive.pieceRoot, time: a.time, logIndex, logTime: log.logTime, envelope: JSON.stringify(a.env),
  });
  if (!archive) batch.addArchive({ sha256: statement.archive.sha256, size: statement.archive.size, pieceRoot: statement.archive.pieceRoot, outputDigest: statement.outputDigest });
  const now = Math.floor(c.now() / 1000);
  const { binrev, fresh } = batch.assignBinrev(statement.configKey, statement.buildKey, logIndex);
  const result: AttestationAccepted = { id, logIndex, logTime: log.logTime, binrev };
  if (fresh) {
    log.add({ type: 'binrev', configKey: statement.configKey, buildKey: statement.buildKey, depAbi: statement.buildConfig.depAbi, binrev, time: now });
    batch.indexBuild(statement.buildConfig.chost, statement.configKey, statement.buildKey, statement.buildConfig);
  }
  // A dispute is recorded as soon as two outputs exist for one buildKey; whose
  // attestations count is each client's call, so all are kept and shown.
  const outputs = [...new Set([...siblings.map((x) => x.outputDigest), statement.outputDigest])].sort();
  if (outputs.length < 2) return result;
  const known = batch.ctx.disputes.get(statement.buildKey);
  if (known && known.outputDigests.join() === outputs.join()) return result;
  const atts = [...siblings.map((x) => x.id), id].sort();
  const disputeIndex = log.add({ type: 'dispute', buildKey: statement.buildKey, outputDigests: outputs, attestations: atts, time: now });
  result.dispute = { outputDigests: outputs, logIndex: disputeIndex };
  await batch.setDispute({ buildKey: statement.buildKey, cpv: statement.cpv, outputDigests: outputs, firstSeen: known?.firstSeen ?? now, logIndex: disputeIndex });
  return result;
}

/** A refusal of one statement becomes its result; anything else (the store failing) aborts the batch. */
function refused(e: unknown, refusal: (code: string) => boolean): BatchResult {
  if (!isBinswarmError(e) || !refusal(e.code)) throw e;
  return { error: { code: e.code, message: e.message } };
}

/**
 * Many attestations in one transaction and one log append (a contributor's
 * whole PKGDIR, a builder's queue). Each is judged on its own: one refused
 * statement does not refuse the others; a store failure refuses them all.
 */
export async function ingestAttestations(c: Coordinator, envs: readonly Envelope[]): Promise<BatchResult[]> {
  const results: BatchResult[] = new Array(envs.length);
  const checked: (CheckedAttestation & { at: number })[] = [];
  const certified = new Map<string, boolean>();
  // Signatures first, all at once, on the pool's threads.
  const opened = await openAttestations(envs, c.verifyPool);
  for (const [i, o] of opened.entries()) {
    try {
      if (o instanceof BinswarmError) throw o;
      checked.push({ ...(await checkAttestation(c, o, certified)), at: i });
    } catch (e) {
      results[i] = refused(e, (code) => !code.startsWith('STORE_'));
    }
  }
  if (checked.length > 0) {
    await withLog(c, async (tx, log) => {
      const batch = await AttestationBatch.open(tx, checked.map((a) => a.statement));
      // Judged at the receipt time these leaves get, inside the transaction
      // that logs them: a revocation logged before is seen, one after is not.
      const standing = new Standing(c.store, log.logTime);
      for (const a of checked) {
        try {
          results[a.at] = { ok: await applyAttestation(c, batch, log, standing, a) };
        } catch (e) {
          results[a.at] = refused(e, (code) => code === 'ARCHIVE_CONFLICT' || code === 'KEY_REVOKED' || code === 'CERT_NOT_VALID');
        }
      }
      await batch.flush();
    });
  }
  return results;
}

export async function ingestAttestation(c: Coordinator, env: Envelope): Promise<AttestationAccepted> {
  const [r] = await ingestAttestations(c, [env]);
  if ('error' in r!) throw new BinswarmError(r.error.code, r.error.message);
  return r!.ok;
}
