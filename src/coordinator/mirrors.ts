/**
 * The coordinator's tracker policy and mirror management: which holders it
 * hands out (not banned by reports, not failing health probes), which
 * mirrors are live, where archives are placed (placement.ts over the live
 * ones, so a mirror that dies or leaves has its archives re-placed on the
 * next computation: repair), and the health prober.
 */
import type { Holder, MirrorInfo, PlacementReply } from '../api/v1.js';
import { assignmentsByMirror, place, replicaTarget } from './placement.js';
import type { HolderRecord, PeerRecord, Store } from './store/types.js';

export interface TrackerPolicy {
  /** Distinct reporters after which a holder is no longer handed out for that archive. */
  banAfterReports: number;
  /** Consecutive failed probes after which a peer counts as down. */
  probeFailuresDown: number;
  /** A mirror silent (no re-registration) for longer than this has left. */
  mirrorTtlMs: number;
  /** Demand counts requests since now − this. */
  demandWindowMs: number;
  minReplicas: number;
}

export const DEFAULT_TRACKER: TrackerPolicy = { banAfterReports: 2, probeFailuresDown: 3, mirrorTtlMs: 10 * 60_000, demandWindowMs: 30 * 86_400_000, minReplicas: 2 };

const isDown = (p: PeerRecord | undefined, pol: TrackerPolicy) => (p?.probeFailures ?? 0) >= pol.probeFailuresDown;

export async function liveHolders(store: Store, sha256: string, pol: TrackerPolicy): Promise<Holder[]> {
  // Every download asks this: read the archive's holders and their peer rows only, never the whole peer table.
  const holders = (await store.holdersOf(sha256)).filter((h) => h.failures < pol.banAfterReports);
  const peers = await Promise.all(holders.map((h) => store.getPeer(h.peer)));
  return holders
    .filter((_, i) => !isDown(peers[i], pol))
    .map((h) => ({ peer: h.peer, url: h.url, failures: h.failures, ...(h.partial ? { partial: true } : {}) }));
}

export function isLiveMirror(p: PeerRecord, now: number, pol: TrackerPolicy): boolean {
  return p.roles.includes('mirror') && p.url !== null && p.capacity > 0 && p.lastSeen >= now - pol.mirrorTtlMs && !isDown(p, pol);
}

export type ComputedPlacement = PlacementReply & { byMirror: Map<string, string[]>; pieceRoots: Map<string, string> };

/**
 * Placement is a function of every live mirror and every placed archive, so
 * one computation serves every request: mirrors polling their assignments
 * and dashboard views cost one lookup each, not a pass over the registry.
 * Past `ttlMs` the last result is still served while one new computation
 * runs in the background (stale-while-revalidate), so no request waits for
 * a recomputation except the very first.
 */
export function placementCache(store: Store, pol: TrackerPolicy, ttlMs: number): (now: number) => Promise<ComputedPlacement> {
  let current: { at: number; value: ComputedPlacement } | undefined;
  let running: Promise<ComputedPlacement> | undefined;
  const refresh = (now: number) =>
    (running ??= computePlacement(store, now, pol)
      .then((value) => {
        current = { at: now, value };
        return value;
      })
      .finally(() => (running = undefined)));
  return async (now) => {
    if (!current) return refresh(now);
    if (now - current.at >= ttlMs || now < current.at) void refresh(now).catch(() => undefined);
    return current.value;
  };
}

export async function computePlacement(store: Store, now: number, pol: TrackerPolicy): Promise<ComputedPlacement> {
  const peers = await store.listMirrorPeers();
  const live = peers.filter((p) => isLiveMirror(p, now, pol));
  const archives = await store.placementArchives(now - pol.demandWindowMs);
  const placed = place(archives, live.map((p) => ({ id: p.keyId, capacity: p.capacity, domain: p.failureDomain })), { minReplicas: pol.minReplicas });
  const byMirror = assignmentsByMirror(placed);
  const size = new Map(archives.map((a) => [a.sha256, a.size]));
  const down = new Set(await store.downPeerIds(pol.probeFailuresDown));
  const holders = new Map<string, HolderRecord[]>();
  for (const h of await store.allHolders()) if (!h.partial && h.failures < pol.banAfterReports && !down.has(h.peer)) (holders.get(h.archiveSha256) ?? holders.set(h.archiveSha256, []).get(h.archiveSha256)!).push(h);
  const mirrors: MirrorInfo[] = peers
    .filter((p) => p.roles.includes('mirror'))
    .map((p) => {
      const mine = byMirror.get(p.keyId) ?? [];
      return { peer: p.keyId, url: p.url, domain: p.failureDomain, capacity: p.capacity, live: isLiveMirror(p, now, pol), lastSeen: p.lastSeen, probeFailures: p.probeFailures ?? 0, assigned: mine.length, assignedBytes: mine.reduce((s, a) => s + (size.get(a) ?? 0), 0) };
    });
  return {
    mirrors,
    archives: archives.map((a) => ({ sha256: a.sha256, size: a.size, demand: a.demand, target: replicaTarget(a.demand, pol.minReplicas), mirrors: placed.get(a.sha256) ?? [], holders: holders.get(a.sha256)?.length ?? 0 })),
    byMirror,
    pieceRoots: new Map(archives.map((a) => [a.sha256, a.pieceRoot])),
  };
}

const PROBE_CONCURRENCY = 64;

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Probes every peer that gave a URL (GET URL/health) every `intervalMs`;
 * results go to the store, where tracker answers and placement read them.
 */
export function startProber(store: Store, opts: { intervalMs: number; timeoutMs?: number; now: () => number; log?: (msg: string) => void }): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const peers = (await store.listPeers()).filter((p) => p.url);
      // At most PROBE_CONCURRENCY probes in flight: 10⁵ peers must not mean 10⁵ sockets at once.
      await forEachLimited(peers, PROBE_CONCURRENCY, async (p) => {
          const ok = await fetch(`${p.url!.replace(/\/+$/, '')}/health`, { signal: AbortSignal.timeout(opts.timeoutMs ?? 3000) })
            .then(async (r) => (await r.body?.cancel(), r.ok))
            .catch(() => false);
          if (!ok) opts.log?.(`probe failed: ${p.keyId.slice(0, 12)} at ${p.url}`);
          await store.recordProbe(p.keyId, ok, opts.now());
      });
    } catch (e) {
      opts.log?.(`prober: ${(e as Error).message}`);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), opts.intervalMs);
  return () => clearInterval(timer);
}
