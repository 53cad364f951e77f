/**
 * The store-backed side of ABI rebuilds (the decisions are in
 * abi-rebuild.ts): when a build of a library is attested with its SLOT
 * known, look up — in the reverse-dependency index (store/abi-index.ts),
 * never by scanning the CHOST — the latest build of each configuration of
 * the library's package and of each configuration that depends on its slot
 * with `:=` or links a soname it no longer provides, and queue the
 * `abi-rebuild` jobs the planner asks for, ranked by demand like other
 * jobs. The rebuilt configuration's attestation gets the next binrev for
 * its configKey in the log (ingest.ts), as any new buildKey.
 */
import { planAbiRebuilds, pkgRef, reverseDependencyRefs, type AbiBuild } from './abi-rebuild.js';
import { expectedCost, KIND_WEIGHT, logPriority, pkgOf } from './scheduler.js';
import { specOf } from './scheduler-verify.js';
import { configOfEnvelope } from './store/abi-index.js';
import type { Store } from './store/types.js';

/** The latest build of each of these configurations, as the planner sees it. */
async function latest(store: Store, configKeys: readonly string[]): Promise<AbiBuild[]> {
  return (await store.scheduler.latestBuilds(configKeys)).map((b) => ({ configKey: b.configKey, buildKey: b.buildKey, config: configOfEnvelope(b.envelope), ...(b.abi ?? { provides: [], requires: [] }) }));
}

/** Queues the ABI rebuilds a newly attested build calls for (inside the caller's transaction). Returns the jobs created. */
export async function queueAbiRebuilds(store: Store, att: { configKey: string; buildKey: string; outputDigest: string; chost: string; envelope: string }, now: number): Promise<number> {
  const s = store.scheduler;
  const abi = await s.abiOf(att.outputDigest);
  if (!abi) return 0;
  const lib: AbiBuild = { configKey: att.configKey, buildKey: att.buildKey, config: configOfEnvelope(att.envelope), ...abi };
  const libBuilds = await latest(store, await s.configsWithRefs(att.chost, [pkgRef(pkgOf(lib.config.cpv))]));
  const refs = reverseDependencyRefs(lib, libBuilds);
  if (refs.length === 0) return 0;
  const dependents = await latest(store, await s.configsWithRefs(att.chost, refs));
  let created = 0;
  for (const r of planAbiRebuilds(lib, [...libBuilds, ...dependents])) {
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
      priority: logPriority(demand?.score ?? 0, KIND_WEIGHT['abi-rebuild'], cost), note: `ABI rebuild: ${r.reason}`, createdAt: now, unlink: r.unlink ? JSON.stringify(r.unlink) : null,
    });
    created++;
  }
  return created;
}
