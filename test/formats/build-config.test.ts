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
});

test('the fast build-config serialisation is RFC 8785 canonical JSON (any strings, any order)', () => {
  fc.assert(
    fc.property(config, fc.boolean(), (c, reverse) => {
      const shuffled = Object.fromEntries(reverse ? Object.entries(c).reverse() : Object.entries(c)) as unknown as BuildConfig;
      assert.equal(buildConfigJson(shuffled), canonicalJson(c));
      assert.equal(buildKeyOf(shuffled), createHash('sha256').update(canonicalJson(c)).digest('hex'));
      const { depAbi: _d, ...rest } = c;
      assert.equal(configKeyOf(shuffled), createHash('sha256').update(canonicalJson(rest)).digest('hex'));
    }),
    { numRuns: 300 },
  );
});
