/**
 * Where archives live: a pure function from (archives, live mirrors) to
 * replica sets. Each archive ranks mirrors by weighted rendezvous hashing
 * (score = capacity / -ln(u), u from sha256(archive ‖ mirror)), so adding or
 * losing a mirror moves only the archives that ranked it, and bigger mirrors
 * get proportionally more. Replicas go to distinct failure domains; a second
 * copy in an already used domain is allowed only to reach the minimum when
 * there are too few domains. Filling goes level by level — every archive
 * gets its 1st replica, then its 2nd, … up to its demand-based target (most
 * demanded first within a level) — so the minimum replica count is
 * maximised before popularity is served; then spare capacity keeps going to
 * the least-replicated archives. Repair is the same function run again
 * without the mirrors that failed or left.
 */
import { createHash } from 'node:crypto';

export interface PlacementMirror {
  id: string;
  /** Bytes it offers (its quota). */
  capacity: number;
  /** Site, ISP, …; mirrors without one are each their own domain. */
  domain: string | null;
}

export interface PlacementArchive {
  sha256: string;
  size: number;
  /** Distinct peers asking for it recently. */
  demand: number;
}

export interface PlacementOptions {
  /** Replicas every archive should have (default 2). */
  minReplicas?: number;
  /** Fill remaining capacity with extra replicas of the least-replicated archives (default true). */
  spare?: boolean;
}

/** Replica target: the minimum, plus one per doubling of demand. */
export function replicaTarget(demand: number, minReplicas = 2): number {
  return minReplicas + Math.floor(Math.log2(1 + Math.max(0, demand)));
}

/** Weighted rendezvous score of (archive, mirror): higher ranks first. */
export function rendezvousScore(archive: string, mirror: string, weight: number): number {
  const h = createHash('sha256').update(archive).update('\0').update(mirror).digest();
  // 53 random bits → u in (0, 1); never exactly 0 or 1.
  const u = (Number(h.readBigUInt64BE(0) >> 11n) + 0.5) / 2 ** 53;
  return weight / -Math.log(u);
}

export function place(archives: readonly PlacementArchive[], mirrors: readonly PlacementMirror[], opts: PlacementOptions = {}): Map<string, string[]> {
  const min = opts.minReplicas ?? 2;
  const free = new Map(mirrors.map((m) => [m.id, m.capacity]));
  const domainOf = new Map(mirrors.map((m) => [m.id, m.domain ?? `peer:${m.id}`]));
  const out = new Map<string, string[]>(archives.map((a) => [a.sha256, []]));
  const ranked = new Map<string, string[]>();
  const rank = (a: PlacementArchive) => {
    let r = ranked.get(a.sha256);
    if (!r) {
      r = mirrors
        .filter((m) => m.capacity > 0)
        .map((m) => ({ id: m.id, s: rendezvousScore(a.sha256, m.id, m.capacity) }))
        .sort((x, y) => y.s - x.s || (x.id < y.id ? -1 : 1))
        .map((x) => x.id);
      ranked.set(a.sha256, r);
    }
    return r;
  };
  const tryAdd = (a: PlacementArchive, sameDomainOk: boolean): boolean => {
    const have = out.get(a.sha256)!;
    const used = new Set(have.map((id) => domainOf.get(id)));
    for (const id of rank(a)) {
      if (have.includes(id) || free.get(id)! < a.size) continue;
      if (!sameDomainOk && used.has(domainOf.get(id))) continue;
      have.push(id);
      free.set(id, free.get(id)! - a.size);
      return true;
    }
    return false;
  };
  const byDemand = [...archives].sort((x, y) => y.demand - x.demand || (x.sha256 < y.sha256 ? -1 : 1));
  const target = new Map(archives.map((a) => [a.sha256, replicaTarget(a.demand, min)]));
  const stuck = new Set<string>();
  const maxTarget = Math.max(0, ...target.values());
  for (let level = 1; level <= maxTarget; level++) {
    for (const a of byDemand) {
      if (stuck.has(a.sha256) || target.get(a.sha256)! < level || out.get(a.sha256)!.length !== level - 1) continue;
      if (!tryAdd(a, false) && !(level <= min && tryAdd(a, true))) stuck.add(a.sha256);
    }
  }
  if (opts.spare ?? true) {
    // Spare capacity: always the least-replicated archive that can still grow, in a new domain.
    const growable = new Set(byDemand.map((a) => a.sha256).filter((s) => !stuck.has(s)));
    while (growable.size > 0) {
      const level = Math.min(...[...growable].map((s) => out.get(s)!.length));
      for (const a of byDemand) {
        if (!growable.has(a.sha256) || out.get(a.sha256)!.length !== level) continue;
        if (!tryAdd(a, false)) growable.delete(a.sha256);
      }
    }
  }
  return out;
}

/** Per mirror: the archives placed on it. */
export function assignmentsByMirror(placement: Map<string, string[]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [sha, ids] of placement) for (const id of ids) (out.get(id) ?? out.set(id, []).get(id)!).push(sha);
  return out;
}
