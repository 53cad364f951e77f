/**
 * Trust evaluation, a pure function of signed statements, the user's policy
 * and the time. A binary's trust level is the number of distinct *operators*
 * whose root-certified, unrevoked builder keys attested that exact output —
 * an absolute count: an operator that did not answer votes for nothing.
 * Every attestation gets a reason, counted or not, so users can see why.
 */
import type { Envelope } from './dsse.js';
import type { PublicKey } from './keys.js';
import { thresholdFor, type Policy, type Threshold } from './policy.js';
import { openAttestation, openCertificate, openRevocation, peekCertificate, peekRevocation, publicKeyOfRef, type Attestation, type Certificate } from './statements.js';

export type TrustStatus = 'trusted' | 'untrusted' | 'disputed' | 'opted-out';

export interface OperatorVote {
  keyId: string;
  name: string;
  builders: { keyId: string; name: string }[];
}

export interface OutputSupport {
  outputDigest: string;
  level: number;
  operators: OperatorVote[];
  archives: Attestation['archive'][];
}

export interface AttestationVerdict {
  builder: string;
  operator?: string;
  outputDigest?: string;
  kind?: string;
  time?: string;
  counted: boolean;
  reason: string;
}

export interface TrustResult {
  buildKey: string;
  configKey: string;
  cpv: string;
  chost: string;
  status: TrustStatus;
  /** Level of the output that would be served (the leader), 0 if none. */
  level: number;
  required: Threshold;
  /** The output a consumer may install when status is trusted. */
  outputDigest?: string;
  outputs: OutputSupport[];
  attestations: AttestationVerdict[];
  why: string;
}

export interface TrustInput {
  attestations: unknown[];
  certificates: unknown[];
  revocations: unknown[];
  policy: Pick<Policy, 'roots' | 'threshold' | 'overrides' | 'onDispute'>;
  now: Date;
}

/** How far a signer's own time may be ahead of its log time (clock skew). */
export const MAX_SIGNER_SKEW_MS = 5 * 60 * 1000;

interface ValidCert {
  cert: Certificate;
  key: PublicKey;
  from: number;
  to: number;
}

function within(c: ValidCert, t: number): boolean {
  return c.from <= t && t <= c.to;
}

function short(id: string): string {
  return id.slice(0, 12);
}

/** Certificates with a valid chain to a root, and revocation times per key. */
function chains(input: TrustInput): { operators: Map<string, ValidCert[]>; builders: Map<string, ValidCert[]>; revokedAt: Map<string, number> } {
  const roots = new Map(input.policy.roots.map((k) => [k.id, k]));
  const operators = new Map<string, ValidCert[]>();
  const builders = new Map<string, ValidCert[]>();
  const add = (m: Map<string, ValidCert[]>, c: Certificate) => {
    const key = publicKeyOfRef(c.subject);
    const list = m.get(key.id) ?? [];
    list.push({ cert: c, key, from: Date.parse(c.notBefore), to: Date.parse(c.notAfter) });
    m.set(key.id, list);
  };
  const pending: unknown[] = [];
  for (const env of input.certificates) {
    try {
      const claimed = peekCertificate(env);
      if (claimed.role !== 'operator') {
        pending.push(env);
        continue;
      }
      const { statement } = openCertificate(env, (id) => roots.get(id));
      add(operators, statement);
    } catch {
      // Not chained to one of this user's roots (or malformed): simply not a certificate for us.
    }
  }
  for (const env of pending) {
    try {
      const { statement } = openCertificate(env, (id) => operators.get(id)?.[0]?.key);
      // The issuing operator's certificate must have been valid when it certified this key.
      const issuer = operators.get(statement.issuer) ?? [];
      if (!issuer.some((o) => within(o, Date.parse(statement.notBefore)))) continue;
      add(builders, statement);
    } catch {
      // As above.
    }
  }
  const revokedAt = new Map<string, number>();
  for (const env of input.revocations) {
    try {
      const claimed = peekRevocation(env);
      // A root may revoke anything; an operator only the builder keys it certified.
      const mayRevoke = roots.has(claimed.issuer) || (builders.get(claimed.subject) ?? []).some((b) => b.cert.issuer === claimed.issuer);
      if (!mayRevoke) continue;
      const { statement } = openRevocation(env, (id) => roots.get(id) ?? operators.get(id)?.[0]?.key);
      const t = Date.parse(statement.time);
      revokedAt.set(statement.subject, Math.min(t, revokedAt.get(statement.subject) ?? Infinity));
    } catch {
      // Ignored: unsigned or by someone without authority over the subject.
    }
  }
  return { operators, builders, revokedAt };
}

interface Counted {
  statement: Attestation;
  operator: ValidCert;
  builder: ValidCert;
}

