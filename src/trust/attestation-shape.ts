/**
 * A hand-written check of exactly AttestationSchema's rules (statements.ts),
 * for the hot path: zod costs several microseconds per attestation, which is
 * a large part of opening one next to its signature check. It is only ever
 * a fast "yes": parsePayload asks zod whenever this says no, so zod stays
 * the authority for every refusal and its message, and a test checks that
 * both agree on random and hostile JSON.
 */

const HEX64 = /^[0-9a-f]{64}$/;
const KEY_B64 = /^[A-Za-z0-9+/]{43}=$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Exactly these keys (the optional ones may be missing). */
function keysAre(o: Obj, required: readonly string[], optional: readonly string[] = []): boolean {
  let n = 0;
  for (const k of Object.keys(o)) {
    if (required.includes(k)) n += 1;
    else if (!optional.includes(k)) return false;
  }
  return n === required.length;
}

/** Unicode code points, as zod measures strings: a surrogate pair is one, a lone surrogate one. */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n -= 1;
      i += 1;
    }
  }
  return n;
}

function str(v: unknown, min: number, max: number): boolean {
  if (typeof v !== 'string') return false;
  // A code point is one or two UTF-16 units: only strings near a bound need counting.
  if (v.length <= max && v.length >= 2 * min) return true;
  const n = codePoints(v);
  return n >= min && n <= max;
}

function strs(v: unknown, itemMin: number, itemMax: number, min: number, max: number): boolean {
  if (!Array.isArray(v) || v.length < min || v.length > max) return false;
  for (const x of v) if (!str(x, itemMin, itemMax)) return false;
  return true;
}

const hex64 = (v: unknown) => typeof v === 'string' && HEX64.test(v);
const iso = (v: unknown) => typeof v === 'string' && ISO.test(v) && !Number.isNaN(Date.parse(v));
const keyRef = (v: unknown) => isObj(v) && keysAre(v, ['keyId', 'publicKey']) && hex64(v.keyId) && typeof v.publicKey === 'string' && KEY_B64.test(v.publicKey);

const CONFIG_KEYS = ['v', 'cpv', 'repo', 'ebuild', 'eclasses', 'eapi', 'chost', 'arch', 'use', 'cflags', 'cxxflags', 'ldflags', 'features', 'installMask', 'depAbi'];
const CONFIG_OPTIONAL = ['links'];

function buildConfig(c: unknown): boolean {
  return (
    isObj(c) &&
    keysAre(c, CONFIG_KEYS, CONFIG_OPTIONAL) &&
    c.v === 1 &&
    str(c.cpv, 3, 300) &&
    str(c.repo, 0, 200) &&
    str(c.ebuild, 0, 64) &&
    strs(c.eclasses, 0, 100, 0, 500) &&
    str(c.eapi, 0, 10) &&
    str(c.chost, 0, 100) &&
    str(c.arch, 0, 50) &&
    strs(c.use, 0, 100, 0, 2000) &&
    str(c.cflags, 0, 4000) &&
    str(c.cxxflags, 0, 4000) &&
    str(c.ldflags, 0, 4000) &&
    strs(c.features, 0, 100, 0, 100) &&
    str(c.installMask, 0, 4000) &&
    strs(c.depAbi, 0, 300, 0, 2000) &&
    (!Object.hasOwn(c, 'links') || strs(c.links, 1, 300, 1, 2000))
  );
}

const TOP_KEYS = ['_type', 'builder', 'kind', 'cpv', 'buildConfig', 'buildKey', 'configKey', 'outputDigest', 'archive', 'time'];

function archive(a: unknown): boolean {
  return isObj(a) && keysAre(a, ['sha256', 'size', 'pieceRoot']) && hex64(a.sha256) && typeof a.size === 'number' && Number.isSafeInteger(a.size) && a.size >= 0 && a.size <= 2 ** 45 && hex64(a.pieceRoot);
}

/** True only for a JSON value AttestationSchema accepts unchanged. */
export function isAttestationShape(v: unknown): boolean {
  return (
    isObj(v) &&
    keysAre(v, TOP_KEYS) &&
    v._type === 'binswarm/attestation/v1' &&
    keyRef(v.builder) &&
    (v.kind === 'build' || v.kind === 'verify' || v.kind === 'contribute') &&
    str(v.cpv, 3, 300) &&
    buildConfig(v.buildConfig) &&
    hex64(v.buildKey) &&
    hex64(v.configKey) &&
    hex64(v.outputDigest) &&
    archive(v.archive) &&
    iso(v.time)
  );
}
