/**
 * `publish` over a PKGDIR holding one package with a hostile image entry
 * among good ones: the hostile one is skipped with the reader's reason
 * (entry and rule), the others are attested, submitted and offered.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import { buildCoordinatorApp } from '../../src/coordinator/server.js';
import { openStore } from '../../src/coordinator/store/sql-store.js';
import { BlobStore } from '../../src/transfer/blob-store.js';
import { publishPkgdir } from '../../src/node/contribute.js';
import { generateKey } from '../../src/trust/keys.js';
import { fixturesDir, hasFixtures, need, tempDir } from '../helpers/env.js';
import { craftGpkg, demoMembers, tarOf, withImage } from '../helpers/gpkg-craft.js';
import { coordinatorWithBuilder } from '../helpers/one-builder.js';

test('publish skips a package with a hostile image entry, says why, and goes on with the others', async (t) => {
  if (!need(t, hasFixtures, '../shared fixtures')) return;
  const dir = await tempDir(t);
  const { w, builder, store, url } = await coordinatorWithBuilder(t, dir);

  // The real zstd PKGDIR plus app-misc/escape-1.0, listed in Packages with true SIZE/MD5/SHA1.
  const pkgdir = join(dir, 'binpkgs');
  cpSync(join(fixturesDir, 'zstd'), pkgdir, { recursive: true });
  const md = { CATEGORY: 'app-misc\n', PF: 'escape-1.0\n', SLOT: '0\n', EAPI: '8\n', USE: 'amd64\n', CHOST: 'x86_64-pc-linux-gnu\n' };
  const members = await demoMembers({ metadata: md });
  const escaping = await tarOf([{ name: 'image/', type: 'directory' }, { name: 'image/../../escape', data: Buffer.from('owned\n') }]);
  const bytes = await craftGpkg([members[0]!, members[1]!, (await withImage(escaping))[2]!]);
  writeFileSync(join(pkgdir, 'app-misc/escape-1.0.gpkg.tar'), bytes);
  const digest = (a: string) => createHash(a).update(bytes).digest('hex');
  appendFileSync(join(pkgdir, 'Packages'), `CPV: app-misc/escape-1.0\nPATH: app-misc/escape-1.0.gpkg.tar\nSIZE: ${bytes.length}\nMD5: ${digest('md5')}\nSHA1: ${digest('sha1')}\nSLOT: 0\n`);

  const data = await BlobStore.open(join(dir, 'node'));
  const result = await publishPkgdir(pkgdir, { coordinator: url, key: builder, certificates: w.certificates, store: data, publicUrl: 'http://127.0.0.1:9' });
  assert.deepEqual(result.packages.map((p) => p.cpv).sort(), ['app-doc/greet-doc-1.0', 'app-misc/hello-1.0', 'dev-libs/libgreet-1.0']);
  assert.deepEqual(result.packages.map((p) => p.action), ['uploaded', 'uploaded', 'uploaded']);
  assert.equal(result.problems.length, 1, JSON.stringify(result.problems));
  const p = result.problems[0]!;
  assert.equal(p.path, 'app-misc/escape-1.0.gpkg.tar');
  assert.equal(p.code, 'HOSTILE_ENTRY');
  assert.match(p.message, /"image\/\.\.\/\.\.\/escape".*rule dot-dot/);
  const listed = await new CoordinatorClient(url).packages({});
  assert.deepEqual(listed.map((g) => g.cpv).sort(), ['app-doc/greet-doc-1.0', 'app-misc/hello-1.0', 'dev-libs/libgreet-1.0'], 'nothing attested for the hostile package');
  assert.equal(await data.has(digest('sha256')), false, 'the hostile archive is not stored or offered');
});
