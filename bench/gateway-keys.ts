/** Key helpers for the gateway bench child. */
import { publicKeyFromRaw, type PublicKey } from '../src/trust/keys.js';

const cache = new Map<string, PublicKey>();

export function publicKeyOfRefUnchecked(ref: { publicKey: string }): PublicKey {
  let k = cache.get(ref.publicKey);
  if (!k) cache.set(ref.publicKey, (k = publicKeyFromRaw(Buffer.from(ref.publicKey, 'base64'))));
  return k;
}
