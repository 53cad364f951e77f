import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidAtom, matchesAtom, parseAtom, splitCpv } from '../../src/formats/atom.js';
import { compareVersions, isValidVersion } from '../../src/formats/version.js';
import { loadTestFixture } from '../helpers/env.js';

test("Portage's vercmp cases and the PMS ordering rules", () => {
  const { cases } = loadTestFixture('formats', 'vercmp.json') as { cases: { a: string; b: string; cmp: number | 'ne' }[] };
  assert.ok(cases.length >= 50);
  for (const { a, b, cmp } of cases) {
    const got = compareVersions(a, b);
    if (cmp === 'ne') assert.notEqual(got, 0, `${a} vs ${b}`);
    else assert.equal(got, cmp, `${a} vs ${b}`);
    if (cmp !== 'ne') assert.equal(compareVersions(b, a), -cmp || 0, `antisymmetry ${b} vs ${a}`);
  }
  for (const v of ['1', '1.0_p', '2.0b_alpha3_p4-r10']) assert.ok(isValidVersion(v), v);
  for (const v of ['', '1.', '.1', '1.0_gamma', '1-r', 'a1', '1.0-r1-r2']) assert.ok(!isValidVersion(v), v);
});

test("Portage's isvalidatom cases", () => {
  const { cases } = loadTestFixture('formats', 'atoms.json') as { cases: { atom: string; valid: boolean }[] };
  assert.ok(cases.length >= 100);
  const wrong = cases.filter((c) => isValidAtom(c.atom) !== c.valid).map((c) => `${c.atom} (expected ${c.valid})`);
  assert.deepEqual(wrong, []);
});

test('atom fields and matching', () => {
  const a = parseAtom('!>=dev-libs/libgreet-1.2_rc1-r2:0/1=::gentoo[static-libs,-debug,nls?,!doc=,abi(-)]');
  assert.equal(a.blocker, '!');
  assert.equal(a.operator, '>=');
  assert.equal(a.category, 'dev-libs');
  assert.equal(a.pn, 'libgreet');
  assert.equal(a.version, '1.2_rc1-r2');
  assert.equal(a.slot, '0');
  assert.equal(a.subslot, '1');
  assert.equal(a.slotOperator, '=');
  assert.equal(a.repo, 'gentoo');
  assert.deepEqual(a.useDeps.map((u) => u.flag), ['static-libs', 'debug', 'nls', 'doc', 'abi']);
  assert.equal(parseAtom('dev-libs/foo:=').slotOperator, '=');
  assert.equal(parseAtom('dev-libs/foo:*').slotOperator, '*');
  const pkg = { cpv: 'dev-libs/libgreet-1.2-r1', slot: '0', subslot: '1' };
  assert.ok(matchesAtom(parseAtom('>=dev-libs/libgreet-1.2'), pkg));
  assert.ok(!matchesAtom(parseAtom('>dev-libs/libgreet-1.2-r1'), pkg));
  assert.ok(matchesAtom(parseAtom('~dev-libs/libgreet-1.2'), pkg));
  assert.ok(matchesAtom(parseAtom('=dev-libs/libgreet-1*'), pkg));
  assert.ok(!matchesAtom(parseAtom('dev-libs/libgreet:0/2'), pkg));
  assert.ok(matchesAtom(parseAtom('dev-libs/libgreet:0'), pkg));
  assert.ok(!matchesAtom(parseAtom('dev-libs/other'), pkg));
  assert.deepEqual(splitCpv('app-misc/hello-1.0-r3'), { category: 'app-misc', pn: 'hello', version: '1.0-r3', revision: 3, pf: 'hello-1.0-r3' });
  assert.throws(() => splitCpv('app-misc/hello'), { code: 'BAD_CPV' });
  assert.throws(() => parseAtom('=app-misc/hello'), { code: 'BAD_ATOM' });
});
