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

/**
 * The envelope's RFC 8785 canonical JSON. Its shape is fixed by the schema
 * (three keys, signatures of two string keys), so JSON.stringify over keys
 * written in sorted order gives exactly those bytes, much faster than a
 * generic canonicaliser (property-tested against one).
 */
export function canonicalEnvelope(env: Envelope): string {
  return JSON.stringify({ payload: env.payload, payloadType: env.payloadType, signatures: env.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })) });
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

/** What verifying an envelope takes: the PAE message and each signature by a key the caller knows. */
export interface SignatureCheck {
  payload: Buffer;
  message: Buffer;
  candidates: { key: PublicKey; sig: Buffer }[];
}

export function checkPayloadType(env: Envelope, expectedType: string, subject?: string): void {
  if (env.payloadType !== expectedType) {
    throw new BinswarmError<DsseErrorCode>('WRONG_PAYLOAD_TYPE', `payloadType is '${env.payloadType.slice(0, 80)}', expected '${expectedType}'`, { subject });
  }
}

/** Checks the payload type and finds the signatures made by keys `lookup` knows (UNKNOWN_KEY when none). */
export function signatureCheck(env: Envelope, expectedType: string, lookup: (keyid: string) => PublicKey | undefined, subject?: string, decoded?: Buffer): SignatureCheck {
  checkPayloadType(env, expectedType, subject);
  const payload = decoded ?? decodePayload(env, subject);
  const candidates: SignatureCheck['candidates'] = [];
  for (const s of env.signatures) {
    const key = lookup(s.keyid);
    if (key && key.id === s.keyid) candidates.push({ key, sig: Buffer.from(s.sig, 'base64') });
  }
  if (candidates.length === 0) throw new BinswarmError<DsseErrorCode>('UNKNOWN_KEY', `signed by unknown key ${env.signatures[0]?.keyid.slice(0, 16)}…`, { subject });
  return { payload, message: pae(env.payloadType, payload), candidates };
}

/** The signer, given which candidates verified (BAD_SIGNATURE when none did). */
export function signerOf(check: SignatureCheck, verified: readonly boolean[], subject?: string): PublicKey {
  const i = verified.indexOf(true);
  if (i < 0) throw new BinswarmError<DsseErrorCode>('BAD_SIGNATURE', 'signature does not verify', { subject });
  return check.candidates[i]!.key;
}

/** The first candidate whose signature verifies, on this thread (BAD_SIGNATURE when none does). */
export function verifyCheck(check: SignatureCheck, subject?: string): PublicKey {
  const signer = check.candidates.find((c) => verifyBytes(c.key, check.message, c.sig));
  if (!signer) throw new BinswarmError<DsseErrorCode>('BAD_SIGNATURE', 'signature does not verify', { subject });
  return signer.key;
}

/**
 * Checks the payload type and finds one signature that verifies under a key
 * `lookup` knows. Returns the payload bytes and the key that signed them.
 */
export function openEnvelope(env: Envelope, expectedType: string, lookup: (keyid: string) => PublicKey | undefined, subject?: string, decoded?: Buffer): { payload: Buffer; signer: PublicKey } {
  const check = signatureCheck(env, expectedType, lookup, subject, decoded);
  return { payload: check.payload, signer: verifyCheck(check, subject) };
}
