/**
 * Gentoo package versions and their order (PMS section 3.2–3.3):
 * `1.2.3[letter][_alpha|_beta|_pre|_rc|_p[N]]*[-rN]`.
 */
import { BinswarmError } from '../errors.js';

export type VersionErrorCode = 'BAD_VERSION';

export interface Version {
  /** Numeric components as written (leading zeros matter). */
  numbers: string[];
  letter: string;
  suffixes: { kind: SuffixKind; n: bigint }[];
  revision: bigint;
  text: string;
}

export type SuffixKind = 'alpha' | 'beta' | 'pre' | 'rc' | 'p';
const SUFFIX_ORDER: Record<SuffixKind, number> = { alpha: 0, beta: 1, pre: 2, rc: 3, p: 5 };
/** Where "no more suffixes" sorts among them: after _rc, before _p. */
const NO_SUFFIX = 4;

export const VERSION_PATTERN = '(\\d+)((?:\\.\\d+)*)([a-z]?)((?:_(?:pre|p|beta|alpha|rc)\\d*)*)(?:-r(\\d+))?';
const VERSION_RE = new RegExp(`^${VERSION_PATTERN}$`);
const MAX_VERSION_LENGTH = 256;

export function isValidVersion(s: string): boolean {
  return s.length <= MAX_VERSION_LENGTH && VERSION_RE.test(s);
}

export function parseVersion(s: string): Version {
  const m = s.length <= MAX_VERSION_LENGTH ? VERSION_RE.exec(s) : null;
  if (!m) throw new BinswarmError<VersionErrorCode>('BAD_VERSION', `invalid version '${s.slice(0, 60)}'`);
  const numbers = [m[1]!, ...(m[2] ? m[2].slice(1).split('.') : [])];
  const suffixes = (m[4] ?? '')
    .split('_')
    .filter((x) => x !== '')
    .map((x) => {
      const sm = /^(alpha|beta|pre|rc|p)(\d*)$/.exec(x)!;
      return { kind: sm[1] as SuffixKind, n: BigInt(sm[2] || '0') };
    });
  return { numbers, letter: m[3] ?? '', suffixes, revision: BigInt(m[5] ?? '0'), text: s };
}

function sign(x: number | bigint): -1 | 0 | 1 {
  return x > 0 ? 1 : x < 0 ? -1 : 0;
}

function cmpBig(a: bigint, b: bigint): -1 | 0 | 1 {
  return a > b ? 1 : a < b ? -1 : 0;
}

/** PMS 3.3: compare two versions; -1, 0 or 1. */
export function compareVersions(a: string | Version, b: string | Version): -1 | 0 | 1 {
  const va = typeof a === 'string' ? parseVersion(a) : a;
  const vb = typeof b === 'string' ? parseVersion(b) : b;
  const c0 = cmpBig(BigInt(va.numbers[0]!), BigInt(vb.numbers[0]!));
  if (c0 !== 0) return c0;
  const n = Math.min(va.numbers.length, vb.numbers.length);
  for (let i = 1; i < n; i++) {
    const x = va.numbers[i]!;
    const y = vb.numbers[i]!;
    let c: -1 | 0 | 1;
    if (x.startsWith('0') || y.startsWith('0')) {
      // A leading zero makes the component a decimal fraction: compare as strings without trailing zeros.
      const xs = x.replace(/0+$/, '');
      const ys = y.replace(/0+$/, '');
      c = xs === ys ? 0 : xs > ys ? 1 : -1;
    } else c = cmpBig(BigInt(x), BigInt(y));
    if (c !== 0) return c;
  }
  if (va.numbers.length !== vb.numbers.length) return sign(va.numbers.length - vb.numbers.length);
  if (va.letter !== vb.letter) return va.letter > vb.letter ? 1 : -1;
  const m = Math.max(va.suffixes.length, vb.suffixes.length);
  for (let i = 0; i < m; i++) {
    const x = va.suffixes[i];
    const y = vb.suffixes[i];
    const ox = x ? SUFFIX_ORDER[x.kind] : NO_SUFFIX;
    const oy = y ? SUFFIX_ORDER[y.kind] : NO_SUFFIX;
    if (ox !== oy) return sign(ox - oy);
    const c = cmpBig(x!.n, y!.n);
    if (c !== 0) return c;
  }
  return cmpBig(va.revision, vb.revision);
}

/** The version without its `-rN` part (what `~` compares). */
export function withoutRevision(v: string): string {
  return v.replace(/-r\d+$/, '');
}
