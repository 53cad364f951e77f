/**
 * The build config: everything that decides a binary's contents (DESIGN.md,
 * "Words"). buildKey = sha256 of its canonical JSON; configKey = the same
 * without depAbi, so ABI rebuilds of one config share a configKey and get
 * successive binary revisions.
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
}

/**
 * A build config is flat (strings, string arrays, one integer), so its RFC
 * 8785 form is JSON.stringify with the keys sorted: JCS defines string and
 * integer output as ECMAScript's. This is several times faster than the
 * generic canonicaliser, and every attestation check computes two of them;
 * a test checks both agree on random configs.
 */
function flatCanonical(config: object, omit?: string): string {
  const keys = Object.keys(config)
    .filter((k) => k !== omit)
    .sort();
  for (const k of keys) {
    const v = (config as Record<string, unknown>)[k];
    const flat = typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v)) || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (!flat) return canonicalJson(omit ? Object.fromEntries(keys.map((key) => [key, (config as Record<string, unknown>)[key]])) : config);
  }
  return JSON.stringify(config, keys);
}

export function buildConfigJson(config: BuildConfig): string {
  return flatCanonical(config);
}

/** hex sha256 of the canonical build config. */
export function buildKeyOf(config: BuildConfig): string {
  return hash('sha256', flatCanonical(config), 'hex');
}

/** hex sha256 of the canonical build config without depAbi. */
export function configKeyOf(config: BuildConfig): string {
  return hash('sha256', flatCanonical(config, 'depAbi'), 'hex');
}
