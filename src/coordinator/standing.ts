/**
 * Is a key in good standing at the moment we log a statement of it? The
 * coordinator judges at its receipt time (the leaf's logTime), as every
 * client will: a key (or its operator) already revoked in the log, or
 * without a certificate valid at that moment, can sign what it likes and it
 * would count for nothing — so it is refused here with a typed error rather
 * than logged. Clients never rely on this check; they apply the same rule
 * from the log themselves (src/trust/evaluate.ts).
 */
import { BinswarmError } from '../errors.js';
import type { CertificateRecord, RevocationRecord, Store } from './store/types.js';

export type StandingErrorCode = 'KEY_REVOKED' | 'CERT_NOT_VALID';

function iso(t: number): string {
  return new Date(t).toISOString();
}

function short(id: string): string {
  return `${id.slice(0, 16)}…`;
}

/** Reads for one transaction's checks, cached per key (a batch is mostly one builder). */
export class Standing {
  private readonly certs = new Map<string, Promise<CertificateRecord[]>>();
  private readonly revs = new Map<string, Promise<RevocationRecord[]>>();

  constructor(
    private readonly store: Store,
    /** The receipt time every statement of this transaction is logged with. */
    readonly at: number,
  ) {}

  private certificatesOf(keyId: string): Promise<CertificateRecord[]> {
    let p = this.certs.get(keyId);
    if (!p) this.certs.set(keyId, (p = this.store.certificatesOf(keyId)));
    return p;
  }

  private revocationsOf(keyId: string): Promise<RevocationRecord[]> {
    let p = this.revs.get(keyId);
    if (!p) this.revs.set(keyId, (p = this.store.revocationsOf(keyId)));
    return p;
  }

  /** Every revocation in the store is already logged, so any one of them comes before what we log now. */
  async notRevoked(keyId: string, what: string): Promise<void> {
    const r = (await this.revocationsOf(keyId))[0];
    if (r) throw new BinswarmError<StandingErrorCode>('KEY_REVOKED', `${what} ${short(keyId)} was revoked (log index ${r.logIndex}, as of ${iso(r.time)}); nothing it signs counts any more`);
  }

  /** An operator key that is unrevoked and holds an operator certificate valid now. */
  async operator(keyId: string): Promise<void> {
    await this.notRevoked(keyId, 'operator key');
    const certs = (await this.certificatesOf(keyId)).filter((c) => c.role === 'operator');
    if (!certs.some((c) => c.notBefore <= this.at && this.at <= c.notAfter)) {
      throw new BinswarmError<StandingErrorCode>('CERT_NOT_VALID', `operator ${short(keyId)} has no operator certificate valid at ${iso(this.at)} (expired or not yet valid)`);
    }
  }

  /**
   * A builder key that is unrevoked and holds a builder certificate valid now
   * from an operator in good standing now. The caller has checked it has a
   * builder certificate at all (UNKNOWN_KEY otherwise).
   */
  async builder(keyId: string): Promise<void> {
    await this.notRevoked(keyId, 'builder key');
    const certs = (await this.certificatesOf(keyId)).filter((c) => c.role === 'builder');
    let why: BinswarmError | undefined;
    for (const c of certs) {
      if (c.notBefore > this.at || this.at > c.notAfter) {
        why ??= new BinswarmError<StandingErrorCode>('CERT_NOT_VALID', `builder certificate of ${short(keyId)} is valid ${iso(c.notBefore)} to ${iso(c.notAfter)}, not at ${iso(this.at)}`);
        continue;
      }
      try {
        await this.operator(c.issuer);
        return;
      } catch (e) {
        // A revoked operator explains more than an expired window of another certificate.
        if (!why || (e as BinswarmError).code === 'KEY_REVOKED') why = e as BinswarmError;
      }
    }
    throw why ?? new BinswarmError<StandingErrorCode>('CERT_NOT_VALID', `builder key ${short(keyId)} has no builder certificate`);
  }
}
