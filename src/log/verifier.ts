/**
 * What a gateway or witness does with a new checkpoint: check the log's
 * signature and enough witness cosignatures, then prove the new tree extends
 * the last one it trusted. Two checkpoints of one size with different roots,
 * or a failing consistency proof, is a fork: the coordinator showed two
 * histories. The error carries both signed notes as evidence to publish.
 */
import { BinswarmError } from '../errors.js';
import { openCheckpoint, validCosigners, type NamedKey, type SignedCheckpoint } from './checkpoint.js';
import { verifyConsistency } from './merkle.js';

export type VerifierErrorCode = 'LOG_FORK' | 'LOG_ROLLBACK' | 'NOT_ENOUGH_WITNESSES' | 'ORIGIN_MISMATCH';

export class LogForkError extends BinswarmError<'LOG_FORK'> {
  constructor(
    message: string,
    /** The two signed notes that cannot both be true. */
    readonly evidence: { trusted: string; presented: string },
  ) {
    super('LOG_FORK', message);
  }
}

export interface WitnessPolicy {
  witnesses: NamedKey[];
  required: number;
}

export interface CheckpointUpdate {
  /** The signed note text the client last accepted (undefined on first contact: trust on first use, with witnesses). */
  trusted?: string;
  /** The new signed note. */
  presented: string;
  /** Consistency proof from trusted size to presented size. */
  proof: Uint8Array[];
  log: NamedKey;
  witnessPolicy?: WitnessPolicy;
}

/** Returns the presented checkpoint, verified, to store as the new trusted one. */
export function acceptCheckpoint(u: CheckpointUpdate): SignedCheckpoint {
  const next = openCheckpoint(u.presented, u.log);
  const policy = u.witnessPolicy;
  if (policy && policy.required > 0) {
    const got = validCosigners(next, policy.witnesses);
    if (got.length < policy.required) {
      throw new BinswarmError<VerifierErrorCode>('NOT_ENOUGH_WITNESSES', `checkpoint has ${got.length} valid witness cosignature(s) (${got.join(', ') || 'none'}), policy needs ${policy.required}`);
    }
  }
  if (u.trusted === undefined) return next;
  const last = openCheckpoint(u.trusted, u.log);
  if (last.checkpoint.origin !== next.checkpoint.origin) {
    throw new BinswarmError<VerifierErrorCode>('ORIGIN_MISMATCH', `checkpoint is for log '${next.checkpoint.origin}', expected '${last.checkpoint.origin}'`);
  }
  const m = last.checkpoint.size;
  const n = next.checkpoint.size;
  if (n < m) throw new BinswarmError<VerifierErrorCode>('LOG_ROLLBACK', `log went back from size ${m} to ${n}`);
  try {
    verifyConsistency(m, n, last.checkpoint.root, next.checkpoint.root, u.proof);
  } catch (e) {
    const why = m === n ? `two different roots for tree size ${n}` : `size ${n} does not extend size ${m}: ${(e as Error).message}`;
    throw new LogForkError(`log fork: ${why}`, { trusted: u.trusted, presented: u.presented });
  }
  return next;
}
