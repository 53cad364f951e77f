/**
 * What binswarm writes, real Portage installs: every package of the real
 * fixture PKGDIR is unpacked and re-written by our gpkg writer (other
 * compression, our own tar layout), listed in a Packages index made by our
 * entry writer, served over HTTP, and installed by the real
 * `emerge --getbinpkgonly` from ../shared/tools/portage.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { extractGpkgImage } from '../../src/formats/extract.js';
import { readGpkg } from '../../src/formats/gpkg-read.js';
import { writeGpkg } from '../../src/formats/gpkg-write.js';
import { inspectPackage } from '../../src/formats/inspect.js';
import { packagesEntryOf } from '../../src/formats/packages-entry.js';
import { packagePath, readPackagesIndexFile, writePackagesIndexFiles } from '../../src/formats/packages-index.js';
import { fixturesDir, hasFixtures, need, tempDir } from '../helpers/env.js';
import { portageAvailable, runGetbinpkg, serveDir } from '../helpers/portage.js';

test('Packages entries made from a package equal the ones real Portage wrote', async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  for (const layout of ['zstd', 'multi']) {
    const index = await readPackagesIndexFile(join(fixturesDir, layout, 'Packages'));
    for (const block of index.packages) {
      const rel = packagePath(block)!;
      const path = join(fixturesDir, layout, rel);
      const g = await readGpkg(path, { portageDigests: true });
      const entry = packagesEntryOf(g.metadata, {
        path: rel,
        size: g.archive.size,
        md5: g.archive.md5!,
        sha1: g.archive.sha1!,
        mtime: Number(block.get('MTIME')),
        header: index.header,
      });
      const want = new Map(block);
      // Portage keeps REPO_REVISIONS only on the entry it added last (bintree `_init_aux_keys`).
      want.delete('REPO_REVISIONS');
      assert.deepEqual([...entry], [...want], `${layout}/${rel}`);
    }
  }
});

test('packages re-written by writeGpkg install with the real emerge --getbinpkgonly', async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  if (!need(t, portageAvailable, 'the real Portage client (../shared/tools/portage, python3, wget or curl)')) return;
  const dir = await tempDir(t);
  const served = join(dir, 'binhost');
  const source = await readPackagesIndexFile(join(fixturesDir, 'zstd', 'Packages'));
  const packages: Map<string, string>[] = [];
  for (const block of source.packages) {
    const rel = packagePath(block)!;
    const original = join(fixturesDir, 'zstd', rel);
    const g = await readGpkg(original);
    const image = join(dir, 'img', rel);
    mkdirSync(join(image, '..'), { recursive: true });
    await extractGpkgImage(original, image);
    const out = join(served, rel);
    mkdirSync(join(out, '..'), { recursive: true });
    const written = await writeGpkg({ imageDir: image, metadata: Object.fromEntries(g.metadataFiles), out, basename: g.basename, compression: 'xz', mtime: 1_700_000_000 });
    const info = await inspectPackage(out, { portageDigests: true });
    const before = await inspectPackage(original);
    assert.equal(info.outputDigest, before.outputDigest, `${rel}: same tree and metadata → same outputDigest`);
    assert.notEqual(info.archive.sha256, before.archive.sha256);
    assert.equal(info.compression, 'xz');
    const mtime = Math.floor((await stat(out)).mtimeMs / 1000);
    packages.push(packagesEntryOf(g.metadata, { path: rel, size: written.size, md5: info.md5!, sha1: info.sha1!, mtime, header: source.header }));
  }
  await writePackagesIndexFiles(served, { header: source.header, packages });
  const server = await serveDir(served);
  t.after(() => server.close());

  const { report, log } = await runGetbinpkg(server.url, ['app-misc/hello']);
  assert.equal(report.ok, true, `emerge failed: ${report.error}\n${log.slice(-3000)}`);
  assert.deepEqual([...report.merged].sort(), ['app-misc/hello-1.0', 'dev-libs/libgreet-1.0']);
  assert.ok(server.requests.some((p) => p.endsWith('hello-1.0.gpkg.tar')), 'the client downloaded our archive');
});
