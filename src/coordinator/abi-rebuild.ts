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
  /** Soname rebuilds: the sonames the rebuilt output must no longer link. */
  unlink?: string[];
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

/** What a library build changes for its slot, or undefined when it triggers nothing. */
interface SlotChange {
  pkg: string;
  slot: string;
  /** `cat/pkg:slot/subslot` of the new build. */
  entry: string;
  /** Sonames older builds in the slot provide and this one does not. */
  gone: Set<string>;
}

/**
 * `builds` needs only the library's own builds here. Only the newest version
 * in its slot triggers rebuilds: re-attesting an old version must not move
 * dependents back.
 */
function slotChange(lib: AbiBuild, builds: readonly AbiBuild[]): SlotChange | undefined {
  if (lib.slot === undefined) return undefined;
  const pkg = pkgOf(lib.config.cpv);
  const [slot, sub] = splitSlot(lib.slot);
  const sameSlot = builds.filter((b) => b.buildKey !== lib.buildKey && b.config.chost === lib.config.chost && pkgOf(b.config.cpv) === pkg && b.slot !== undefined && splitSlot(b.slot)[0] === slot);
  if (sameSlot.some((b) => !atLeast(lib.config.cpv, b.config.cpv, pkg))) return undefined;
  const mine = new Set(lib.provides);
  return { pkg, slot, entry: `${pkg}:${slot}/${sub}`, gone: new Set(sameSlot.flatMap((b) => b.provides).filter((s) => !mine.has(s))) };
}

/** What a build links: REQUIRES from its listing upload and the links in its attested config. */
const linksOf = (b: AbiBuild) => (b.config.links ? [...new Set([...b.requires, ...b.config.links])] : b.requires);

/** Index keys (see store/abi-index.ts): a build of `pkg`, a `:=` dependency on `pkg` in `slot`, a link to `soname`. */
export const pkgRef = (pkg: string) => `pkg:${pkg}`;
export const depRef = (pkg: string, slot: string) => `dep:${pkg}:${slot}`;
export const soRef = (soname: string) => `so:${soname}`;

/** The index keys one attested build config is found under. */
export function refsOfConfig(config: BuildConfig): string[] {
  const refs = new Set([pkgRef(pkgOf(config.cpv))]);
  for (const e of config.depAbi) {
    const d = splitDepAbi(e);
    if (d) refs.add(depRef(d[0], d[1]));
  }
  for (const s of config.links ?? []) refs.add(soRef(s));
  return [...refs];
}

/**
 * The index keys of every build that may need a rebuild after `lib`
 * (`libBuilds`: the latest build of each configuration of the library's
 * package); empty when it triggers nothing. What the store looks up instead
 * of scanning the whole CHOST.
 */
export function reverseDependencyRefs(lib: AbiBuild, libBuilds: readonly AbiBuild[]): string[] {
  const c = slotChange(lib, libBuilds);
  return c ? [depRef(c.pkg, c.slot), ...[...c.gone].sort().map(soRef)] : [];
}

/**
 * The rebuilds a newly attested library build calls for. `builds` holds the
 * latest attested build of each configKey concerned — the library's own
 * and its possible reverse dependencies (any superset works, e.g. a whole
 * CHOST) — so a config already rebuilt against the new ABI is not planned
 * again.
 */
export function planAbiRebuilds(lib: AbiBuild, builds: readonly AbiBuild[]): AbiRebuild[] {
  const c = slotChange(lib, builds);
  if (!c) return [];
  const { pkg, slot, entry, gone } = c;
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
    const lost = linksOf(b).filter((s) => gone.has(s)).sort();
    // The config as is: the rebuilt output links the new soname, so its links
    // (and buildKey) differ from the old build's — the next binrev, not a dispute.
    if (lost.length > 0) out.push({ configKey: b.configKey, config: b.config, unlink: lost, reason: `links ${lost.join(', ')}, which only older ${pkg}:${slot} builds provide` });
  }
  return out;
}
