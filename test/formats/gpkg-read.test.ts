import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspectPackage } from '../../src/formats/inspect.js';
import { parsePackagesIndex, packagePath } from '../../src/formats/packages-index.js';
import { fixturesDir, hasFixtures, need } from '../helpers/env.js';

for (const set of ['zstd', 'multi', 'xpak'] as const) {
  test(`every real ${set} package reads and agrees with Portage's Packages index`, async (t) => {
    if (!need(t, hasFixtures, '../shared fixtures')) return;
    const dir = join(fixturesDir, set);
    const index = parsePackagesIndex(readFileSync(join(dir, 'Packages'), 'utf8'));
    assert.ok(index.packages.length >= 3);
    for (const block of index.packages) {
      const info = await inspectPackage(join(dir, packagePath(block)!), { portageDigests: true });
      assert.equal(info.cpv, block.get('CPV'));
      assert.equal(String(info.archive.size), block.get('SIZE'));
      assert.equal(info.md5, block.get('MD5'));
      assert.equal(info.sha1, block.get('SHA1'));
      assert.equal(info.eapi, block.get('EAPI'));
      assert.deepEqual(info.use, block.get('USE')!.split(' '));
      assert.equal(info.buildId === undefined ? undefined : String(info.buildId), block.get('BUILD_ID'));
      assert.equal(info.chost, index.header.get('CHOST'));
      assert.equal(info.signed, false);
      assert.equal(info.format, set === 'xpak' ? 'xpak' : 'gpkg');
      assert.equal(info.compression, { zstd: 'zstd', multi: 'xz', xpak: 'bzip2' }[set]);
      for (const d of [info.imageDigest, info.metadataDigest, info.outputDigest, info.buildKey, info.configKey, info.archive.sha256]) {
        assert.match(d, /^[0-9a-f]{64}$/);
      }
    }
  });
}

test('metadata and build config of the real hello and libgreet', async (t) => {
  if (!need(t, hasFixtures, '../shared fixtures')) return;
  const hello = await inspectPackage(join(fixturesDir, 'zstd/app-misc/hello-1.0.gpkg.tar'));
  assert.equal(hello.metadata.category, 'app-misc');
  assert.equal(hello.metadata.pf, 'hello-1.0');
  assert.deepEqual(hello.iuse.sort(), ['debug', 'nls']);
  assert.deepEqual(hello.metadata.iuseDefaults, ['nls']);
  assert.deepEqual(hello.buildConfig.use, ['nls']);
  assert.deepEqual(hello.buildConfig.depAbi, ['dev-libs/libgreet:0/1']);
  assert.equal(hello.buildConfig.arch, 'amd64');
  assert.equal(hello.buildConfig.chost, 'x86_64-pc-linux-gnu');
  assert.equal(hello.buildConfig.cpv, 'app-misc/hello-1.0');
  assert.ok(hello.metadata.ebuild && hello.metadata.ebuild.includes('EAPI'));
  assert.ok(hello.metadata.environmentBz2 && hello.metadata.environmentBz2.subarray(0, 3).toString() === 'BZh');
  const lib = await inspectPackage(join(fixturesDir, 'zstd/dev-libs/libgreet-1.0.gpkg.tar'));
  assert.equal(lib.slot, '0');
  assert.equal(lib.subslot, '1');
  assert.deepEqual(lib.buildConfig.depAbi, []);
});

test('one config built into gpkg (zstd, xz) and xpak shares a buildKey; USE changes it', async (t) => {
  if (!need(t, hasFixtures, '../shared fixtures')) return;
  const a = await inspectPackage(join(fixturesDir, 'zstd/app-misc/hello-1.0.gpkg.tar'));
  const b = await inspectPackage(join(fixturesDir, 'multi/app-misc/hello/hello-1.0-1.gpkg.tar'));
  const c = await inspectPackage(join(fixturesDir, 'xpak/app-misc/hello-1.0.tbz2'));
  const d = await inspectPackage(join(fixturesDir, 'multi/app-misc/hello/hello-1.0-2.gpkg.tar'));
  assert.equal(a.buildKey, b.buildKey);
  assert.equal(a.buildKey, c.buildKey);
  assert.equal(a.configKey, c.configKey);
  assert.notEqual(a.buildKey, d.buildKey, 'USE="debug -nls" is another config');
  assert.deepEqual(d.buildConfig.use, ['debug']);
});
