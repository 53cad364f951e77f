/**
 * Assigned cross-verification. After a build is attested the coordinator
 * queues verify jobs until `verifyTarget` distinct operators agree on one
 * output (a dispute asks for more), and hands each to a builder it picks at
 * random among the active builders of operators that have not built it —
 * a builder can neither verify its own operator's output nor choose what it
 * verifies.
 */
import type { JobSpec } from '../api/v1.js';
import type { BuildConfig } from '../formats/build-config.js';
import { operatorsOf } from './operators.js';
import { expectedCost, KIND_WEIGHT, logPriority, pkgOf, verifyPlan } from './scheduler.js';
import type { JobRow } from './store/scheduler-store.js';
import type { Store } from './store/types.js';

const DISPUTE_NOTE = 'outputs disagree';

export interface VerifyContext {
  store: Store;
  now: number;
  verifyTarget: number;
  activeWindowMs: number;
  rng: () => number;
}

export function specOf(c: BuildConfig): JobSpec {
  return { cpv: c.cpv, repo: c.repo, chost: c.chost, arch: c.arch, use: c.use, cflags: c.cflags, cxxflags: c.cxxflags, ldflags: c.ldflags, features: c.features, installMask: c.installMask, ebuild: c.ebuild, eclasses: c.eclasses, eapi: c.eapi };
}

function configOfEnvelope(envelope: string): BuildConfig {
  const env = JSON.parse(envelope) as { payload: string };
  return (JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')) as { buildConfig: BuildConfig }).buildConfig;
}

/** Operators that must not verify this build: those that attested it, and those already holding one of its verify jobs. */
async function excludedOperators(c: VerifyContext, buildKey: string, cache: Map<string, string | null>): Promise<Set<string>> {
  const s = c.store.scheduler;
  const atts = await c.store.queryAttestations({ buildKey, limit: 5000 });
  const out = new Set((await operatorsOf(c.store, atts.map((a) => a.signer), c.now, cache)).values());
  for (const j of await s.jobsOfBuild(buildKey, 'verify')) {
    for (const k of [j.holder, j.pool.length === 64 ? j.pool : null]) {
      const op = k ? await s.operatorOfBuilder(k) : undefined;
      if (op) out.add(op);
    }
  }
  return out;
}

/** Queues the verify jobs a build still needs (or stops them when enough operators agree). Returns jobs created. */
export async function ensureVerify(c: VerifyContext, buildKey: string): Promise<number> {
  const s = c.store.scheduler;
  const atts = await c.store.queryAttestations({ buildKey, limit: 5000 });
  if (atts.length === 0) return 0;
  const cache = new Map<string, string | null>();
  const ops = await operatorsOf(c.store, atts.map((a) => a.signer), c.now, cache);
  const outputs: { outputDigest: string; operators: string[] }[] = [];
  for (const a of atts) {
    let o = outputs.find((x) => x.outputDigest === a.outputDigest);
    if (!o) outputs.push((o = { outputDigest: a.outputDigest, operators: [] }));
    const op = ops.get(a.signer);
    if (op && !o.operators.includes(op)) o.operators.push(op);
  }
  const jobs = await s.jobsOfBuild(buildKey, 'verify');
  const open = jobs.filter((j) => j.state === 'queued' || j.state === 'leased');
  const plan = verifyPlan({ outputs, open: open.length, total: jobs.length, target: c.verifyTarget });
  if (plan.met) {
    const agree = outputs.find((o) => o.outputDigest === plan.target)!.operators.length;
    for (const j of open.filter((x) => x.state === 'queued')) {
      await s.updateJob(j.id, { state: 'done', pool: '', note: `not needed: ${agree} operators agree (target ${c.verifyTarget})`, updatedAt: c.now }, 'queued');
    }
    return 0;
  }
  if (plan.needed === 0) return 0;
  const att = atts.find((a) => a.outputDigest === plan.target)!;
  const ds = c.store.demand;
  const config = configOfEnvelope(att.envelope);
  const pkg = pkgOf(att.cpv);
  const demand = await ds.demandConfig(att.configKey);
  const cost = expectedCost(await ds.buildTime(pkg));
  const note = plan.disputed ? `${DISPUTE_NOTE} (${outputs.length} outputs), one more operator than the target is asked` : '';
  for (let i = 0; i < plan.needed; i++) {
    await s.insertJob({
      kind: 'verify', demandKey: att.configKey, configKey: att.configKey, buildKey, targetOutput: plan.target!, cpv: att.cpv, pkg, chost: att.chost,
      spec: JSON.stringify(specOf(config)), config: JSON.stringify(config), state: 'queued', pool: '-', weight: KIND_WEIGHT.verify,
      priority: logPriority(demand?.score ?? 0, KIND_WEIGHT.verify, cost), note, createdAt: c.now,
    });
  }
  await assignPending(c, att.chost);
  return plan.needed;
}

/** Hands waiting verify jobs of one CHOST to random eligible builders (bounded work per call). */
export async function assignPending(c: VerifyContext, chost: string, limit = 16): Promise<void> {
  const s = c.store.scheduler;
  const cache = new Map<string, string | null>();
  for (const j of await s.unassigned(chost, limit)) await assignOne(c, j, cache);
}

/** A random 64-hex key id from `rng` (the pivot of an indexed random pick). */
function randomKeyId(rng: () => number): string {
  let hex = '';
  while (hex.length < 64) hex += Math.floor(rng() * 2 ** 32).toString(16).padStart(8, '0');
  return hex.slice(0, 64);
}

async function assignOne(c: VerifyContext, j: JobRow, cache: Map<string, string | null>): Promise<void> {
  const s = c.store.scheduler;
  const excluded = await excludedOperators(c, j.buildKey!, cache);
  const pick = await s.randomActiveBuilder(j.chost, c.now - c.activeWindowMs, [...excluded], randomKeyId(c.rng));
  // Why the job exists (a dispute) stays in front of where it stands.
  const reason = j.note.startsWith(DISPUTE_NOTE) ? `${j.note.split('; ')[0]}; ` : '';
  if (!pick) {
    const note = `${reason}no eligible builder yet (${excluded.size} operator(s) excluded: they built it or verify it already)`;
    if (j.note !== note) await s.updateJob(j.id, { note, updatedAt: c.now }, 'queued');
    return;
  }
  await s.updateJob(j.id, { pool: pick.keyId, note: `${reason}assigned at random to an active builder of another operator`, updatedAt: c.now }, 'queued');
}
