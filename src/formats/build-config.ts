/**
 * The build config: everything that decides a binary's contents (DESIGN.md,
 * "Words"). buildKey = sha256 of its canonical JSON; configKey = the same
 * without depAbi and links (what it was built against), so ABI rebuilds of
 * one config share a configKey and get successive binary revisions.
 */
import { hash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

export interface BuildConfig {
  /** Schema version of this object. */
  v: 1;
  /** `cat/pkg-ver[-rN]` */
  cpv: string;
  /** Source repository name (`gentoo`, …). */
  repo: string;
  /** hex sha256 of the .ebuild file. */
  ebuild: string;
  /** Sorted INHERITED eclasses. */
  eclasses: string[];
  eapi: string;
  chost: string;
  /** Profile arch (`amd64`, …). */
  arch: string;
  /** Enabled flags of IUSE (USE ∩ IUSE, `+` stripped), sorted. */
  use: string[];
  cflags: string;
  cxxflags: string;
  ldflags: string;
  /** Only output-affecting FEATURES, sorted. */
  features: string[];
  installMask: string;
  /** Sorted `cat/pkg:slot/subslot` recorded for `:=` dependencies. */
  depAbi: string[];
  /**
   * Sorted sonames the build links from other packages (its REQUIRES, the
   * multilib category dropped). Present only when non-empty, so configs
   * without REQUIRES keep the buildKey they had before this field existed.
   * Like depAbi it says what the build was linked against: a rebuild that
   * links `libfoo.so.2` instead of `libfoo.so.1` (a dependency without
   * `:=`) is another buildKey under the same configKey, not a dispute.
   */
  links?: string[];
}

/** Fields that say what a build was linked against: in buildKey, not in configKey. */
export const BUILT_AGAINST = ['depAbi', 'links'] as const;

/**
 * A build config is flat (strings, string arrays, one integer), so its RFC
 * 8785 form is JSON.stringify with the keys sorted: JCS defines string and
 * integer output as ECMAScript's. This is several times faster than the
 * generic canonicaliser, and every attestation check computes two of them;
 * a test checks both agree on random configs.
 */
function flatCanonical(config: object, omit?: readonly string[]): string {
  const keys = Object.keys(config)
    .filter((k) => !omit?.includes(k))
    .sort();
  for (const k of keys) {
    const v = (config as Record<string, unknown>)[k];
    const flat = typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v)) || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (!flat) return canonicalJson(omit ? Object.fromEntries(keys.map((key) => [key, (config as Record<string, unknown>)[key]])) : config);
  }
  // The values in key order in a fresh object: V8 writes a plain object about
  // twice as fast as through a key list. Not for keys a plain object would
  // reorder (integer-like) or treat specially (__proto__).
  const ordered: Record<string, unknown> = {};
  for (const k of keys) {
    const c = k.charCodeAt(0);
    if ((c >= 48 && c <= 57) || k === '__proto__') return JSON.stringify(config, keys);
    ordered[k] = (config as Record<string, unknown>)[k];
  }
  return JSON.stringify(ordered);
}

export function buildConfigJson(config: BuildConfig): string {
  return flatCanonical(config);
}

/** hex sha256 of the canonical build config. */
export function buildKeyOf(config: BuildConfig): string {
  return hash('sha256', flatCanonical(config), 'hex');
}

/** hex sha256 of the canonical build config without depAbi and links. */
export function configKeyOf(config: BuildConfig): string {
  return hash('sha256', flatCanonical(config, BUILT_AGAINST), 'hex');
}
