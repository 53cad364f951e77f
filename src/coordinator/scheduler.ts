/**
 * The scheduler's pure core: demand decay, priority, how many verify jobs a
 * build still needs, and the words the queue shows. No I/O, no clock: the
 * store-backed queue (scheduler-queue.ts) passes `now` in.
 *
 * Demand decays exponentially with a half-life, kept in log2 "forward decay"
 * form: a peer that last asked at time t contributes 2^((t − epoch)/H), and a
 * config's score S = log2 Σ of its peers' contributions. The demand at time
 * now is 2^(S − (now − epoch)/H): every config decays by the same factor, so
 * the order of the queue does not change as time passes and nothing has to
 * be recomputed until a config's own demand (or its package's cost) changes.
 * Logs keep the numbers finite for any clock.
 */
import type { JobKind, JobState } from '../api/v1.js';

/** A verification makes an existing output usable; a build only starts that. */
export const KIND_WEIGHT: Readonly<Record<JobKind, number>> = { build: 1, verify: 2, 'abi-rebuild': 1.5 };
/** Expected seconds for a package never built here. */
export const DEFAULT_COST_SECONDS = 600;

export interface DecayOptions {
  halfLifeMs: number;
  /** Any fixed instant; only differences to it matter. */
  epoch: number;
}

export const DEFAULT_DECAY: DecayOptions = { halfLifeMs: 14 * 86_400_000, epoch: Date.UTC(2026, 0, 1) };

/** log2 of one peer's contribution when it last asked at `t`. */
export function contribution(t: number, o: DecayOptions): number {
  return (t - o.epoch) / o.halfLifeMs;
}

/** log2(2^a + 2^b) without overflow. */
export function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log2(2 ** (a - m) + 2 ** (b - m));
}

/**
 * The score after one peer's contribution moves from `old` (undefined: the
 * peer is new for this config) to `now`. One peer counts once however often
 * it submits: its old contribution is replaced, never added to.
 */
export function rescore(score: number, old: number | undefined, next: number): number {
  if (old === undefined) return logAdd(score, next);
  if (old >= next) return score;
  // S' = log2(2^S − 2^old + 2^next), computed relative to S (2^old ≤ 2^S).
  const rest = 1 - 2 ** (old - score);
  const base = rest <= 1e-12 ? -Infinity : score + Math.log2(rest);
  return logAdd(base, next);
}

/** Decayed number of peers at `now` for a score. */
export function demandAt(score: number, now: number, o: DecayOptions): number {
  return 2 ** (score - contribution(now, o));
}

export function expectedCost(bt: { seconds: number; builds: number } | undefined): number {
  return bt && bt.builds > 0 ? Math.max(1, bt.seconds / bt.builds) : DEFAULT_COST_SECONDS;
}

/** log2 of demand × kind weight ÷ expected cost (what the queue index orders by). */
export function logPriority(score: number, weight: number, cost: number): number {
  return score + Math.log2(weight) - Math.log2(cost);
}

/** The priority as people read it: decayed demand × weight ÷ cost seconds, at `now`. */
export function priorityAt(logP: number, now: number, o: DecayOptions): number {
  return 2 ** (logP - contribution(now, o));
}

/** `cat/pkg-1.0-r1` → `cat/pkg` (build times are kept per package, not per version). */
export function pkgOf(cpv: string): string {
  const m = /^(.+?)-[0-9][^/]*$/.exec(cpv);
  return m ? m[1]! : cpv;
}

export interface VerifyInput {
  /** Per attested output, in order of first attestation: the distinct certified operators that produced it. */
  outputs: { outputDigest: string; operators: string[] }[];
  /** Verify jobs queued or leased for this build now. */
  open: number;
  /** Verify jobs ever created for this build. */
  total: number;
  /** Distinct operators that must agree (the highest threshold any policy asks). */
  target: number;
}

export interface VerifyPlan {
  /** New verify jobs to queue. */
  needed: number;
  /** The output they re-build against (the best-supported one). */
  target: string | undefined;
  /** Enough operators agree and nobody disagrees: queued verify jobs may stop. */
  met: boolean;
  disputed: boolean;
}

/** How many more verify jobs a build needs. A dispute asks for one more operator than the target; at most 3 × target jobs per build. */
export function verifyPlan(v: VerifyInput): VerifyPlan {
  if (v.outputs.length === 0) return { needed: 0, target: undefined, met: false, disputed: false };
  let best = v.outputs[0]!;
  for (const o of v.outputs) if (o.operators.length > best.operators.length) best = o;
  const disputed = v.outputs.length > 1;
  const want = disputed ? v.target + 1 : v.target;
  const met = !disputed && best.operators.length >= v.target;
  const room = Math.max(0, 3 * v.target - v.total);
  const needed = met ? 0 : Math.min(room, Math.max(0, want - best.operators.length - v.open));
  return { needed, target: best.outputDigest, met, disputed };
}

export interface WhyInput {
  kind: JobKind;
  state: JobState;
  /** '' open to any builder, '-' verify job waiting for assignment, else the assigned builder. */
  pool: string;
  chost: string;
  holder: string | null;
  leaseExpiresAt: number | null;
  note: string;
  demand: number;
}

const short = (k: string) => k.slice(0, 12);

/** Why a job is where it is, for the queue listing. */
export function whyOf(j: WhyInput): string {
  const tail = j.note ? `; ${j.note}` : '';
  const demand = `demand ${j.demand.toFixed(2)} peer(s)`;
  switch (j.state) {
    case 'queued':
      if (j.pool === '') return `waiting for a ${j.chost} builder (${demand})${tail}`;
      if (j.pool === '-') return `waiting to be assigned to an active ${j.chost} builder of an operator that has not built it (${demand})${tail}`;
      return `assigned to builder ${short(j.pool)}; waiting for it to lease (${demand})${tail}`;
    case 'leased':
      return `leased by builder ${short(j.holder ?? '')} until ${new Date(j.leaseExpiresAt ?? 0).toISOString()}${tail}`;
    default:
      return j.note || j.state;
  }
}
