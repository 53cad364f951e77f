/**
 * The hand-written attestation check says yes exactly where AttestationSchema
 * (zod) does, on valid statements and on random and hostile mutations of
 * them: wrong types, missing and extra keys (`__proto__` too), every length
 * and number bound ±1, bad hex, base64, times and enums.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildKeyOf, configKeyOf } from '../../src/formats/build-config.js';
import { isAttestationShape } from '../../src/trust/attestation-shape.js';
import { AttestationSchema } from '../../src/trust/statements.js';
import { config } from '../helpers/trust-world.js';

const HEX = 'ab'.repeat(32);

function valid(): Record<string, unknown> {
  const c = config('app-misc/hello-1.0', { eclasses: ['toolchain-funcs'], depAbi: ['dev-libs/a:0/1'], links: ['libc.so.6'] });
  return {
    _type: 'binswarm/attestation/v1',
    builder: { keyId: HEX, publicKey: `${'A'.repeat(42)}Q=` },
    kind: 'build',
    cpv: c.cpv,
    buildConfig: c,
    buildKey: buildKeyOf(c),
    configKey: configKeyOf(c),
    outputDigest: 'c'.repeat(64),
    archive: { sha256: 'd'.repeat(64), size: 1234, pieceRoot: 'e'.repeat(64) },
    time: '2026-01-02T03:04:05Z',
  };
}

/** Every path to a value in the statement (objects and arrays included). */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = at.length ? [at] : [];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

function setAt(root: unknown, path: (string | number)[], f: (parent: Record<string | number, unknown>, key: string | number) => void): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  f(o, path[path.length - 1]!);
  return copy;
}

const same = (v: unknown) => assert.equal(isAttestationShape(v), AttestationSchema.safeParse(v).success, JSON.stringify(v));

// Values at and around every bound of the schema, and of the wrong types.
const hostile: unknown[] = [
  null, true, 0, -0, 1, 1.5, -1, 2 ** 45, 2 ** 45 + 1, 2 ** 53, Number.MAX_SAFE_INTEGER, 1e300, '', 'ab', 'abc', '1',
  'x'.repeat(10), 'x'.repeat(11), 'x'.repeat(50), 'x'.repeat(51), 'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(99), 'x'.repeat(100), 'x'.repeat(101),
  'x'.repeat(200), 'x'.repeat(201), 'x'.repeat(300), 'x'.repeat(301), 'x'.repeat(4000), 'x'.repeat(4001), '😀'.repeat(50), '😀'.repeat(51),
  // Zod counts code points: a surrogate pair is one, a lone surrogate one.
  '😀', '😀😀', '😀😀x', '😀'.repeat(64), `${'😀'.repeat(64)}x`, '\ud83d'.repeat(65), '\ud83d'.repeat(64), `x${'😀'.repeat(99)}`, '😀'.repeat(101),
  'a'.repeat(64), 'A'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), `${'a'.repeat(64)}\n`, `${'A'.repeat(43)}=`, `${'A'.repeat(43)}`, `${'A'.repeat(42)}==`, `${'-'.repeat(43)}=`,
  '2026-01-02T03:04:05Z', '2026-01-02T03:04:05.123Z', '2026-01-02T03:04:05.1234Z', '2026-02-30T03:04:05Z', '2026-13-02T03:04:05Z', '2026-01-02T25:04:05Z', '2026-01-02 03:04:05Z', '2026-01-02T03:04:05+00:00',
  'build', 'verify', 'contribute', 'Build', 'binswarm/attestation/v1', 'binswarm/certificate/v1',
  [], [''], ['x'], Array(501).fill('x'), Array(101).fill('x'), Array(2000).fill('x'), Array(2001).fill('x'), ['x'.repeat(101)], ['x'.repeat(301)], [1], [null],
  {}, { keyId: HEX }, { sha256: 'd'.repeat(64), size: 1, pieceRoot: 'e'.repeat(64), extra: 1 },
];

test('the valid statement passes both; every hostile value at every path is judged alike', () => {
  const base = valid();
  assert.equal(isAttestationShape(base), true);
  assert.equal(AttestationSchema.safeParse(base).success, true);
  let accepted = 0;
  let refused = 0;
  for (const p of paths(base)) {
    for (const h of hostile) {
      const v = setAt(base, p, (o, k) => (o[k] = h));
      same(v);
      if (isAttestationShape(v)) accepted += 1;
      else refused += 1;
    }
    // A key removed, and an extra key next to it (hostile names included).
    same(setAt(base, p, (o, k) => delete o[k]));
    for (const extra of ['__proto__', 'constructor', 'toString', 'extra', '0']) {
      same(setAt(base, p, (o) => void (Array.isArray(o) ? o : Object.defineProperty(o, extra, { value: 1, enumerable: true, writable: true, configurable: true }))));
    }
  }
  // Hostile keys as JSON.parse makes them (own properties, e.g. "__proto__").
  for (const k of ['__proto__', 'constructor', 'hasOwnProperty']) {
    same(JSON.parse(JSON.stringify(base).replace('{', `{"${k}":{"x":1},`)));
    same(JSON.parse(JSON.stringify(base).replace('"archive":{', `"archive":{"${k}":1,`)));
  }
  assert.ok(accepted > 100 && refused > 1000, `accepted ${accepted}, refused ${refused}`);
  for (const top of hostile) same(top);
});

test('random JSON values in random places are judged alike', () => {
  const base = valid();
  const all = paths(base);
  fc.assert(
    fc.property(fc.nat(all.length - 1), fc.jsonValue(), fc.boolean(), (i, value, asString) => {
      const v = setAt(base, all[i]!, (o, k) => (o[k] = asString ? JSON.stringify(value) : value));
      same(v);
    }),
    { numRuns: 3000 },
  );
  fc.assert(fc.property(fc.jsonValue(), (v) => same(v)), { numRuns: 500 });
});
