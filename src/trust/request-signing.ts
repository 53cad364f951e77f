/**
 * Every request that changes state is signed by the sender's key over
 * method, path, body digest, time and a nonce. The receiver rejects stale
 * times and (with its nonce store) replays, so a captured request cannot be
 * sent again or pointed at another route.
 */
import { createHash, randomBytes } from 'node:crypto';
import { BinswarmError } from '../errors.js';
import { publicKeyFromRaw, signBytes, verifyBytes, type PrivateKey, type PublicKey } from './keys.js';

export type RequestSigningErrorCode = 'UNSIGNED' | 'BAD_REQUEST_SIGNATURE' | 'STALE_REQUEST';

export const HEADERS = { key: 'x-binswarm-key', time: 'x-binswarm-time', nonce: 'x-binswarm-nonce', signature: 'x-binswarm-signature' } as const;

/** How far a request's clock may be from ours. */
export const MAX_SKEW_MS = 5 * 60 * 1000;

function message(method: string, path: string, body: Uint8Array, time: string, nonce: string): Buffer {
  const digest = createHash('sha256').update(body).digest('hex');
  return Buffer.from(`binswarm-request/v1\n${method.toUpperCase()}\n${path}\n${digest}\n${time}\n${nonce}`);
}

export function signRequest(key: PrivateKey, method: string, path: string, body: Uint8Array, now = Date.now()): Record<string, string> {
  const time = String(now);
  const nonce = randomBytes(16).toString('hex');
  return {
    [HEADERS.key]: key.publicKey.raw.toString('base64'),
    [HEADERS.time]: time,
    [HEADERS.nonce]: nonce,
    [HEADERS.signature]: signBytes(key, message(method, path, body, time, nonce)).toString('base64'),
  };
}

export interface SignedBy {
  key: PublicKey;
  nonce: string;
  time: number;
}

/** Checks the signature and the clock; the caller checks the nonce against its replay store. */
export function verifyRequest(r: { method: string; path: string; body: Uint8Array; headers: Record<string, string | string[] | undefined>; now: number }): SignedBy {
  const h = (name: string) => {
    const v = r.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const [keyText, time, nonce, sig] = [h(HEADERS.key), h(HEADERS.time), h(HEADERS.nonce), h(HEADERS.signature)];
  if (!keyText || !time || !nonce || !sig) throw new BinswarmError<RequestSigningErrorCode>('UNSIGNED', 'this request changes state and must be signed (x-binswarm-* headers)');
  if (!/^\d{1,16}$/.test(time) || !/^[0-9a-f]{32}$/.test(nonce)) throw new BinswarmError<RequestSigningErrorCode>('BAD_REQUEST_SIGNATURE', 'malformed time or nonce header');
  let key: PublicKey;
  try {
    key = publicKeyFromRaw(Buffer.from(keyText, 'base64'));
  } catch {
    throw new BinswarmError<RequestSigningErrorCode>('BAD_REQUEST_SIGNATURE', 'malformed key header');
  }
  if (Math.abs(r.now - Number(time)) > MAX_SKEW_MS) throw new BinswarmError<RequestSigningErrorCode>('STALE_REQUEST', 'request time is too far from the server clock');
  if (!verifyBytes(key, message(r.method, r.path, r.body, time, nonce), Buffer.from(sig, 'base64'))) {
    throw new BinswarmError<RequestSigningErrorCode>('BAD_REQUEST_SIGNATURE', 'request signature does not verify');
  }
  return { key, nonce, time: Number(time) };
}
