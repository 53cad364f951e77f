/**
 * The user's trust policy, a TOML file:
 *
 *   roots = ["root.pub"]          # public key files (relative to this file) or PEM text
 *   threshold = 2                 # distinct operators that must agree, or "never"
 *   on-dispute = "reject"         # or "majority"
 *   [overrides]
 *   "sys-libs/glibc" = 3
 *   "app-crypt/*" = "never"
 *   [witnesses]
 *   required = 1
 *   keys = [{ name = "w1.example", key = "w1.pub" }]
 *   max-staleness = "7d"          # gateways: stop listing when the last verified checkpoint is older (s, m, h, d)
 *   [log]                         # the coordinator's checkpoint key (gateways)
 *   name = "binswarm.local/log"
 *   key = "coordinator.pub"
 *   [package-variants]            # per package, same patterns as overrides
 *   "app-doc/*" = ["full"]
 *
 * and, among the top-level keys (before the first table):
 *   variants = ["slim"]           # install variants preferred, best first ("full" is always the fallback)
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { BinswarmError } from '../errors.js';
import { VARIANTS } from '../formats/install-mask.js';
import { publicKeyFromText, type NamedKey, type PublicKey } from './keys.js';

export type PolicyErrorCode = 'BAD_POLICY';

export type Threshold = number | 'never';

export interface Policy {
  roots: PublicKey[];
  threshold: Threshold;
  overrides: { pattern: string; threshold: Threshold }[];
  onDispute: 'reject' | 'majority';
  witnesses: { keys: NamedKey[]; required: number };
  log: NamedKey | undefined;
  /** How old the last verified view may get before a gateway stops listing (TUF's freeze attack). */
  maxStalenessMs: number;
  /** Install variants to prefer, best first (issue 14); absent/empty: full builds only. */
  variants?: string[];
  packageVariants?: { pattern: string; variants: string[] }[];
}

export const DEFAULT_MAX_STALENESS = '7d';
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "15m", "12h", "7d" (or a bare number of seconds) in milliseconds. */
export function parseDuration(text: string): number {
  const m = /^([1-9][0-9]{0,9})([smhd]?)$/.exec(text.trim());
  if (!m) throw bad(`'${text}' is not a duration like 90s, 15m, 12h or 7d`);
  return Number(m[1]) * UNIT_MS[m[2] || 's']!;
}

const variantName = z.string().refine((v) => v === 'full' || v in VARIANTS, { message: `variants are full, ${Object.keys(VARIANTS).join(', ')}` });
const variantList = z.array(variantName).max(10);

const threshold = z.union([z.number().int().min(1).max(1000), z.literal('never')]);
const keyText = z.string().min(1).max(10_000);
const PATTERN = /^(\*|[A-Za-z0-9][A-Za-z0-9+_.-]*)\/(\*|[A-Za-z0-9_][A-Za-z0-9+_-]*)$/;

const PolicySchema = z
  .object({
    roots: z.array(keyText).min(1, 'at least one trust root is needed'),
    threshold: threshold.default(2),
    'on-dispute': z.enum(['reject', 'majority']).default('reject'),
    overrides: z.record(z.string().regex(PATTERN, 'override keys are cat/pkg, cat/* or */pkg'), threshold).default({}),
    witnesses: z
      .object({ required: z.number().int().min(0).default(0), keys: z.array(z.object({ name: z.string().regex(/^[^\s+]+$/), key: keyText }).strict()).default([]) })
      .strict()
      .default({ required: 0, keys: [] }),
    log: z.object({ name: z.string().regex(/^[^\s+]+$/), key: keyText }).strict().optional(),
    'max-staleness': z.union([z.string().max(20), z.number().int().min(1)]).default(DEFAULT_MAX_STALENESS),
    variants: variantList.default([]),
    'package-variants': z.record(z.string().regex(PATTERN, 'package-variants keys are cat/pkg, cat/* or */pkg'), variantList).default({}),
  })
  .strict();

