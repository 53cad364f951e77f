/**
 * Gathers what the dashboard shows from the store: each list bounded by
 * `limit` (newest or most urgent first) with its total from a count, the
 * replication view from the shared placement computation, the checkpoint
 * with its witnesses, and the sampled series for the charts.
 */
import { DASHBOARD_MAX_LIMIT, type DashboardArchive, type DashboardDispute, type DashboardJob, type DashboardPackage, type DashboardReply, type JobKind, type JobState } from '../../api/v1.js';
import { parseSignedCheckpoint } from '../../log/checkpoint.js';
import type { ComputedPlacement, TrackerPolicy } from '../mirrors.js';
import type { DashboardAttestationRow } from '../store/dashboard-store.js';
import type { Store } from '../store/types.js';
import { outputsOf, useOf } from './trust-levels.js';

export interface DashboardSources {
  store: Store;
  origin: string;
  tracker: TrackerPolicy;
  placement: (now: number) => Promise<ComputedPlacement>;
  /** The latest signed checkpoint covering the whole log (signs one when the log has grown, as GET /v1/log/checkpoint does). */
  checkpoint: () => Promise<string | undefined>;
  /** Cosignatures a checkpoint needs before it is published (coordinator --witnesses). */
  witnessesRequired: number;
  sampleIntervalMs: number;
  /** Samples drawn (the newest ones). */
  samplesShown: number;
}

const STATES: JobState[] = ['queued', 'leased', 'done', 'failed', 'refused'];
const ROLES = ['consume', 'contribute', 'mirror', 'build', 'witness'];

function specUse(spec: string): string[] {
  try {
    const use = (JSON.parse(spec) as { use?: unknown }).use;
    return Array.isArray(use) ? use.map(String) : [];
  } catch {
    return [];
  }
}

/** Witness names and cosigning times from `— name base64(keyhash ‖ time ‖ sig)` lines (c2sp.org/tlog-cosignature). */
function witnessesOf(lines: string[]): { name: string; time: number }[] {
  const out: { name: string; time: number }[] = [];
  for (const line of lines) {
    const m = /^— (\S+) (\S+)$/u.exec(line.trim());
    if (!m) continue;
    const raw = Buffer.from(m[2]!, 'base64');
    out.push({ name: m[1]!, time: raw.length >= 12 ? Number(raw.readBigUInt64BE(4)) * 1000 : 0 });
  }
  return out;
}

async function checkpointView(src: DashboardSources): Promise<DashboardReply['checkpoint']> {
  const s = src.store;
  const text = await src.checkpoint();
  if (!text) return null;
  const cp = parseSignedCheckpoint(text).checkpoint;
  const published = src.witnessesRequired === 0 ? cp.size : ((await s.latestCosigned(src.witnessesRequired))?.size ?? null);
  return { size: cp.size, rootHash: Buffer.from(cp.root).toString('hex'), witnesses: witnessesOf(await s.cosignaturesAt(cp.size)), publishedSize: published };
}

/** Packages (one row per buildKey) and dispute outputs, from their attestations and the signers' certificate chains. */
async function packageViews(s: Store, buildKeys: string[], disputed: Set<string>): Promise<Map<string, DashboardPackage>> {
  const atts = await s.dashboard.attestationsOf(buildKeys);
  const chains = await s.dashboard.signerChains([...new Set(atts.map((a) => a.signer))]);
  const binrevs = await s.dashboard.binrevs(buildKeys);
  const by = new Map<string, DashboardAttestationRow[]>();
  for (const a of atts) (by.get(a.buildKey) ?? by.set(a.buildKey, []).get(a.buildKey)!).push(a);
  const out = new Map<string, DashboardPackage>();
  for (const k of buildKeys) {
    const list = by.get(k);
    if (!list?.length) continue;
    const first = list[0]!;
    const outputs = outputsOf(list, chains);
    out.set(k, {
      cpv: first.cpv, chost: first.chost, use: useOf(first.envelope), buildKey: k, configKey: first.configKey, binrev: binrevs.get(k) ?? null,
      disputed: disputed.has(k) || outputs.length > 1, level: outputs[0]?.level ?? 0, outputs, lastLogTime: list[list.length - 1]!.logTime,
    });
  }
  return out;
}

