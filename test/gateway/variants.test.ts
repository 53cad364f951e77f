/** Which install variant a gateway lists (pure, table test): the best one the policy asks for that has a trusted build, per CPV and USE. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseVariants } from '../../src/gateway/listing.js';

const item = (cpv: string, variant: string, use = '', id = 1) => ({
  entry: new Map([['CPV', cpv], ['USE', use]]),
  variant,
  pkg: { path: `${cpv}-${variant}-${use}-${id}`, cpv, buildId: id, archiveSha256: '', size: 0, outputDigest: '', buildKey: `${cpv}/${variant}/${use}/${id}`, level: 1, buildTime: 0 },
});

test('chooseVariants: slim where trusted, full otherwise; unasked presets hidden; custom counts as full; per CPV and USE', () => {
  const slimFirst = () => ['slim', 'full'];
  const fullOnly = () => ['full'];
  const cases: { name: string; prefs: (cpv: string) => string[]; items: ReturnType<typeof item>[]; want: string[] }[] = [
    { name: 'slim and full trusted, slim asked: slim only', prefs: slimFirst, items: [item('a/b-1', 'full'), item('a/b-1', 'slim')], want: ['a/b-1/slim//1'] },
    { name: 'only full trusted, slim asked: full', prefs: slimFirst, items: [item('a/b-1', 'full')], want: ['a/b-1/full//1'] },
    { name: 'slim asked by nobody: hidden, full listed', prefs: fullOnly, items: [item('a/b-1', 'full'), item('a/b-1', 'slim')], want: ['a/b-1/full//1'] },
    { name: 'only slim trusted, policy full only: nothing', prefs: fullOnly, items: [item('a/b-1', 'slim')], want: [] },
    { name: 'a custom INSTALL_MASK ranks as full', prefs: slimFirst, items: [item('a/b-1', 'custom')], want: ['a/b-1/custom//1'] },
    { name: 'both binrevs of the chosen variant stay listed', prefs: slimFirst, items: [item('a/b-1', 'slim', '', 1), item('a/b-1', 'slim', '', 2), item('a/b-1', 'full')], want: ['a/b-1/slim//1', 'a/b-1/slim//2'] },
    { name: 'per USE: a slim build for one USE does not hide the full one of another', prefs: slimFirst, items: [item('a/b-1', 'slim', 'nls'), item('a/b-1', 'full', '')], want: ['a/b-1/slim/nls/1', 'a/b-1/full//1'] },
    { name: 'per CPV preferences', prefs: (cpv) => (cpv.startsWith('app-doc/') ? ['full'] : ['slim', 'full']), items: [item('app-doc/d-1', 'slim'), item('app-doc/d-1', 'full'), item('a/b-1', 'slim'), item('a/b-1', 'full')], want: ['app-doc/d-1/full//1', 'a/b-1/slim//1'] },
  ];
  for (const c of cases) assert.deepEqual(chooseVariants(c.items, c.prefs).map((l) => l.pkg.buildKey), c.want, c.name);
});