function judge(env: unknown, ctx: ReturnType<typeof chains>, now: number): { verdict: AttestationVerdict; counted?: Counted; statement?: Attestation } {
  let statement: Attestation;
  try {
    statement = openAttestation(env).statement;
  } catch (e) {
    return { verdict: { builder: '?', counted: false, reason: `invalid attestation: ${(e as Error).message}` } };
  }
  const base = { builder: statement.builder.keyId, outputDigest: statement.outputDigest, kind: statement.kind, time: statement.time };
  const t = Date.parse(statement.time);
  const no = (reason: string, operator?: string) => ({ verdict: { ...base, operator, counted: false, reason }, statement });
  if (t > now + MAX_SIGNER_SKEW_MS) return no(`attestation time ${statement.time} is in the future`);
  const bcerts = ctx.builders.get(statement.builder.keyId) ?? [];
  if (bcerts.length === 0) return no(`builder key ${short(statement.builder.keyId)} is not certified by an operator chained to your roots`);
  const bcert = bcerts.find((b) => within(b, t));
  if (!bcert) return no(`builder certificate not valid at ${statement.time} (expired or not yet valid)`);
  const op = (ctx.operators.get(bcert.cert.issuer) ?? []).find((o) => within(o, t));
  if (!op) return no(`operator certificate of ${short(bcert.cert.issuer)} not valid at ${statement.time}`);
  const opName = op.cert.name;
  const br = ctx.revokedAt.get(bcert.key.id);
  if (br !== undefined && t >= br) return no(`builder key revoked at ${new Date(br).toISOString()}, attestation made after`, opName);
  const or = ctx.revokedAt.get(op.key.id);
  if (or !== undefined && t >= or) return no(`operator ${opName} revoked at ${new Date(or).toISOString()}, attestation made after`, opName);
  return {
    verdict: { ...base, operator: opName, counted: true, reason: `counted for operator ${opName} (builder ${bcert.cert.name})` },
    counted: { statement, operator: op, builder: bcert },
    statement,
  };
}

export function evaluateTrust(input: TrustInput): TrustResult[] {
  const ctx = chains(input);
  const now = input.now.getTime();
  const groups = new Map<string, { first: Attestation; verdicts: AttestationVerdict[]; counted: Counted[] }>();
  const orphans: AttestationVerdict[] = [];
  for (const env of input.attestations) {
    const { verdict, counted, statement } = judge(env, ctx, now);
    if (!statement) {
      orphans.push(verdict);
      continue;
    }
    const g = groups.get(statement.buildKey) ?? { first: statement, verdicts: [], counted: [] };
    g.verdicts.push(verdict);
    if (counted) g.counted.push(counted);
    groups.set(statement.buildKey, g);
  }
  const results: TrustResult[] = [];
  for (const [buildKey, g] of groups) results.push(decide(buildKey, g, input.policy));
  return results.sort((a, b) => a.cpv.localeCompare(b.cpv) || a.buildKey.localeCompare(b.buildKey));
}

function decide(buildKey: string, g: { first: Attestation; verdicts: AttestationVerdict[]; counted: Counted[] }, policy: TrustInput['policy']): TrustResult {
  const byOutput = new Map<string, { ops: Map<string, OperatorVote>; archives: Map<string, Attestation['archive']> }>();
  for (const c of g.counted) {
    const o = byOutput.get(c.statement.outputDigest) ?? { ops: new Map<string, OperatorVote>(), archives: new Map<string, Attestation["archive"]>() };
    const vote: OperatorVote = o.ops.get(c.operator.key.id) ?? { keyId: c.operator.key.id, name: c.operator.cert.name, builders: [] };
    if (!vote.builders.some((b) => b.keyId === c.builder.key.id)) vote.builders.push({ keyId: c.builder.key.id, name: c.builder.cert.name });
    o.ops.set(c.operator.key.id, vote);
    o.archives.set(c.statement.archive.sha256, c.statement.archive);
    byOutput.set(c.statement.outputDigest, o);
  }
  const outputs: OutputSupport[] = [...byOutput]
    .map(([outputDigest, o]) => ({ outputDigest, level: o.ops.size, operators: [...o.ops.values()], archives: [...o.archives.values()] }))
    .sort((a, b) => b.level - a.level || a.outputDigest.localeCompare(b.outputDigest));
  const required = thresholdFor(policy, g.first.cpv);
  const leader = outputs[0];
  const level = leader?.level ?? 0;
  const base = { buildKey, configKey: g.first.configKey, cpv: g.first.cpv, chost: g.first.buildConfig.chost, level, required, outputs, attestations: g.verdicts };
  if (required === 'never') return { ...base, status: 'opted-out', why: 'your policy never accepts binaries for this package' };
  if (outputs.length > 1) {
    const second = outputs[1]!.level;
    if (policy.onDispute === 'majority' && level >= required && level - second >= required) {
      return { ...base, status: 'trusted', outputDigest: leader!.outputDigest, why: `disputed, but ${level} operators agree against ${second} (majority needs ≥${required} and a lead of ≥${required})` };
    }
    const rule = policy.onDispute === 'majority' ? `majority needs ≥${required} operators and a lead of ≥${required}` : 'on-dispute = "reject"';
    return { ...base, status: 'disputed', why: `operators disagree: ${outputs.map((o) => `${o.level} for ${short(o.outputDigest)}`).join(' vs ')}; ${rule}` };
  }
  if (level >= required) return { ...base, status: 'trusted', outputDigest: leader!.outputDigest, why: `${level} independent operator(s) agree; you require ${required}` };
  return { ...base, status: 'untrusted', why: `${level} independent operator(s) agree; you require ${required}` };
}

export type { Envelope };
