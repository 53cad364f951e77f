/**
 * Trust evaluation, a pure function of logged statements, the user's policy
 * and the time. A binary's trust level is the number of distinct *operators*
 * whose root-certified, unrevoked builder keys attested that exact output —
 * an absolute count: an operator that did not answer votes for nothing.
 * Revocation and certificate validity are judged at each statement's log
 * time (see log-time.ts), the signer's own time only within that. Every
 * attestation gets a reason, counted or not, with both times and which one
 * decided, so users can see why.
 */
import type { Envelope } from './dsse.js';
import type { PublicKey } from './keys.js';
import { describePosition, iso, MAX_SIGNER_SKEW_MS, positionOf, revokedFor, type DecidingTime, type LoggedStatement, type LogPosition, type RevocationEntry } from './log-time.js';
import { thresholdFor, type Policy, type Threshold } from './policy.js';
import { openAttestation, openVerifiedAttestation, openCertificate, openRevocation, peekCertificate, peekRevocation, publicKeyOfRef, type Attestation, type Certificate } from './statements.js';

export { MAX_SIGNER_SKEW_MS, type LoggedStatement } from './log-time.js';

export type TrustStatus = 'trusted' | 'untrusted' | 'disputed' | 'opted-out';

/** What evaluation reads of an attestation (an opened one may carry just this). */
export type AttestationFacts = Pick<Attestation, 'builder' | 'kind' | 'cpv' | 'buildKey' | 'configKey' | 'outputDigest' | 'archive' | 'time'> & {
  buildConfig: Pick<Attestation['buildConfig'], 'chost' | 'installMask'>;
};

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
  /** The signer's own time (what it claims). */
  time?: string;
  /** The log's receipt time: what revocation and certificate validity are judged at. */
  logTime: string;
  logIndex?: number;
  /** 'log' when logTime is the leaf's; 'now' for an envelope not from a log, taken as logged at the evaluation time. */
  logTimeFrom: 'log' | 'now';
  /** Which time decided the verdict. */
  decidedBy: DecidingTime;
  counted: boolean;
  reason: string;
}

export interface TrustResult {
  buildKey: string;
  configKey: string;
  cpv: string;
  chost: string;
  /** The build's INSTALL_MASK (signed, in the build config): which install variant it is (issue 14). */
  installMask?: string;
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
  attestations: LoggedStatement[];
  certificates: LoggedStatement[];
  revocations: LoggedStatement[];
  policy: Pick<Policy, 'roots' | 'threshold' | 'overrides' | 'onDispute'>;
  now: Date;
  /** Attestation envelopes (by identity) whose signatures the caller verified already: not verified again. */
  verified?: ReadonlySet<unknown>;
  /** Attestations the caller opened (schema, signature) already, by envelope identity: taken as they are. */
  opened?: ReadonlyMap<unknown, AttestationFacts>;
}

interface ValidCert {
  cert: Certificate;
  key: PublicKey;
  from: number;
  to: number;
  at: LogPosition;
}

function within(c: ValidCert, t: number): boolean {
  return c.from <= t && t <= c.to;
}

function short(id: string): string {
  return id.slice(0, 12);
}

/** The certificate chains and revocations of one evaluation, reusable across batches of attestations. */
export type TrustContext = Chains;

interface Chains {
  operators: Map<string, ValidCert[]>;
  builders: Map<string, ValidCert[]>;
  revocations: Map<string, RevocationEntry[]>;
}

/** Certificates with a valid chain to a root, and the revocations that have authority over their key. */
function chains(input: Pick<TrustInput, 'certificates' | 'revocations' | 'policy'>, now: number): Chains {
  const roots = new Map(input.policy.roots.map((k) => [k.id, k]));
  const operators = new Map<string, ValidCert[]>();
  const builders = new Map<string, ValidCert[]>();
  const add = (m: Map<string, ValidCert[]>, c: Certificate, at: LogPosition) => {
    const key = publicKeyOfRef(c.subject);
    const list = m.get(key.id) ?? [];
    list.push({ cert: c, key, from: Date.parse(c.notBefore), to: Date.parse(c.notAfter), at });
    m.set(key.id, list);
  };
  const pending: LoggedStatement[] = [];
  for (const s of input.certificates) {
    try {
      const claimed = peekCertificate(s.envelope);
      if (claimed.role !== 'operator') {
        pending.push(s);
        continue;
      }
      const { statement } = openCertificate(s.envelope, (id) => roots.get(id));
      add(operators, statement, positionOf(s, now));
    } catch {
      // Not chained to one of this user's roots (or malformed): simply not a certificate for us.
    }
  }
  for (const s of pending) {
    try {
      const { statement } = openCertificate(s.envelope, (id) => operators.get(id)?.[0]?.key);
      // The issuing operator's certificate must have been valid when this one was logged.
      const at = positionOf(s, now);
      const issuer = operators.get(statement.issuer) ?? [];
      if (!issuer.some((o) => within(o, at.logTime))) continue;
      add(builders, statement, at);
    } catch {
      // As above.
    }
  }
  const revocations = new Map<string, RevocationEntry[]>();
  for (const s of input.revocations) {
    try {
      const claimed = peekRevocation(s.envelope);
      // A root may revoke anything; an operator only the builder keys it certified.
      const mayRevoke = roots.has(claimed.issuer) || (builders.get(claimed.subject) ?? []).some((b) => b.cert.issuer === claimed.issuer);
      if (!mayRevoke) continue;
      const { statement } = openRevocation(s.envelope, (id) => roots.get(id) ?? operators.get(id)?.[0]?.key);
      const list = revocations.get(statement.subject) ?? [];
      list.push({ subject: statement.subject, time: Date.parse(statement.time), at: positionOf(s, now) });
      revocations.set(statement.subject, list);
    } catch {
      // Ignored: unsigned or by someone without authority over the subject.
    }
  }
  return { operators, builders, revocations };
}

