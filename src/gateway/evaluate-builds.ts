/**
 * Re-evaluates trust for the builds a refresh touched, and only those. An
 * attestation's signature is verified the first time evaluation relies on
 * it (a batch on the verify pool's threads) and the verdict is kept in the
 * local state, so later refreshes never verify it again. An attestation
 * whose content does not match its index row is refused as ambiguous.
 */
import { isBinswarmError } from '../errors.js';
import type { Envelope } from '../trust/dsse.js';
import { evaluateTrust, type LoggedStatement } from '../trust/evaluate.js';
import type { Policy } from '../trust/policy.js';
import { openAttestations, type Attestation, type Opened } from '../trust/statements.js';
import type { VerifyPool } from '../trust/verify-pool.js';
import type { LocalDb, StoredStatement } from './local-db.js';

/** The statement as trust evaluation takes it: envelope, receipt time and position, from the verified leaf. */
function loggedOf(s: StoredStatement): LoggedStatement | undefined {
  try {
    const leaf = JSON.parse(s.leaf.toString('utf8')) as { envelope: Envelope; logTime: number };
    return { envelope: leaf.envelope, logTime: leaf.logTime, logIndex: s.idx };
  } catch {
    return undefined;
  }
}

export interface KeyStatements {
  certificates: LoggedStatement[];
  revocations: LoggedStatement[];
}

export function loadKeyStatements(db: LocalDb): KeyStatements {
  const out: KeyStatements = { certificates: [], revocations: [] };
  for (const s of db.keyStatements()) {
    const logged = loggedOf(s);
    if (logged) (s.kind === 2 ? out.certificates : out.revocations).push(logged);
  }
  return out;
}

/** Verifies (once) the signatures of these attestations; returns the envelopes known good. */
async function verifyOnce(db: LocalDb, rows: StoredStatement[], pool: VerifyPool): Promise<{ statements: LoggedStatement[]; good: Set<unknown>; opened: Map<unknown, Attestation>; verified: number }> {
  const opened = new Map<unknown, Attestation>();
  const all: LoggedStatement[] = [];
  const good = new Set<unknown>();
  const fresh: { row: StoredStatement; env: unknown }[] = [];
  for (const row of rows) {
    const logged = loggedOf(row);
    if (!logged) continue;
    all.push(logged);
    const env = logged.envelope;
    if (row.sig === 1) good.add(env);
    else if (row.sig === null) fresh.push({ row, env });
  }
  if (fresh.length > 0) {
    const results = await openAttestations(fresh.map((f) => f.env), pool);
    // The verdicts in one transaction (one commit, not one per statement).
    db.begin();
    try {
      results.forEach((o, i) => {
        const { row, env } = fresh[i]!;
        const ok = !isBinswarmError(o) && o.statement.buildKey === row.buildKey && o.signer === row.signer;
        db.setSignature(row.idx, ok);
        if (ok) {
          good.add(env);
          opened.set(env, (o as Opened<Attestation>).statement);
        }
      });
      db.commit();
    } catch (e) {
      db.rollback();
      throw e;
    }
  }
  // Only attestations whose signature verified take part: a forged one is simply not a statement.
  return { statements: all.filter((s) => good.has(s.envelope)), good, opened, verified: fresh.length };
}

export interface EvaluateOptions {
  policy: Policy;
  chost: string;
  pool: VerifyPool;
  now: Date;
  keys: KeyStatements;
  /** Builds per evaluation batch. */
  batch?: number;
}

/** Evaluates the given builds and stores each decision (not kept in memory: a first sync evaluates them all); returns counts. */
export async function evaluateBuilds(db: LocalDb, buildKeys: readonly string[], o: EvaluateOptions): Promise<{ evaluated: number; trusted: number; verified: number }> {
  let evaluated = 0;
  let trusted = 0;
  let verified = 0;
  // Each batch re-checks the certificate chains once: large batches, few re-checks.
  const step = o.batch ?? 10_000;
  for (let at = 0; at < buildKeys.length; at += step) {
    const chunk = buildKeys.slice(at, at + step);
    const v = await verifyOnce(db, db.attestationsOf(chunk), o.pool);
    verified += v.verified;
    const wanted = new Set(chunk);
    const rs = evaluateTrust({ attestations: v.statements, certificates: o.keys.certificates, revocations: o.keys.revocations, policy: o.policy, now: o.now, verified: v.good, opened: v.opened });
    db.begin();
    try {
      for (const r of rs) {
        if (!wanted.has(r.buildKey) || r.chost !== o.chost) continue;
        db.putBuild(r.buildKey, r.chost, r.status, JSON.stringify(r));
        evaluated += 1;
        if (r.status === 'trusted') trusted += 1;
      }
      db.commit();
    } catch (e) {
      db.rollback();
      throw e;
    }
  }
  return { evaluated, trusted, verified };
}
