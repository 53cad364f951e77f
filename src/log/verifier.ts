/**
 * What a gateway or witness does with a new checkpoint: check the log's
 * signature and enough witness cosignatures, then prove the new tree extends
 * the last one it trusted. Two checkpoints of one size with different roots,
 * or a failing consistency proof, is a fork: the coordinator showed two
 * histories. The error carries both signed notes as evidence to publish.
 */
import { BinswarmError } from '../errors.js';
import type { NamedKey } from '../trust/keys.js';
import { openCheckpoint, verifyCosignatures, type SignedCheckpoint, type WitnessPolicy } from './checkpoint.js';
import { verifyConsistency } from './merkle.js';

export type { WitnessPolicy } from './checkpoint.js';

export type VerifierErrorCode = 'LOG_FORK' | 'LOG_ROLLBACK' | 'NOT_ENOUGH_WITNESSES' | 'ORIGIN_MISMATCH';

export class LogForkError extends BinswarmError<'LOG_FORK'> {
  constructor(
    message: string,
    /** The two signed notes that cannot both be true. */
    readonly evidence: { trusted: string; presented: string },
    cause?: unknown,
  ) {
    super('LOG_FORK', message, { cause });
  }
}

export interface CheckpointUpdate {
  /** The signed note text the client last accepted (undefined on first contact: trust on first use, with witnesses). */
  trusted?: string;
  /** The new signed note. */
  presented: string;
  /** Consistency proof from trusted size to presented size (empty when either is 0 or they are equal). */
  proof: readonly Uint8Array[];
  /** The log's key (or keys, during a rotation). */
  log: NamedKey | readonly NamedKey[];
  witnessPolicy?: WitnessPolicy;
}

/**
 * Returns the presented checkpoint, verified, to store as the new trusted
 * one; otherwise throws CHECKPOINT_SIGNATURE / BAD_CHECKPOINT (signatures,
 * layout), NOT_ENOUGH_WITNESSES, ORIGIN_MISMATCH, LOG_ROLLBACK (size went
 * back) or LogForkError.
 */
export function acceptCheckpoint(u: CheckpointUpdate): SignedCheckpoint {
  const next = openCheckpoint(u.presented, u.log);
  if (u.witnessPolicy && u.witnessPolicy.required > 0) verifyCosignatures(next, u.witnessPolicy);
  if (u.trusted === undefined) return next;
  const last = openCheckpoint(u.trusted, u.log);
  if (last.checkpoint.origin !== next.checkpoint.origin) {
    throw new BinswarmError<VerifierErrorCode>('ORIGIN_MISMATCH', `checkpoint is for log '${next.checkpoint.origin}', expected '${last.checkpoint.origin}'`);
  }
  const m = last.checkpoint.size;
  const n = next.checkpoint.size;
  if (n < m) throw new BinswarmError<VerifierErrorCode>('LOG_ROLLBACK', `log went back from size ${m} to ${n}`);
  // Every tree extends the empty one (parseBody already pinned a size-0 root
  // to the empty root), so there is nothing to prove from size 0.
  if (m === 0) return next;
  try {
    verifyConsistency(m, n, last.checkpoint.root, next.checkpoint.root, u.proof);
  } catch (e) {
    const why = m === n ? `two different roots for tree size ${n}` : `size ${n} does not extend size ${m}: ${(e as Error).message}`;
    throw new LogForkError(`log fork: ${why}`, { trusted: u.trusted, presented: u.presented }, e);
  }
  return next;
}

/**
 * Fork detection across sources (e.g. a checkpoint gossiped by a peer or
 * another witness): two validly signed checkpoints of one log and size with
 * different roots prove the log signed two histories.
 */
export function detectFork(a: string, b: string, log: NamedKey | readonly NamedKey[]): void {
  const x = openCheckpoint(a, log).checkpoint;
  const y = openCheckpoint(b, log).checkpoint;
  if (x.origin === y.origin && x.size === y.size && Buffer.compare(x.root, y.root) !== 0) {
    throw new LogForkError(`log fork: two different roots for tree size ${x.size}`, { trusted: a, presented: b });
  }
}
