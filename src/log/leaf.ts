/**
 * What the log's leaves say. Leaf data = canonical JSON of one of these, so
 * anyone can recompute a leaf hash from the object it claims to log. Signed
 * payloads stay opaque here (the trust library validates them).
 *
 * Every leaf carries `logTime`: the coordinator's receipt time, integer
 * milliseconds since the Unix epoch (UTC). It is inside the leaf data, so
 * the leaf hash — and through it every checkpoint — covers it; and it never
 * goes backwards along the log. It is the clock trust is judged by (as
 * Rekor's integrated time, or a CT SCT timestamp): a signer's own time is
 * only what the signer says.
 */
import { z } from 'zod';
import { BinswarmError } from '../errors.js';
import { canonicalJson } from '../formats/canonical-json.js';
import { canonicalEnvelope } from '../trust/dsse.js';

export type LeafErrorCode = 'BAD_LEAF' | 'LOG_TIME_BACKWARDS';

const envelope = z.object({ payloadType: z.string(), payload: z.string(), signatures: z.array(z.object({ keyid: z.string(), sig: z.string() }).strict()) }).strict();
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const logTime = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const LeafSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('attestation'), envelope, logTime }).strict(),
  z.object({ type: z.literal('certificate'), envelope, logTime }).strict(),
  z.object({ type: z.literal('revocation'), envelope, logTime }).strict(),
  z.object({ type: z.literal('dispute'), buildKey: hex64, outputDigests: z.array(hex64).min(2), attestations: z.array(hex64).min(2), time: z.number().int(), logTime }).strict(),
  z.object({ type: z.literal('binrev'), configKey: hex64, buildKey: hex64, depAbi: z.array(z.string()), binrev: z.number().int().min(1), time: z.number().int(), logTime }).strict(),
]);

export type Leaf = z.infer<typeof LeafSchema>;
export type LeafType = Leaf['type'];
export type StatementLeafType = 'attestation' | 'certificate' | 'revocation';

export function encodeLeaf(leaf: Leaf): Buffer {
  const checked = LeafSchema.parse(leaf);
  // Statement leaves ({envelope, logTime, type}: keys already in sorted order)
  // are most of the log; their envelope has a fast canonical form.
  if ('envelope' in checked) return Buffer.from(`{"envelope":${canonicalEnvelope(checked.envelope)},"logTime":${checked.logTime},"type":${JSON.stringify(checked.type)}}`);
  return Buffer.from(canonicalJson(checked));
}

export function decodeLeaf(data: Uint8Array): Leaf {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    throw new BinswarmError<LeafErrorCode>('BAD_LEAF', 'log leaf is not JSON');
  }
  const r = LeafSchema.safeParse(value);
  if (!r.success) throw new BinswarmError<LeafErrorCode>('BAD_LEAF', `log leaf is malformed: ${r.error.issues[0]?.path.join('.') || '(root)'}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

/**
 * Checks that receipt times never go backwards over leaves given in log
 * order (consecutive or not: a monotone log is monotone on any subsequence).
 * `previous` is the last leaf before them the reader already accepted.
 */
export function checkLogTimes(entries: Iterable<{ logIndex: number; logTime: number }>, previous?: { logIndex: number; logTime: number }): void {
  let last = previous;
  for (const e of entries) {
    if (last && e.logIndex <= last.logIndex) throw new BinswarmError<LeafErrorCode>('BAD_LEAF', `log entries out of order: index ${e.logIndex} after ${last.logIndex}`);
    if (last && e.logTime < last.logTime) {
      throw new BinswarmError<LeafErrorCode>('LOG_TIME_BACKWARDS', `log time goes backwards: leaf ${e.logIndex} says ${new Date(e.logTime).toISOString()}, after leaf ${last.logIndex} at ${new Date(last.logTime).toISOString()}`);
    }
    last = e;
  }
}

/**
 * Decodes consecutive leaves [first, first + datas.length) and refuses a
 * malformed one or one whose logTime is before its predecessor's.
 */
export function decodeLeafRange(first: number, datas: readonly Uint8Array[], previous?: { logIndex: number; logTime: number }): Leaf[] {
  const leaves = datas.map((d, i) => {
    try {
      return decodeLeaf(d);
    } catch (e) {
      throw new BinswarmError<LeafErrorCode>('BAD_LEAF', `leaf ${first + i}: ${(e as Error).message}`, { cause: e });
    }
  });
  checkLogTimes(leaves.map((l, i) => ({ logIndex: first + i, logTime: l.logTime })), previous);
  return leaves;
}