function bad(message: string, subject?: string): BinswarmError<PolicyErrorCode> {
  return new BinswarmError('BAD_POLICY', message, { subject });
}

/** A key given inline (PEM) or as a file path relative to the policy file. */
function loadKey(text: string, baseDir: string, where: string, subject?: string): PublicKey {
  if (text.includes('-----BEGIN')) return publicKeyFromText(text, subject);
  const path = isAbsolute(text) ? text : resolve(baseDir, text);
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (e) {
    throw bad(`${where}: cannot read key file '${text}' (${(e as NodeJS.ErrnoException).code ?? 'error'})`, subject);
  }
  return publicKeyFromText(content, path);
}

export function parsePolicy(text: string, baseDir: string, subject?: string): Policy {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (e) {
    throw bad(`not valid TOML: ${(e as Error).message.split('\n')[0]}`, subject);
  }
  const r = PolicySchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw bad(`${i?.path.join('.') || '(top)'}: ${i?.message ?? 'invalid'}`, subject);
  }
  const p = r.data;
  const witnesses = p.witnesses.keys.map((w, i) => ({ name: w.name, key: loadKey(w.key, baseDir, `witnesses.keys[${i}]`, subject) }));
  if (p.witnesses.required > witnesses.length) throw bad(`witnesses.required is ${p.witnesses.required} but only ${witnesses.length} witness key(s) are listed`, subject);
  return {
    roots: p.roots.map((k, i) => loadKey(k, baseDir, `roots[${i}]`, subject)),
    threshold: p.threshold,
    overrides: Object.entries(p.overrides).map(([pattern, t]) => ({ pattern, threshold: t })),
    onDispute: p['on-dispute'],
    witnesses: { keys: witnesses, required: p.witnesses.required },
    log: p.log ? { name: p.log.name, key: loadKey(p.log.key, baseDir, 'log.key', subject) } : undefined,
    maxStalenessMs: parseDuration(String(p['max-staleness'])),
    variants: p.variants,
    packageVariants: Object.entries(p['package-variants']).map(([pattern, variants]) => ({ pattern, variants })),
  };
}

export function loadPolicy(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw bad(`cannot read policy (${(e as NodeJS.ErrnoException).code ?? 'error'})`, path);
  }
  return parsePolicy(text, dirname(resolve(path)), path);
}

/** The most specific pattern matching cpv: cat/pkg beats cat/* and * /pkg, which beat * / *. */
function mostSpecific<T extends { pattern: string }>(items: readonly T[], cpv: string): T | undefined {
  const m = /^([^/]+)\/(.+?)-\d[^/]*$/.exec(cpv);
  const [cat, pn] = m ? [m[1]!, m[2]!] : ['', ''];
  let best: { score: number; item: T } | undefined;
  for (const o of items) {
    const [oc, op] = o.pattern.split('/') as [string, string];
    if ((oc !== '*' && oc !== cat) || (op !== '*' && op !== pn)) continue;
    const score = (oc === '*' ? 0 : 2) + (op === '*' ? 0 : 1);
    if (!best || score > best.score) best = { score, item: o };
  }
  return best?.item;
}

/** cat/pkg beats cat/* and * /pkg, which beat * / *; the policy's threshold applies otherwise. */
export function thresholdFor(policy: Pick<Policy, 'threshold' | 'overrides'>, cpv: string): Threshold {
  return mostSpecific(policy.overrides, cpv)?.threshold ?? policy.threshold;
}

/**
 * The install variants to list for cpv, best first, always ending with
 * "full": a gateway lists the first one with a trusted build (issue 14).
 */
export function variantsFor(policy: Pick<Policy, 'variants' | 'packageVariants'>, cpv: string): string[] {
  const chosen = mostSpecific(policy.packageVariants ?? [], cpv)?.variants ?? policy.variants ?? [];
  return [...new Set([...chosen, 'full'])];
}
