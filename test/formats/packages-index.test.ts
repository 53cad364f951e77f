import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { effectiveField, formatPackagesIndex, packagePath, parsePackagesIndex, readPackagesIndexFile, writePackagesIndexFiles } from '../../src/formats/packages-index.js';
import { fixturesDir, hasFixtures, need, tempDir } from '../helpers/env.js';

for (const set of ['zstd', 'multi', 'xpak']) {
  test(`Packages of the real ${set} PKGDIR round-trips byte for byte (plain and .gz)`, async (t) => {
    if (!need(t, hasFixtures, '../shared fixtures')) return;
    const text = readFileSync(join(fixturesDir, set, 'Packages'), 'utf8');
    const index = parsePackagesIndex(text);
    assert.equal(formatPackagesIndex(index), text);
    assert.equal(index.header.get('VERSION'), '0');
    assert.equal(Number(index.header.get('PACKAGES')), index.packages.length);
    const gz = await readPackagesIndexFile(join(fixturesDir, set, 'Packages.gz'));
    assert.equal(formatPackagesIndex(gz), text);
  });
}

test('multi-instance index: two hello instances, PATH layout, inherited CHOST', async (t) => {
  if (!need(t, hasFixtures, '../shared fixtures')) return;
  const index = await readPackagesIndexFile(join(fixturesDir, 'multi/Packages'));
  const hellos = index.packages.filter((b) => b.get('CPV') === 'app-misc/hello-1.0');
  assert.deepEqual(hellos.map((b) => b.get('BUILD_ID')), ['1', '2']);
  assert.deepEqual(hellos.map((b) => packagePath(b)), ['app-misc/hello/hello-1.0-1.gpkg.tar', 'app-misc/hello/hello-1.0-2.gpkg.tar']);
  assert.equal(effectiveField(hellos[0]!, index.header, 'CHOST'), 'x86_64-pc-linux-gnu');
  assert.equal(effectiveField(hellos[0]!, index.header, 'ARCH'), undefined, 'ARCH is not inherited');
  assert.equal(packagePath(new Map([['CPV', 'a/b-1']])), 'a/b-1.tbz2');
});

test('unknown keys and their order are kept; a rewritten index stays parseable', async (t) => {
  const text = 'VERSION: 0\nZZZ_CUSTOM: keep me\nTIMESTAMP: 5\n\nCPV: a/b-1\nWEIRD_KEY: x y\nSIZE: 3\n\n';
  const index = parsePackagesIndex(text);
  assert.equal(formatPackagesIndex(index), text);
  index.header.set('TIMESTAMP', '6');
  const dir = await tempDir(t);
  await writePackagesIndexFiles(dir, index);
  const again = readFileSync(join(dir, 'Packages'), 'utf8');
  assert.match(again, /TIMESTAMP: 6/);
  assert.equal(gunzipSync(readFileSync(join(dir, 'Packages.gz'))).toString(), again);
  const first = readFileSync(join(dir, 'Packages.gz'));
  await writePackagesIndexFiles(dir, index);
  assert.deepEqual(readFileSync(join(dir, 'Packages.gz')), first, 'deterministic gzip');
});

test('malformed index → BAD_INDEX with the line number', () => {
  assert.throws(() => parsePackagesIndex('VERSION: 0\n\nCPV a/b-1\n'), (e: { code: string; message: string }) => e.code === 'BAD_INDEX' && /line 3/.test(e.message));
  assert.throws(() => parsePackagesIndex('VERSION: 0\n\nCPV: a\nCPV: b\n'), { code: 'BAD_INDEX' });
  assert.throws(() => parsePackagesIndex('bad key: 1\n'), { code: 'BAD_INDEX' });
  assert.deepEqual(parsePackagesIndex('').packages, []);
});
