/** Census of the real installed-package database (../shared/fixtures/portage/vdb, written by real Portage). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspectPackage } from '../../src/formats/inspect.js';
import { takeCensus } from '../../src/node/census.js';
import { runCli } from '../helpers/cli.js';
import { fixturesDir, hasFixtures, need, tempDir } from '../helpers/env.js';

const VDB = join(fixturesDir, 'vdb');
const file = async (pkg: string, key: string) => (await readFile(join(VDB, pkg, key), 'utf8')).replace(/\n$/, '');
const words = (s: string) => s.split(/\s+/).filter(Boolean);

test('census of the real VDB: each value comes from the package files, and configKey/buildKey equal the binary it was installed from', async (t) => {
  if (!need(t, hasFixtures, 'shared Portage fixtures')) return;
  const root = await tempDir(t);
  await mkdir(join(root, 'var', 'db'), { recursive: true });
  await symlink(VDB, join(root, 'var', 'db', 'pkg'));
  const census = await takeCensus(root);
  assert.deepEqual(census.problems, []);
  assert.deepEqual(census.configs.map((c) => c.cpv), ['app-doc/greet-doc-1.0', 'app-misc/hello-1.0', 'dev-libs/libgreet-1.0']);
  for (const c of census.configs) {
    const pkg = c.cpv;
    const pf = pkg.split('/')[1]!;
    const cfg = c.config;
    assert.equal(cfg.cpv, `${await file(pkg, 'CATEGORY')}/${await file(pkg, 'PF')}`);
    assert.equal(cfg.repo, await file(pkg, 'repository'));
    assert.equal(cfg.ebuild, createHash('sha256').update(await readFile(join(VDB, pkg, `${pf}.ebuild`))).digest('hex'));
    assert.equal(cfg.eapi, await file(pkg, 'EAPI'));
    assert.equal(cfg.chost, await file(pkg, 'CHOST'));
    assert.equal(cfg.cflags, await file(pkg, 'CFLAGS'));
    assert.equal(cfg.cxxflags, await file(pkg, 'CXXFLAGS'));
    assert.equal(cfg.ldflags, await file(pkg, 'LDFLAGS'));
    const iuse = new Set(words(await file(pkg, 'IUSE')).map((f) => f.replace(/^[+-]/, '')));
    assert.deepEqual(cfg.use, words(await file(pkg, 'USE')).filter((f) => iuse.has(f)).sort(), `${pkg}: USE ∩ IUSE`);
    assert.ok(words(await file(pkg, 'USE')).includes(cfg.arch), 'arch is the profile arch in USE');
    assert.deepEqual(cfg.features, words(await file(pkg, 'FEATURES')).filter((f) => ['binpkg-docompress', 'binpkg-dostrip', 'nostrip', 'splitdebug', 'strip'].includes(f)).sort());
    // The same package as a binary (it was installed from fixtures/zstd): same build, same keys.
    const bin = await inspectPackage(join(fixturesDir, 'zstd', `${pkg}.gpkg.tar`));
    assert.equal(c.configKey, bin.configKey, `${pkg} configKey`);
    assert.deepEqual(cfg, bin.buildConfig, `${pkg} build config`);
  }
  const hello = census.configs.find((c) => c.cpv === 'app-misc/hello-1.0')!.config;
  assert.deepEqual(hello.use, ['nls']);
  assert.equal(await file('app-misc/hello-1.0', 'RDEPEND'), 'dev-libs/libgreet:0/1=');
  assert.deepEqual(hello.depAbi, ['dev-libs/libgreet:0/1']);
});

test('census CLI: --dry-run prints exactly the payload; a broken entry is reported and the rest still counts; no database is bad input', async (t) => {
  if (!need(t, hasFixtures, 'shared Portage fixtures')) return;
  const dry = await runCli(['census', '--vdb', VDB, '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  const out = JSON.parse(dry.stdout) as { configs: { cpv: string }[]; submitted: unknown };
  assert.deepEqual(Object.keys(out).sort(), ['configs', 'problems', 'submitted']);
  assert.equal(out.submitted, null);
  assert.equal(out.configs.length, 3);
  const help = await runCli(['census', '--help']);
  assert.match(help.stdout, /Nothing else leaves the machine/);

  const root = await tempDir(t);
  const pkgdb = join(root, 'var', 'db', 'pkg');
  await cp(VDB, pkgdb, { recursive: true });
  await writeFile(join(pkgdb, 'app-misc', 'hello-1.0', 'PF'), 'hello-2.0\n');
  await rm(join(pkgdb, 'app-doc', 'greet-doc-1.0', 'SLOT'));
  const broken = await runCli(['census', '--root', root, '--json']);
  assert.equal(broken.code, 1, 'problems found');
  const b = JSON.parse(broken.stdout) as { configs: { cpv: string }[]; problems: { dir: string; code: string }[] };
  assert.deepEqual(b.configs.map((c) => c.cpv), ['dev-libs/libgreet-1.0']);
  assert.deepEqual(b.problems.map((p) => [p.dir.split('/').slice(-2).join('/'), p.code]), [['app-doc/greet-doc-1.0', 'BAD_METADATA'], ['app-misc/hello-1.0', 'BAD_VDB_ENTRY']]);

  const none = await runCli(['census', '--root', join(root, 'nowhere')]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /NO_VDB/);
  const noKey = await runCli(['census', '--vdb', VDB, '--coordinator', 'http://127.0.0.1:9']);
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /--key/);
});
