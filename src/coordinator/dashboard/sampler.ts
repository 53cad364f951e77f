/**
 * The coordinator's periodic look at itself, for the dashboard's charts:
 * queue length, peers, bytes served (the sum of what peers report), and
 * configurations by trust level. One row per interval in
 * dashboard_samples, older ones than `keep` intervals pruned, so the table
 * stays bounded; replicas sharing a database skip a tick another replica
 * has just taken. Trust levels are brought up to date from what is new in
 * the log first (dashboard-store.ts updateLevels): here, never per view.
 */
import type { Store } from '../store/types.js';
import type { SampleRow } from '../store/dashboard-store.js';

export interface SamplerOptions {
  intervalMs: number;
  /** Samples kept (the chart window is intervalMs × keep). */
  keep: number;
  now: () => number;
  log?: (msg: string) => void;
}

export const DEFAULT_SAMPLE_INTERVAL_MS = 15_000;
export const DEFAULT_SAMPLES_KEPT = 960;

export async function sampleOnce(store: Store, now: number, intervalMs: number, keep: number): Promise<SampleRow | undefined> {
  const d = store.dashboard;
  const last = await d.latestSampleTime();
  if (last !== null && now - last < intervalMs / 2 && now >= last) return undefined;
  await d.updateLevels();
  const counts = await d.jobCounts();
  const peers = await d.peerStats([], 0, 0);
  const trust = await d.trustHistogram();
  const row: SampleRow = { time: now, queued: counts.queued ?? 0, leased: counts.leased ?? 0, peers: peers.total, served: peers.served, configs: trust.configs, levels: trust.levels };
  await d.insertSample(row, now - intervalMs * keep);
  return row;
}

/** Samples now and then every intervalMs; returns a stop function that waits for a sample in progress. */
export function startSampler(store: Store, o: SamplerOptions): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = running.then(() => sampleOnce(store, o.now(), o.intervalMs, o.keep)).catch((e) => o.log?.(`dashboard sampler: ${(e as Error).message}`));
  };
  tick();
  const timer = setInterval(tick, o.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
