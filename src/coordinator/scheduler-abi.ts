/**
 * The store-backed side of ABI rebuilds (the decisions are in
 * abi-rebuild.ts): when a build of a library is attested with its SLOT
 * known, gather the latest attested build of every configuration for its
 * CHOST and queue the `abi-rebuild` jobs the planner asks for, ranked by
 * demand like other jobs. The rebuilt configuration's attestation gets the
 * next binrev for its configKey in the log (ingest.ts), as any new buildKey.
 */
import type { BuildConfig } from '../formats/build-config.js';
import { planAbiRebuilds, type AbiBuild } from './abi-rebuild.js';
import { expectedCost, KIND_WEIGHT, logPriority, pkgOf } from './scheduler.js';
import { specOf } from './scheduler-verify.js';
import type { Store } from './store/types.js';

/** Attestations looked at per planning run (one CHOST's latest builds). */
const MAX_SCAN = 100_000;

const configOf = (envelope: string): BuildConfig => (JSON.parse(Buffer.from((JSON.parse(envelope) as { payload: string }).payload, 'base64').toString('utf8')) as { buildConfig: BuildConfig }).buildConfig;

/** Queues the ABI rebuilds a newly attested build calls for (inside the caller's transaction). Returns the jobs created. */
export async function queueAbiRebuilds(store: Store, att: { configKey: string; buildKey: string; outputDigest: string; chost: string; envelope: string }, now: number): Promise<number> {
  const s = store.scheduler;
  const abi = await s.abiOf(att.outputDigest);
  if (!abi) return 0;
  const lib: AbiBuild = { configKey: att.configKey, buildKey: att.buildKey, config: configOf(att.envelope), ...abi };
  // Latest build per configKey, in log order.
  const latest = new Map<string, { buildKey: string; outputDigest: string; envelope: string }>();
  let after: number | undefined;
  for (let seen = 0; seen < MAX_SCAN; ) {
    const page = await store.queryAttestations({ chost: att.chost, ...(after !== undefined ? { after } : {}), limit: 1000 });
    if (page.length === 0) break;
    for (const a of page) latest.set(a.configKey, a);
    after = page[page.length - 1]!.logIndex;
    seen += page.length;
  }
  const builds: AbiBuild[] = [];
  for (const [configKey, a] of latest) {
    const x = await s.abiOf(a.outputDigest);
    builds.push({ configKey, buildKey: a.buildKey, config: configOf(a.envelope), ...(x ?? { provides: [], requires: [] }) });
  }
  let created = 0;
  for (const r of planAbiRebuilds(lib, builds)) {
    const config = JSON.stringify(r.config);
    // One job per target: an open or finished rebuild against the same ABI is not queued twice.
    const jobs = await s.jobsFor(r.configKey, ['queued', 'leased', 'done']);
    if (jobs.some((j) => j.kind === 'abi-rebuild' && j.config === config)) continue;
    const pkg = pkgOf(r.config.cpv);
    const demand = await store.demand.demandConfig(r.configKey);
    const cost = expectedCost(await store.demand.buildTime(pkg));
    await s.insertJob({
      kind: 'abi-rebuild', demandKey: r.configKey, configKey: r.configKey, buildKey: null, targetOutput: null, cpv: r.config.cpv, pkg, chost: r.config.chost,
      spec: JSON.stringify(specOf(r.config)), config, state: 'queued', pool: '', weight: KIND_WEIGHT['abi-rebuild'],
      priority: logPriority(demand?.score ?? 0, KIND_WEIGHT['abi-rebuild'], cost), note: `ABI rebuild: ${r.reason}`, createdAt: now,
    });
    created++;
  }
  return created;
}
