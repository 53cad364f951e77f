import { createHash } from 'node:crypto';
/** A small world of keys and signed statements for trust tests: a root, operators, builders. */
import type { BuildConfig } from '../../src/formats/build-config.js';
import type { Envelope } from '../../src/trust/dsse.js';
import { generateKey, type PrivateKey } from '../../src/trust/keys.js';
import type { LoggedStatement } from '../../src/trust/log-time.js';
import { signAttestation, signCertificate, signRevocation } from '../../src/trust/statements.js';

export const T0 = new Date('2026-01-01T00:00:00Z');
export const DAY = 86_400_000;
export const at = (days: number) => new Date(T0.getTime() + days * DAY);

export function config(cpv = 'app-misc/hello-1.0', extra: Partial<BuildConfig> = {}): BuildConfig {
  return { v: 1, cpv, repo: 'gentoo', ebuild: 'e'.repeat(64), eclasses: [], eapi: '8', chost: 'x86_64-pc-linux-gnu', arch: 'amd64', use: ['nls'], cflags: '-O2 -pipe', cxxflags: '-O2 -pipe', ldflags: '', features: [], installMask: '', depAbi: [], ...extra };
}

export const OUT_A = 'a'.repeat(64);
export const OUT_B = 'b'.repeat(64);

export interface Operator {
  name: string;
  key: PrivateKey;
  cert: Envelope;
  builders: { key: PrivateKey; cert: Envelope }[];
}

type Kind = 'certificate' | 'revocation' | 'attestation';

/**
 * Statements are also appended to a simulated log: each gets the next index
 * and a receipt time (by default its own time — notBefore for a
 * certificate — unless `logAt` says otherwise).
 */
export class World {
  readonly root = generateKey();
  readonly certificates: Envelope[] = [];
  readonly revocations: Envelope[] = [];
  readonly attestations: Envelope[] = [];
  readonly log: (LoggedStatement & { kind: Kind; logTime: number; logIndex: number })[] = [];

  private logged(kind: Kind, envelope: Envelope, logTime: Date): void {
    this.log.push({ kind, envelope, logTime: logTime.getTime(), logIndex: this.log.length });
  }

  /** The logged statements of one kind, with their log times and indices. */
  entries(kind: Kind): LoggedStatement[] {
    return this.log.filter((e) => e.kind === kind).map(({ envelope, logTime, logIndex }) => ({ envelope, logTime, logIndex }));
  }

  operator(name: string, opts: { builders?: number; from?: Date; to?: Date; issuer?: PrivateKey } = {}): Operator {
    const key = generateKey();
    const cert = signCertificate({ role: 'operator', name, subject: key.publicKey, notBefore: opts.from ?? at(0), notAfter: opts.to ?? at(365) }, opts.issuer ?? this.root);
    this.certificates.push(cert);
    this.logged('certificate', cert, opts.from ?? at(0));
    const op: Operator = { name, key, cert, builders: [] };
    for (let i = 0; i < (opts.builders ?? 1); i++) this.builder(op);
    return op;
  }

  builder(op: Operator, opts: { from?: Date; to?: Date; logAt?: Date } = {}): PrivateKey {
    const key = generateKey();
    const cert = signCertificate({ role: 'builder', name: `${op.name}-b${op.builders.length + 1}`, subject: key.publicKey, notBefore: opts.from ?? at(0), notAfter: opts.to ?? at(365) }, op.key);
    this.certificates.push(cert);
    this.logged('certificate', cert, opts.logAt ?? opts.from ?? at(0));
    op.builders.push({ key, cert });
    return key;
  }

  attest(builder: PrivateKey, opts: { output?: string; time?: Date; logAt?: Date; cfg?: BuildConfig; kind?: 'build' | 'verify' | 'contribute' } = {}): Envelope {
    const env = signAttestation(
      { kind: opts.kind ?? 'build', buildConfig: opts.cfg ?? config(), outputDigest: opts.output ?? OUT_A, archive: { sha256: createHash('sha256').update(`archive of ${opts.output ?? OUT_A}`).digest('hex'), size: 1234, pieceRoot: 'd'.repeat(64) }, time: opts.time ?? at(10) },
      builder,
    );
    this.attestations.push(env);
    this.logged('attestation', env, opts.logAt ?? opts.time ?? at(10));
    return env;
  }

  revoke(issuer: PrivateKey, subjectKeyId: string, time: Date, logAt?: Date): Envelope {
    const env = signRevocation({ subject: subjectKeyId, time, reason: 'test' }, issuer);
    this.revocations.push(env);
    this.logged('revocation', env, logAt ?? time);
    return env;
  }
}
