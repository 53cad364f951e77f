import { createHash } from 'node:crypto';
/** A small world of keys and signed statements for trust tests: a root, operators, builders. */
import type { BuildConfig } from '../../src/formats/build-config.js';
import type { Envelope } from '../../src/trust/dsse.js';
import { generateKey, type PrivateKey } from '../../src/trust/keys.js';
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

export class World {
  readonly root = generateKey();
  readonly certificates: Envelope[] = [];
  readonly revocations: Envelope[] = [];
  readonly attestations: Envelope[] = [];

  operator(name: string, opts: { builders?: number; from?: Date; to?: Date; issuer?: PrivateKey } = {}): Operator {
    const key = generateKey();
    const cert = signCertificate({ role: 'operator', name, subject: key.publicKey, notBefore: opts.from ?? at(0), notAfter: opts.to ?? at(365) }, opts.issuer ?? this.root);
    this.certificates.push(cert);
    const op: Operator = { name, key, cert, builders: [] };
    for (let i = 0; i < (opts.builders ?? 1); i++) this.builder(op);
    return op;
  }

  builder(op: Operator, opts: { from?: Date; to?: Date } = {}): PrivateKey {
    const key = generateKey();
    const cert = signCertificate({ role: 'builder', name: `${op.name}-b${op.builders.length + 1}`, subject: key.publicKey, notBefore: opts.from ?? at(0), notAfter: opts.to ?? at(365) }, op.key);
    this.certificates.push(cert);
    op.builders.push({ key, cert });
    return key;
  }

  attest(builder: PrivateKey, opts: { output?: string; time?: Date; cfg?: BuildConfig; kind?: 'build' | 'verify' | 'contribute' } = {}): Envelope {
    const env = signAttestation(
      { kind: opts.kind ?? 'build', buildConfig: opts.cfg ?? config(), outputDigest: opts.output ?? OUT_A, archive: { sha256: createHash('sha256').update(`archive of ${opts.output ?? OUT_A}`).digest('hex'), size: 1234, pieceRoot: 'd'.repeat(64) }, time: opts.time ?? at(10) },
      builder,
    );
    this.attestations.push(env);
    return env;
  }

  revoke(issuer: PrivateKey, subjectKeyId: string, time: Date): Envelope {
    const env = signRevocation({ subject: subjectKeyId, time, reason: 'test' }, issuer);
    this.revocations.push(env);
    return env;
  }
}
