/**
 * What the coordinator accepts into its log, and the checks that come first.
 * Everything that changes the registry happens in one store transaction:
 * statement rows, log leaves, the Merkle nodes and a freshly signed
 * checkpoint, so a crash leaves either all of it or none.
 */
import { createHash } from 'node:crypto';
import { BinswarmError } from '../errors.js';
import { canonicalJson } from '../formats/canonical-json.js';
import { signCheckpoint } from '../log/checkpoint.js';
import { encodeLeaf, type Leaf } from '../log/leaf.js';
import { MerkleLog } from '../log/log.js';
import type { Envelope } from '../trust/dsse.js';
import type { PrivateKey, PublicKey } from '../trust/keys.js';
import { openAttestation, openCertificate, openRevocation, peekCertificate, peekRevocation, publicKeyOfRef } from '../trust/statements.js';
import type { AttestationAccepted, Logged } from '../api/v1.js';
import type { Store, StoreTx } from './store/types.js';

export type IngestErrorCode = 'NO_ROOTS' | 'UNKNOWN_ISSUER' | 'UNKNOWN_KEY' | 'NOT_ALLOWED' | 'STALE_ATTESTATION' | 'ARCHIVE_CONFLICT' | 'NOT_CERTIFIED';

export interface Coordinator {
  store: Store;
  roots: PublicKey[];
  key: PrivateKey;
  origin: string;
  keyName: string;
  /** How far an attestation's own time may be from the time we receive it. */
  attestationWindowMs: number;
  now: () => number;
}

export function envelopeId(env: Envelope): string {
  return createHash('sha256').update(canonicalJson(env)).digest('hex');
}

function fail(code: IngestErrorCode, message: string): BinswarmError<IngestErrorCode> {
  return new BinswarmError(code, message);
}

/** Appends leaves inside `tx`; returns the first leaf's index. Checkpoints are signed on demand (latestCheckpoint). */
async function appendToLog(_c: Coordinator, tx: StoreTx, leaves: Leaf[]): Promise<number> {
  const datas = leaves.map(encodeLeaf);
  const first = await new MerkleLog(tx.log).appendLeaves(datas);
  for (let i = 0; i < datas.length; i++) await tx.putLeaf(first + i, datas[i]!);
  return first;
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
  return c.store.transaction(async (tx) => {
    const existing = (await c.store.certificatesOf(statement.subject.keyId)).find((r) => r.id === id);
    if (existing) return { id, logIndex: existing.logIndex, duplicate: true };
    const logIndex = await appendToLog(c, tx, [{ type: 'certificate', envelope: env }]);
    await tx.insertCertificate({ id, subject: statement.subject.keyId, issuer: statement.issuer, role: statement.role, name: statement.name, notBefore: Date.parse(statement.notBefore), notAfter: Date.parse(statement.notAfter), logIndex, envelope: JSON.stringify(env) });
    return { id, logIndex };
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
  return c.store.transaction(async (tx) => {
    const dup = (await c.store.listRevocations(-1, 5000)).find((r) => r.id === id);
    if (dup) return { id, logIndex: dup.logIndex, duplicate: true };
    const logIndex = await appendToLog(c, tx, [{ type: 'revocation', envelope: env }]);
    await tx.insertRevocation({ id, subject: statement.subject, issuer: statement.issuer, time: Date.parse(statement.time), logIndex, envelope: JSON.stringify(env) });
    return { id, logIndex };
  });
}

export async function ingestAttestation(c: Coordinator, env: Envelope): Promise<AttestationAccepted> {
  const { statement } = openAttestation(env);
  const builderCerts = (await c.store.certificatesOf(statement.builder.keyId)).filter((r) => r.role === 'builder');
  if (builderCerts.length === 0) throw fail('UNKNOWN_KEY', `builder key ${statement.builder.keyId.slice(0, 16)}… has no certificate here; submit its certificate first`);
  const t = Date.parse(statement.time);
  if (Math.abs(c.now() - t) > c.attestationWindowMs) throw fail('STALE_ATTESTATION', `attestation time ${statement.time} is too far from now; sign a fresh one`);
  const id = envelopeId(env);
  return c.store.transaction(async (tx) => {
    const siblings = await tx.attestationsByBuildKey(statement.buildKey);
    const dup = siblings.find((a) => a.id === id);
    if (dup) return { id, logIndex: dup.logIndex, duplicate: true, binrev: (await c.store.binrevOf(statement.buildKey)) ?? 0 };
    const archive = await c.store.getArchive(statement.archive.sha256);
    if (archive && (archive.outputDigest !== statement.outputDigest || archive.size !== statement.archive.size || archive.pieceRoot !== statement.archive.pieceRoot)) {
      throw fail('ARCHIVE_CONFLICT', `archive ${statement.archive.sha256.slice(0, 16)}… is already attested with other digests`);
    }
    const logIndex = await appendToLog(c, tx, [{ type: 'attestation', envelope: env }]);
    await tx.insertAttestation({
      id, signer: statement.builder.keyId, kind: statement.kind, cpv: statement.cpv, chost: statement.buildConfig.chost, buildKey: statement.buildKey, configKey: statement.configKey,
      outputDigest: statement.outputDigest, archiveSha256: statement.archive.sha256, archiveSize: statement.archive.size, pieceRoot: statement.archive.pieceRoot, time: t, logIndex, envelope: JSON.stringify(env),
    });
    await tx.upsertArchive({ sha256: statement.archive.sha256, size: statement.archive.size, pieceRoot: statement.archive.pieceRoot, outputDigest: statement.outputDigest });
    const now = Math.floor(c.now() / 1000);
    const result: AttestationAccepted = { id, logIndex, binrev: 0 };
    const { binrev, fresh } = await tx.assignBinrev(statement.configKey, statement.buildKey, logIndex);
    result.binrev = binrev;
    if (fresh) await appendToLog(c, tx, [{ type: 'binrev', configKey: statement.configKey, buildKey: statement.buildKey, depAbi: statement.buildConfig.depAbi, binrev, time: now }]);
    // A dispute is recorded as soon as two outputs exist for one buildKey; whose
    // attestations count is each client's call, so all are kept and shown.
    const outputs = [...new Set([...siblings.map((a) => a.outputDigest), statement.outputDigest])].sort();
    if (outputs.length > 1) {
      const known = await tx.getDispute(statement.buildKey);
      if (!known || known.outputDigests.join() !== outputs.join()) {
        const atts = [...siblings.map((a) => a.id), id].sort();
        const disputeIndex = await appendToLog(c, tx, [{ type: 'dispute', buildKey: statement.buildKey, outputDigests: outputs, attestations: atts, time: now }]);
        await tx.upsertDispute({ buildKey: statement.buildKey, cpv: statement.cpv, outputDigests: outputs, firstSeen: now, logIndex: disputeIndex });
        result.dispute = { outputDigests: outputs, logIndex: disputeIndex };
      }
    }
    return result;
  });
}
