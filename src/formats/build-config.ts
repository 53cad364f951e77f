/**
 * The build config: everything that decides a binary's contents (DESIGN.md,
 * "Words"). buildKey = sha256 of its canonical JSON; configKey = the same
 * without depAbi, so ABI rebuilds of one config share a configKey and get
 * successive binary revisions.
 */
import { createHash } from 'node:crypto';
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

export function buildConfigJson(config: BuildConfig): string {
  return canonicalJson(config);
}

/** hex sha256 of the canonical build config. */
export function buildKeyOf(config: BuildConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex');
}

/** hex sha256 of the canonical build config without depAbi. */
export function configKeyOf(config: BuildConfig): string {
  const { depAbi: _depAbi, ...rest } = config;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}
