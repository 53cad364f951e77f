/**
 * Opening one attestation leaf of the local state: the leaf's JSON, the
 * envelope's schema and payload type, the statement's schema, buildKey and
 * configKey recomputed, and (unless the gateway verified it before) its
 * signature. The same function runs on the attestation pool's threads and
 * on the calling thread, so the checks cannot differ between the two.
 */
import { isBinswarmError } from '../errors.js';
import type { AttestationFacts } from '../trust/evaluate.js';
import { openAttestation, openVerifiedAttestation, type Attestation } from '../trust/statements.js';

/** What evaluation needs from a leaf, or why it is not a statement. */
export type LeafVerdict =
  /** Not JSON (or null): not a statement at all, left out as before. */
  | { skip: true }
  | { error: { code: string; message: string }; logTime?: number }
  /** `signer` is the key that verified (or, with verify off, the builder named inside). */
  | { statement: AttestationFacts; signer: string; logTime?: number };

/**
 * What evaluation reads of a checked statement, and no more: the rest of the
 * build config (flag lists, eclasses, ABI deps) is checked here and only
 * costs copying between threads.
 */
function factsOf(a: Attestation): AttestationFacts {
  return {
    builder: a.builder,
    kind: a.kind,
    cpv: a.cpv,
    buildKey: a.buildKey,
    configKey: a.configKey,
    outputDigest: a.outputDigest,
    archive: a.archive,
    time: a.time,
    buildConfig: { chost: a.buildConfig.chost, installMask: a.buildConfig.installMask },
  };
}

export function openLeaf(bytes: Uint8Array, verify: boolean): LeafVerdict {
  let envelope: unknown;
  let logTime: unknown;
  try {
    const leaf = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as { envelope: unknown; logTime: unknown };
    envelope = leaf.envelope;
    logTime = leaf.logTime;
  } catch {
    return { skip: true };
  }
  const at = typeof logTime === 'number' ? { logTime } : {};
  try {
    if (!verify) {
      const statement = openVerifiedAttestation(envelope);
      return { statement: factsOf(statement), signer: statement.builder.keyId, ...at };
    }
    const { statement, signer } = openAttestation(envelope);
    return { statement: factsOf(statement), signer, ...at };
  } catch (e) {
    if (!isBinswarmError(e)) throw e;
    return { error: { code: e.code, message: e.message }, ...at };
  }
}
