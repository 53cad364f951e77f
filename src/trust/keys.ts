/**
 * Ed25519 keys through node:crypto (no hand-written crypto).
 * Files: the private key is PKCS#8 PEM (mode 0600); `FILE.pub` is SPKI PEM.
 * Key id = hex sha256 of the 32 raw public key bytes.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { BinswarmError } from '../errors.js';

export type KeyErrorCode = 'BAD_KEY' | 'KEY_NOT_FOUND';

export interface PublicKey {
  /** 32 raw Ed25519 public key bytes. */
  raw: Buffer;
  /** hex sha256(raw). */
  id: string;
  object: KeyObject;
}

/** A public key under a name: the coordinator's checkpoint key (signed notes) or a witness's (cosignatures). */
export interface NamedKey {
  name: string;
  key: PublicKey;
}

export interface PrivateKey {
  object: KeyObject;
  publicKey: PublicKey;
}

// Building a KeyObject costs about as much as a signature check, and servers
// see the same keys on every request: keep recent ones (they are immutable).
const keyCache = new Map<string, PublicKey>();
const KEY_CACHE_MAX = 10_000;

export function publicKeyFromRaw(raw: Uint8Array): PublicKey {
  if (raw.length !== 32) throw new BinswarmError<KeyErrorCode>('BAD_KEY', `an Ed25519 public key has 32 bytes, got ${raw.length}`);
  const cacheKey = Buffer.from(raw).toString('hex');
  const hit = keyCache.get(cacheKey);
  if (hit) return hit;
  const key = publicKeyFromRawUncached(raw);
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(cacheKey, key);
  return key;
}

function publicKeyFromRawUncached(raw: Uint8Array): PublicKey {
  const buf = Buffer.from(raw);
  // SPKI DER prefix for Ed25519 (RFC 8410): SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING }.
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), buf]);
  const object = createPublicKey({ key: der, format: 'der', type: 'spki' });
  return { raw: buf, id: keyIdOf(buf), object };
}

export function keyIdOf(raw: Uint8Array): string {
  return createHash('sha256').update(raw).digest('hex');
}

function publicFromObject(object: KeyObject): PublicKey {
  if (object.asymmetricKeyType !== 'ed25519') throw new BinswarmError<KeyErrorCode>('BAD_KEY', `not an Ed25519 key (${object.asymmetricKeyType})`);
  const der = object.export({ format: 'der', type: 'spki' });
  return publicKeyFromRaw(der.subarray(der.length - 32));
}

export function generateKey(): PrivateKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { object: privateKey, publicKey: publicFromObject(publicKey) };
}

export function privateKeyFromPem(pem: string | Buffer, subject?: string): PrivateKey {
  try {
    const object = createPrivateKey(pem);
    if (object.asymmetricKeyType !== 'ed25519') throw new Error(`not an Ed25519 key (${object.asymmetricKeyType})`);
    return { object, publicKey: publicFromObject(createPublicKey(object)) };
  } catch (e) {
    if (e instanceof BinswarmError) throw e;
    throw new BinswarmError<KeyErrorCode>('BAD_KEY', `not a readable Ed25519 private key: ${(e as Error).message}`, { cause: e, subject });
  }
}

/** Accepts SPKI PEM, or 64 hex chars / base64 of the raw 32 bytes. */
export function publicKeyFromText(text: string, subject?: string): PublicKey {
  const t = text.trim();
  try {
    if (t.startsWith('-----BEGIN')) return publicFromObject(createPublicKey(t));
    if (/^[0-9a-f]{64}$/i.test(t)) return publicKeyFromRaw(Buffer.from(t, 'hex'));
    const b = Buffer.from(t, 'base64');
    if (b.length === 32) return publicKeyFromRaw(b);
  } catch (e) {
    if (e instanceof BinswarmError) throw e;
    throw new BinswarmError<KeyErrorCode>('BAD_KEY', `not a readable Ed25519 public key: ${(e as Error).message}`, { cause: e, subject });
  }
  throw new BinswarmError<KeyErrorCode>('BAD_KEY', 'not a readable Ed25519 public key (PEM, 64 hex digits or base64 of 32 bytes)', { subject });
}

export async function readPrivateKey(path: string): Promise<PrivateKey> {
  const pem = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new BinswarmError<KeyErrorCode>('KEY_NOT_FOUND', `cannot read key: ${e.code ?? e.message}`, { cause: e, subject: path });
  });
  return privateKeyFromPem(pem, path);
}

export async function readPublicKey(path: string): Promise<PublicKey> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new BinswarmError<KeyErrorCode>('KEY_NOT_FOUND', `cannot read key: ${e.code ?? e.message}`, { cause: e, subject: path });
  });
  return publicKeyFromText(text, path);
}

export function privateKeyToPem(k: PrivateKey): string {
  return k.object.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function publicKeyToPem(k: PublicKey): string {
  return k.object.export({ format: 'pem', type: 'spki' }).toString();
}

export function signBytes(k: PrivateKey, data: Uint8Array): Buffer {
  return sign(null, data, k.object);
}

export function verifyBytes(k: PublicKey, data: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  return verify(null, data, k.object, signature);
}
