/**
 * DSSE envelopes (github.com/secure-systems-lab/dsse, protocol.md): the
 * signature covers PAE(payloadType, payload), so a valid signature can never
 * be re-read as another kind of statement.
 */
import { z } from 'zod';
import { BinswarmError } from '../errors.js';
import { signBytes, verifyBytes, type PrivateKey, type PublicKey } from './keys.js';

export type DsseErrorCode = 'BAD_ENVELOPE' | 'WRONG_PAYLOAD_TYPE' | 'BAD_SIGNATURE' | 'UNKNOWN_KEY';

export const EnvelopeSchema = z
  .object({
    payloadType: z.string().min(1).max(200),
    payload: z.string().max(1 << 20),
    signatures: z.array(z.object({ keyid: z.string().max(200), sig: z.string().max(200) }).strict()).min(1).max(16),
  })
  .strict();

export type Envelope = z.infer<typeof EnvelopeSchema>;

/** Pre-Authentication Encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

export function signEnvelope(payloadType: string, payload: Uint8Array, key: PrivateKey): Envelope {
  const sig = signBytes(key, pae(payloadType, payload));
  return { payloadType, payload: Buffer.from(payload).toString('base64'), signatures: [{ keyid: key.publicKey.id, sig: sig.toString('base64') }] };
}

/** The payload bytes; only canonical base64 is accepted, so one payload has one envelope text. */
export function decodePayload(env: Envelope, subject?: string): Buffer {
  const payload = Buffer.from(env.payload, 'base64');
  if (payload.toString('base64') !== env.payload) throw new BinswarmError<DsseErrorCode>('BAD_ENVELOPE', 'payload is not canonical base64', { subject });
  return payload;
}

export function parseEnvelope(value: unknown, subject?: string): Envelope {
  const r = EnvelopeSchema.safeParse(value);
  if (!r.success) throw new BinswarmError<DsseErrorCode>('BAD_ENVELOPE', `not a DSSE envelope: ${r.error.issues[0]?.path.join('.') ?? ''} ${r.error.issues[0]?.message ?? ''}`.trim(), { subject });
  return r.data;
}

/**
 * Checks the payload type and finds one signature that verifies under a key
 * `lookup` knows. Returns the payload bytes and the key that signed them.
 */
export function openEnvelope(env: Envelope, expectedType: string, lookup: (keyid: string) => PublicKey | undefined, subject?: string, decoded?: Buffer): { payload: Buffer; signer: PublicKey } {
  if (env.payloadType !== expectedType) {
    throw new BinswarmError<DsseErrorCode>('WRONG_PAYLOAD_TYPE', `payloadType is '${env.payloadType.slice(0, 80)}', expected '${expectedType}'`, { subject });
  }
  const payload = decoded ?? decodePayload(env, subject);
  const message = pae(env.payloadType, payload);
  let known = false;
  for (const s of env.signatures) {
    const key = lookup(s.keyid);
    if (!key || key.id !== s.keyid) continue;
    known = true;
    if (verifyBytes(key, message, Buffer.from(s.sig, 'base64'))) return { payload, signer: key };
  }
  throw known
    ? new BinswarmError<DsseErrorCode>('BAD_SIGNATURE', 'signature does not verify', { subject })
    : new BinswarmError<DsseErrorCode>('UNKNOWN_KEY', `signed by unknown key ${env.signatures[0]?.keyid.slice(0, 16)}…`, { subject });
}