/**
 * What grows with the whole network — peers by role (a pass over every
 * peer), jobs per state (over every job ever queued) and replication (the placement computation over every mirror and
 * archive) — gathered apart, so viewers can share one result for a while
 * (routes.ts refreshes it in the background) instead of paying per view.
 */
export interface SlowFacts {
  at: number;
  peers: { total: number; served: number; roles: { role: string; total: number; healthy: number }[] };
  /** Jobs per state (a count over every job ever queued). */
  jobs: Record<string, number>;
  replication: { archives: number; belowTarget: number; worst: DashboardArchive[] };
}

export async function collectSlow(src: DashboardSources, now: number): Promise<SlowFacts> {
  const peers = await src.store.dashboard.peerStats(ROLES, now - src.tracker.mirrorTtlMs, src.tracker.probeFailuresDown);
  const placed = await src.placement(now);
  const below = placed.archives.filter((a) => a.holders < a.target).length;
  const worst = [...placed.archives].sort((x, y) => x.holders - x.target - (y.holders - y.target) || y.demand - x.demand || (x.sha256 < y.sha256 ? -1 : 1)).slice(0, DASHBOARD_MAX_LIMIT);
  return { at: now, peers, jobs: await src.store.dashboard.jobCounts(), replication: { archives: placed.archives.length, belowTarget: below, worst: worst.map((a) => ({ sha256: a.sha256, size: a.size, target: a.target, holders: a.holders, mirrors: a.mirrors.length })) } };
}

export async function collectDashboard(src: DashboardSources, now: number, limit: number, slow: SlowFacts): Promise<DashboardReply> {
  const s = src.store;
  const d = s.dashboard;
  const disputes = await d.recentDisputes(limit);
  const recent = await d.recentBuildKeys(limit);
  const views = await packageViews(s, [...new Set([...recent, ...disputes.rows.map((r) => r.buildKey)])], new Set(disputes.rows.map((r) => r.buildKey)));
  const samples = await d.samples(src.samplesShown);
  const lastSample = samples[samples.length - 1];

  const counts = slow.jobs;
  const jobs = await d.shownJobs(limit);
  const holderOps = await d.buildersOperators(jobs.map((j) => j.holder).filter((h): h is string => h !== null));
  const opNames = await d.operatorNames([...new Set(holderOps.values())]);
  const shownJobs: DashboardJob[] = jobs.map((j) => {
    const op = j.holder ? holderOps.get(j.holder) : undefined;
    return { id: String(j.id), kind: j.kind as JobKind, cpv: j.cpv, use: specUse(j.spec), state: j.state as JobState, priority: j.priority, holder: j.holder, holderOperator: op ? (opNames.get(op) ?? null) : null, why: j.note, updatedAt: j.updatedAt };
  });

  const since = now - src.tracker.mirrorTtlMs;
  const peers = (await d.recentPeers(limit)).map((p) => ({ ...p, healthy: p.lastSeen >= since && p.probeFailures < src.tracker.probeFailuresDown }));

  const disputeViews: DashboardDispute[] = disputes.rows.map((r) => ({ buildKey: r.buildKey, cpv: r.cpv, logIndex: r.logIndex, firstSeen: r.firstSeen, outputs: views.get(r.buildKey)?.outputs ?? [] }));
  return {
    generatedAt: now,
    origin: src.origin,
    limit,
    packages: { total: lastSample?.configs ?? null, shown: recent.map((k) => views.get(k)).filter((p): p is DashboardPackage => p !== undefined) },
    disputes: { total: disputes.total, shown: disputeViews },
    queue: { counts: Object.fromEntries(STATES.map((st) => [st, counts[st] ?? 0])) as Record<JobState, number>, asOf: slow.at, shown: shownJobs },
    peers: { ...slow.peers, asOf: slow.at, shown: peers },
    replication: { archives: slow.replication.archives, belowTarget: slow.replication.belowTarget, asOf: slow.at, shown: slow.replication.worst.slice(0, limit) },
    checkpoint: await checkpointView(src),
    samples: { intervalMs: src.sampleIntervalMs, items: samples },
  };
}
