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
  const peers = new Map((await store.listPeers()).map((p) => [p.keyId, p]));
  return (await store.holdersOf(sha256))
    .filter((h) => h.failures < pol.banAfterReports && !isDown(peers.get(h.peer), pol))
    .map((h) => ({ peer: h.peer, url: h.url, failures: h.failures, ...(h.partial ? { partial: true } : {}) }));
}

export function isLiveMirror(p: PeerRecord, now: number, pol: TrackerPolicy): boolean {
  return p.roles.includes('mirror') && p.url !== null && p.capacity > 0 && p.lastSeen >= now - pol.mirrorTtlMs && !isDown(p, pol);
}

export async function computePlacement(store: Store, now: number, pol: TrackerPolicy): Promise<PlacementReply & { byMirror: Map<string, string[]> }> {
  const peers = await store.listPeers();
  const live = peers.filter((p) => isLiveMirror(p, now, pol));
  const archives = await store.placementArchives(now - pol.demandWindowMs);
  const placed = place(archives, live.map((p) => ({ id: p.keyId, capacity: p.capacity, domain: p.failureDomain })), { minReplicas: pol.minReplicas });
  const byMirror = assignmentsByMirror(placed);
  const size = new Map(archives.map((a) => [a.sha256, a.size]));
  const down = new Set(peers.filter((p) => isDown(p, pol)).map((p) => p.keyId));
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
  };
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
      await Promise.all(
        peers.map(async (p) => {
          const ok = await fetch(`${p.url!.replace(/\/+$/, '')}/health`, { signal: AbortSignal.timeout(opts.timeoutMs ?? 3000) })
            .then(async (r) => (await r.body?.cancel(), r.ok))
            .catch(() => false);
          if (!ok) opts.log?.(`probe failed: ${p.keyId.slice(0, 12)} at ${p.url}`);
          await store.recordProbe(p.keyId, ok, opts.now());
        }),
      );
    } catch (e) {
      opts.log?.(`prober: ${(e as Error).message}`);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), opts.intervalMs);
  return () => clearInterval(timer);
}
