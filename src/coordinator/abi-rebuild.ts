/**
 * Which configurations need an ABI rebuild when a library's build with a new
 * slot/subslot is attested (pure: the store-backed hook in
 * scheduler-abi.ts gathers the inputs and queues the jobs).
 *
 * Two kinds of reverse dependency, as on a user's machine:
 * - `:=` dependencies: the dependent's attested depAbi names the library's
 *   slot with another subslot (`dev-libs/libdemo:0/1` while the new build is
 *   `0/2`) — the rebuilt config is the old one with the new entry, a new
 *   buildKey under the same configKey, so the coordinator gives it the next
 *   binrev when it is attested;
 * - soname links without `:=` (what revdep-rebuild / @preserved-rebuild
 *   find): the dependent REQUIRES a soname that older builds of the library
 *   in that slot PROVIDE and the new one does not.
 */
import type { BuildConfig } from '../formats/build-config.js';
import { compareVersions, isValidVersion } from '../formats/version.js';
import { pkgOf } from './scheduler.js';

/** An attested build as the ABI planner sees it; slot/provides/requires come from the builder's listing upload (absent: unknown). */
export interface AbiBuild {
  configKey: string;
  buildKey: string;
  config: BuildConfig;
  /** SLOT as in the package metadata: `0` or `0/2`. */
  slot?: string;
  provides: string[];
  requires: string[];
}

export interface AbiRebuild {
  configKey: string;
  /** The dependent's attested config with the depAbi it must be rebuilt against. */
  config: BuildConfig;
  reason: string;
}

/** `0/2` → ['0', '2']; a SLOT without a subslot has subslot = slot (PMS). */
export function splitSlot(slot: string): [string, string] {
  const t = slot.trim();
  const i = t.indexOf('/');
  return i < 0 ? [t, t] : [t.slice(0, i), t.slice(i + 1)];
}

/** `dev-libs/libdemo:0/1` → ['dev-libs/libdemo', '0', '1']. */
function splitDepAbi(entry: string): [string, string, string] | undefined {
  const at = entry.lastIndexOf(':');
  if (at < 0) return undefined;
  const [s, sub] = splitSlot(entry.slice(at + 1));
  return [entry.slice(0, at), s, sub];
}

const versionOf = (cpv: string, pkg: string) => cpv.slice(pkg.length + 1);

/** Is `a` at least as new as `b` (same package)? Unparsable versions count as newer: never block on them. */
function atLeast(aCpv: string, bCpv: string, pkg: string): boolean {
  const a = versionOf(aCpv, pkg);
  const b = versionOf(bCpv, pkg);
  if (!isValidVersion(a) || !isValidVersion(b)) return true;
  return compareVersions(a, b) >= 0;
}

/**
 * The rebuilds a newly attested library build calls for. `builds` is the
 * latest attested build of every configKey for the library's CHOST (so a
 * config already rebuilt against the new ABI is not planned again). Only
 * the newest version in its slot triggers rebuilds: re-attesting an old
 * version must not move dependents back.
 */
export function planAbiRebuilds(lib: AbiBuild, builds: readonly AbiBuild[]): AbiRebuild[] {
  if (lib.slot === undefined) return [];
  const pkg = pkgOf(lib.config.cpv);
  const [slot, sub] = splitSlot(lib.slot);
  const entry = `${pkg}:${slot}/${sub}`;
  const sameSlot = builds.filter((b) => b.buildKey !== lib.buildKey && b.config.chost === lib.config.chost && pkgOf(b.config.cpv) === pkg && b.slot !== undefined && splitSlot(b.slot)[0] === slot);
  if (sameSlot.some((b) => !atLeast(lib.config.cpv, b.config.cpv, pkg))) return [];
  const mine = new Set(lib.provides);
  const gone = new Set(sameSlot.flatMap((b) => b.provides).filter((s) => !mine.has(s)));
  const out: AbiRebuild[] = [];
  for (const b of builds) {
    if (b.config.chost !== lib.config.chost || pkgOf(b.config.cpv) === pkg) continue;
    const deps = b.config.depAbi.map((e) => [e, splitDepAbi(e)] as const);
    const onSlot = deps.find(([, d]) => d && d[0] === pkg && d[1] === slot);
    if (onSlot) {
      if (onSlot[0] === entry) continue;
      const depAbi = [...b.config.depAbi.filter((e) => e !== onSlot[0]), entry].sort();
      out.push({ configKey: b.configKey, config: { ...b.config, depAbi }, reason: `:= dependency ${onSlot[0]} → ${entry}` });
      continue;
    }
    const lost = b.requires.filter((s) => gone.has(s));
    if (lost.length > 0) out.push({ configKey: b.configKey, config: b.config, reason: `links ${lost.join(', ')}, which only older ${pkg}:${slot} builds provide` });
  }
  return out;
}