interface Counted {
  statement: AttestationFacts;
  operator: ValidCert;
  builder: ValidCert;
}

type Judged = { verdict: AttestationVerdict; counted?: Counted; statement?: AttestationFacts };

function judge(s: LoggedStatement, ctx: Chains, now: number, verified?: ReadonlySet<unknown>, opened?: ReadonlyMap<unknown, AttestationFacts>): Judged {
  const at = positionOf(s, now);
  const where = { logTime: iso(at.logTime), logIndex: at.logIndex, logTimeFrom: at.fromLog ? ('log' as const) : ('now' as const) };
  let statement: AttestationFacts;
  try {
    statement = opened?.get(s.envelope) ?? (verified?.has(s.envelope) ? openVerifiedAttestation(s.envelope) : openAttestation(s.envelope).statement);
  } catch (e) {
    return { verdict: { builder: '?', ...where, decidedBy: 'log-time', counted: false, reason: `invalid attestation: ${(e as Error).message}` } };
  }
  const base = { builder: statement.builder.keyId, outputDigest: statement.outputDigest, kind: statement.kind, time: statement.time, ...where };
  const t = Date.parse(statement.time);
  const L = at.logTime;
  const no = (decidedBy: DecidingTime, reason: string, operator?: string): Judged => ({ verdict: { ...base, operator, decidedBy, counted: false, reason }, statement });
  if (L > now + MAX_SIGNER_SKEW_MS) return no('log-time', `logged at ${iso(L)}, after the evaluation time ${iso(now)}`);
  if (t > L + MAX_SIGNER_SKEW_MS) return no('own-time', `its own time ${statement.time} is after its log time ${iso(L)} by more than ${MAX_SIGNER_SKEW_MS / 1000} s`);
  const bcerts = ctx.builders.get(statement.builder.keyId) ?? [];
  if (bcerts.length === 0) return no('log-time', `builder key ${short(statement.builder.keyId)} is not certified by an operator chained to your roots`);
  const inWindow = bcerts.filter((b) => within(b, L));
  if (inWindow.length === 0) return no('log-time', `builder certificate not valid at log time ${iso(L)} (expired or not yet valid; own time ${statement.time} does not matter)`);
  // A builder certificate issued with an operator key revoked by then certifies nothing.
  const live = inWindow.filter((b) => !revokedFor(ctx.revocations.get(b.cert.issuer) ?? [], b.from, b.at));
  if (live.length === 0) {
    const r = revokedFor(ctx.revocations.get(inWindow[0]!.cert.issuer) ?? [], inWindow[0]!.from, inWindow[0]!.at)!;
    return no(r.decidedBy, `builder certificate void: its issuing operator ${short(inWindow[0]!.cert.issuer)} was revoked: ${r.why}`);
  }
  let bcert: ValidCert | undefined;
  let op: ValidCert | undefined;
  for (const b of live) {
    op = (ctx.operators.get(b.cert.issuer) ?? []).find((o) => within(o, L));
    if (op) {
      bcert = b;
      break;
    }
  }
  if (!bcert || !op) return no('log-time', `operator certificate of ${short(live[0]!.cert.issuer)} not valid at log time ${iso(L)}`);
  const opName = op.cert.name;
  const br = revokedFor(ctx.revocations.get(bcert.key.id) ?? [], t, at);
  if (br) return no(br.decidedBy, `builder key revoked: ${br.why}`, opName);
  const or = revokedFor(ctx.revocations.get(op.key.id) ?? [], t, at);
  if (or) return no(or.decidedBy, `operator ${opName} revoked: ${or.why}`, opName);
  return {
    verdict: { ...base, operator: opName, decidedBy: 'log-time', counted: true, reason: `counted for operator ${opName} (builder ${bcert.cert.name}); certificates and revocations judged at ${describePosition(at)}` },
    counted: { statement, operator: op, builder: bcert },
    statement,
  };
}

/** Opens the certificates and revocations once, for evaluating many batches of attestations at the same `now`. */
export function trustContext(input: Pick<TrustInput, 'certificates' | 'revocations' | 'policy' | 'now'>): TrustContext {
  return chains(input, input.now.getTime());
}

/** `ctx` (from trustContext over the same certificates, revocations, policy and now) saves re-opening them. */
export function evaluateTrust(input: TrustInput, ctx: TrustContext = trustContext(input)): TrustResult[] {
  const now = input.now.getTime();
  const groups = new Map<string, { first: AttestationFacts; verdicts: AttestationVerdict[]; counted: Counted[] }>();
  const orphans: AttestationVerdict[] = [];
  for (const s of input.attestations) {
    const { verdict, counted, statement } = judge(s, ctx, now, input.verified, input.opened);
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

function decide(buildKey: string, g: { first: AttestationFacts; verdicts: AttestationVerdict[]; counted: Counted[] }, policy: TrustInput['policy']): TrustResult {
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
  const base = { buildKey, configKey: g.first.configKey, cpv: g.first.cpv, chost: g.first.buildConfig.chost, installMask: g.first.buildConfig.installMask, level, required, outputs, attestations: g.verdicts };
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
