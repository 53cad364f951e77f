/**
 * What the log's leaves say. Leaf data = canonical JSON of one of these, so
 * anyone can recompute a leaf hash from the object it claims to log. Signed
 * payloads stay opaque here (the trust library validates them).
 */
import { z } from 'zod';
import { BinswarmError } from '../errors.js';
import { canonicalJson } from '../formats/canonical-json.js';
import { canonicalEnvelope } from '../trust/dsse.js';

export type LeafErrorCode = 'BAD_LEAF';

const envelope = z.object({ payloadType: z.string(), payload: z.string(), signatures: z.array(z.object({ keyid: z.string(), sig: z.string() }).strict()) }).strict();
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const LeafSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('attestation'), envelope }).strict(),
  z.object({ type: z.literal('certificate'), envelope }).strict(),
  z.object({ type: z.literal('revocation'), envelope }).strict(),
  z.object({ type: z.literal('dispute'), buildKey: hex64, outputDigests: z.array(hex64).min(2), attestations: z.array(hex64).min(2), time: z.number().int() }).strict(),
  z.object({ type: z.literal('binrev'), configKey: hex64, buildKey: hex64, depAbi: z.array(z.string()), binrev: z.number().int().min(1), time: z.number().int() }).strict(),
]);

export type Leaf = z.infer<typeof LeafSchema>;
export type LeafType = Leaf['type'];

export function encodeLeaf(leaf: Leaf): Buffer {
  const checked = LeafSchema.parse(leaf);
  // Statement leaves ({envelope, type}: keys already in sorted order) are most
  // of the log; their envelope has a fast canonical form.
  if ('envelope' in checked) return Buffer.from(`{"envelope":${canonicalEnvelope(checked.envelope)},"type":${JSON.stringify(checked.type)}}`);
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
  if (!r.success) throw new BinswarmError<LeafErrorCode>('BAD_LEAF', `log leaf is malformed: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}
