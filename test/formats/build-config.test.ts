import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildConfigJson, buildKeyOf, configKeyOf, type BuildConfig } from '../../src/formats/build-config.js';
import { canonicalJson } from '../../src/formats/canonical-json.js';

const text = fc.string({ unit: 'binary', maxLength: 30 });
const config = fc.record({
  v: fc.constant(1 as const),
  cpv: text, repo: text, ebuild: text, eclasses: fc.array(text), eapi: text, chost: text, arch: text,
  use: fc.array(text), cflags: text, cxxflags: text, ldflags: text, features: fc.array(text), installMask: text, depAbi: fc.array(text),
}).chain((c) => fc.option(fc.array(text, { minLength: 1 }), { nil: undefined }).map((links) => (links ? { ...c, links } : c)));

test('the fast build-config serialisation is RFC 8785 canonical JSON (any strings, any order)', () => {
  fc.assert(
    fc.property(config, fc.boolean(), (c, reverse) => {
      const shuffled = Object.fromEntries(reverse ? Object.entries(c).reverse() : Object.entries(c)) as unknown as BuildConfig;
      assert.equal(buildConfigJson(shuffled), canonicalJson(c));
      assert.equal(buildKeyOf(shuffled), createHash('sha256').update(canonicalJson(c)).digest('hex'));
      const { depAbi: _d, links: _l, ...rest } = c as typeof c & { links?: string[] };
      assert.equal(configKeyOf(shuffled), createHash('sha256').update(canonicalJson(rest)).digest('hex'));
    }),
    { numRuns: 300 },
  );
});

test('odd keys (integer-like, __proto__) still serialise canonically', () => {
  for (const extra of ['10', '9', '0', '__proto__', 'constructor', '_a']) {
    const c: Record<string, unknown> = { v: 1, cpv: 'a/b-1', use: ['x'] };
    Object.defineProperty(c, extra, { value: 'y', enumerable: true, writable: true, configurable: true });
    const expected = canonicalJson(c);
    assert.ok(expected.includes(`"${extra}":"y"`));
    assert.equal(buildConfigJson(c as unknown as BuildConfig), expected, extra);
  }
});

test('links: in buildKey, not in configKey; absent links leave the buildKey as it was', () => {
  const base: BuildConfig = { v: 1, cpv: 'app-misc/tool-1.0', repo: 'gentoo', ebuild: 'e'.repeat(64), eclasses: [], eapi: '8', chost: 'x86_64-pc-linux-gnu', arch: 'amd64', use: [], cflags: '-O2', cxxflags: '-O2', ldflags: '', features: [], installMask: '', depAbi: [] };
  const v1 = { ...base, links: ['libc.so.6', 'libgreet.so.1'] };
  const v2 = { ...base, links: ['libc.so.6', 'libgreet.so.2'] };
  assert.equal(configKeyOf(v1), configKeyOf(v2), 'one configuration');
  assert.equal(configKeyOf(v1), configKeyOf(base));
  assert.notEqual(buildKeyOf(v1), buildKeyOf(v2), 'two builds of it');
  assert.notEqual(buildKeyOf(v1), buildKeyOf(base));
  // The pre-links definition: sha256 of the canonical JSON of exactly the old fields.
  assert.equal(buildKeyOf(base), createHash('sha256').update(canonicalJson(base)).digest('hex'));
  assert.equal(buildKeyOf(v1), createHash('sha256').update(canonicalJson(v1)).digest('hex'));
});
