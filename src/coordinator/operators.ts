/**
 * Which operator a builder key belongs to, from the certificate chain the
 * coordinator already logged: root → operator certificate → builder
 * certificate. Only certified, unexpired, unrevoked builders take jobs, and
 * "another operator" is decided on these ids, never on what a builder says.
 */
import { BinswarmError } from '../errors.js';
import type { Store } from './store/types.js';

export type OperatorErrorCode = 'NOT_CERTIFIED';

export interface BuilderIdentity {
  builder: string;
  operator: string;
  operatorName: string;
}

/** The operator of `keyId` at `now`, or undefined when no valid chain exists. */
export async function builderIdentity(store: Store, keyId: string, now: number): Promise<BuilderIdentity | undefined> {
  // Every revocation in the store is already logged, so it applies now (as in standing.ts).
  const revoked = async (subject: string) => (await store.revocationsOf(subject)).length > 0;
  for (const cert of await store.certificatesOf(keyId)) {
    if (cert.role !== 'builder' || cert.notBefore > now || cert.notAfter < now) continue;
    // The ingest only accepts builder certificates issued by a certified operator.
    const op = (await store.certificatesOf(cert.issuer)).find((o) => o.role === 'operator' && o.notBefore <= now && o.notAfter >= now);
    if (!op || (await revoked(keyId)) || (await revoked(op.subject))) continue;
    return { builder: keyId, operator: op.subject, operatorName: op.name };
  }
  return undefined;
}

export async function requireBuilder(store: Store, keyId: string, now: number): Promise<BuilderIdentity> {
  const id = await builderIdentity(store, keyId, now);
  if (!id) throw new BinswarmError<OperatorErrorCode>('NOT_CERTIFIED', 'this key has no valid builder certificate from a certified operator; submit your certificates first');
  return id;
}

/** Operators of a set of signer keys (uncertified signers are left out: they are nobody's independent evidence). */
export async function operatorsOf(store: Store, signers: Iterable<string>, now: number, cache = new Map<string, string | null>()): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const s of signers) {
    let op = cache.get(s);
    if (op === undefined) {
      op = (await builderIdentity(store, s, now))?.operator ?? null;
      cache.set(s, op);
    }
    if (op) out.set(s, op);
  }
  return out;
}
