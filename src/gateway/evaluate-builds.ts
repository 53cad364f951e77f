/**
 * Re-evaluates trust for the builds a refresh touched, and only those. An
 * attestation's signature is verified the first time evaluation relies on
 * it and the verdict is kept in the local state, so later refreshes never
 * verify it again. Opening the leaves (schema, buildKey, signature) runs on
 * the attestation pool, batches ahead of the one this thread evaluates. An
 * attestation whose content does not match its index row is refused as
 * ambiguous.
 */
import type { Envelope } from '../trust/dsse.js';
import { evaluateTrust, trustContext, type AttestationFacts, type LoggedStatement } from '../trust/evaluate.js';
import type { Policy } from '../trust/policy.js';
import type { AttestationPool } from './attestation-pool.js';
import type { LeafVerdict } from './open-leaf.js';
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

/** The rows of one batch being opened on the pool: each signature verified once, everything else checked each time. */
interface Opening {
  chunk: readonly string[];
  rows: StoredStatement[];
  verdicts: Promise<LeafVerdict[]>;
}

function startOpening(db: LocalDb, chunk: readonly string[], pool: AttestationPool): Opening {
  // A statement whose signature failed before is not a statement: not even opened.
  const rows = db.attestationsOf([...chunk]).filter((r) => r.sig !== 0);
  return { chunk, rows, verdicts: pool.open(rows.map((r) => ({ leaf: r.leaf, verify: r.sig === null }))) };
}

/**
 * Inside a transaction: keeps the verdicts of first-time signature checks;
 * returns the attestations that take part (a forged one is simply not a
 * statement), opened, keyed by an identity object of their own.
 */
function recordVerdicts(db: LocalDb, rows: StoredStatement[], verdicts: LeafVerdict[]): { statements: LoggedStatement[]; opened: Map<unknown, AttestationFacts>; verified: number } {
  const statements: LoggedStatement[] = [];
  const opened = new Map<unknown, AttestationFacts>();
  let verified = 0;
  rows.forEach((row, i) => {
    const v = verdicts[i]!;
    if ('skip' in v) return;
    if (row.sig === null) {
      verified += 1;
      // The statement must be the one its index row says (buildKey, signer): anything else is ambiguous.
      const ok = 'statement' in v && v.statement.buildKey === row.buildKey && v.signer === row.signer;
      db.setSignature(row.idx, ok);
      if (!ok) return;
    }
    if (!('statement' in v)) return;
    const id = {};
    statements.push({ envelope: id, logTime: v.logTime, logIndex: row.idx });
    opened.set(id, v.statement);
  });
  return { statements, opened, verified };
}

export interface EvaluateOptions {
  policy: Policy;
  chost: string;
  pool: AttestationPool;
  now: Date;
  keys: KeyStatements;
  /** Builds per evaluation batch (the certificate chains are opened once for all). */
  batch?: number;
}

/** Batches opened ahead of the one being evaluated, so the pool's threads never wait for this one. */
const AHEAD = 4;

/** Evaluates the given builds and stores each decision (not kept in memory: a first sync evaluates them all); returns counts. */
export async function evaluateBuilds(db: LocalDb, buildKeys: readonly string[], o: EvaluateOptions): Promise<{ evaluated: number; trusted: number; verified: number }> {
  let evaluated = 0;
  let trusted = 0;
  let verified = 0;
  // The certificate chains are opened once for all batches.
  const ctx = trustContext({ certificates: o.keys.certificates, revocations: o.keys.revocations, policy: o.policy, now: o.now });
  const step = o.batch ?? 1000;
  const ahead: Opening[] = [];
  let next = 0;
  const refill = () => {
    for (; ahead.length < AHEAD && next < buildKeys.length; next += step) ahead.push(startOpening(db, buildKeys.slice(next, next + step), o.pool));
  };
  refill();
  while (ahead.length > 0) {
    const { chunk, rows, verdicts } = ahead.shift()!;
    const opened = await verdicts;
    refill();
    const wanted = new Set(chunk);
    db.begin();
    try {
      const v = recordVerdicts(db, rows, opened);
      verified += v.verified;
      const rs = evaluateTrust({ attestations: v.statements, certificates: o.keys.certificates, revocations: o.keys.revocations, policy: o.policy, now: o.now, opened: v.opened }, ctx);
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
