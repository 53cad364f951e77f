import assert from 'node:assert/strict';
import { cpSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fixturesDir, hasFixtures, need, tempDir } from '../helpers/env.js';

test('inspect --json on one package prints the documented fields', async (t) => {
  if (!need(t, hasFixtures, '../shared fixtures')) return;
  const r = await runCli(['inspect', '--json', join(fixturesDir, 'multi/app-misc/hello/hello-1.0-2.gpkg.tar')]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  for (const k of ['cpv', 'slot', 'subslot', 'buildId', 'eapi', 'chost', 'use', 'iuse', 'cflags', 'compression', 'signed', 'archive', 'imageDigest', 'metadataDigest', 'outputDigest', 'buildKey', 'configKey']) {
    assert.ok(k in j, `missing ${k}`);
  }
  assert.equal(j.cpv, 'app-misc/hello-1.0');
  assert.equal(j.buildId, 2);
  assert.equal(j.compression, 'xz');
  assert.equal(j.signed, false);
  assert.ok(j.use.includes('debug'));
  assert.equal(j.archive.size, 20480);
  assert.match(j.archive.sha256, /^[0-9a-f]{64}$/);
});

test('inspect without --json prints a readable summary', async (t) => {
  if (!need(t, hasFixtures, '../shared fixtures')) return;
  const r = await runCli(['inspect', join(fixturesDir, 'xpak/dev-libs/libgreet-1.0.tbz2')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /package\s+dev-libs\/libgreet-1\.0/);
  assert.match(r.stdout, /slot\s+0\/1/);
  assert.match(r.stdout, /output\s+[0-9a-f]{64}/);
});

test('inspect on a PKGDIR: clean → exit 0; problems → exit 1 with each problem', async (t) => {
  if (!need(t, hasFixtures, '../shared fixtures')) return;
  const ok = await runCli(['inspect', '--json', join(fixturesDir, 'zstd')]);
  assert.equal(ok.code, 0, ok.stderr);
  const clean = JSON.parse(ok.stdout);
  assert.equal(clean.packages.length, 3);
  assert.deepEqual(clean.problems, []);

  const dir = await tempDir(t);
  cpSync(join(fixturesDir, 'multi'), dir, { recursive: true });
  rmSync(join(dir, 'app-doc/greet-doc/greet-doc-1.0-1.gpkg.tar'));
  appendFileSync(join(dir, 'dev-libs/libgreet/libgreet-1.0-1.gpkg.tar'), Buffer.alloc(512));
  writeFileSync(join(dir, 'app-misc/stray-1.0.gpkg.tar'), 'not a package');
  const bad = await runCli(['inspect', '--json', dir]);
  assert.equal(bad.code, 1, bad.stderr);
  const report = JSON.parse(bad.stdout);
  const codes = report.problems.map((p: { code: string }) => p.code).sort();
  assert.ok(codes.includes('MISSING_FILE'), codes.join());
  assert.ok(codes.includes('SIZE_MISMATCH'), codes.join());
  assert.ok(codes.includes('MD5_MISMATCH'), codes.join());
  assert.ok(codes.includes('UNLISTED_FILE'), codes.join());
  assert.equal(report.packages.length, 3, 'the two hello instances and libgreet still read');
  const human = await runCli(['inspect', dir]);
  assert.equal(human.code, 1);
  assert.match(human.stdout, /problem: .*greet-doc.*missing/);
});

test('a corrupt file: exit 2, one line on stderr naming it, JSON error on stdout, no stack', async (t) => {
  const dir = await tempDir(t);
  const p = join(dir, 'broken-1.0.gpkg.tar');
  writeFileSync(p, Buffer.alloc(2048, 0x55));
  const r = await runCli(['inspect', '--json', p]);
  assert.equal(r.code, 2);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0]!.includes(p));
  assert.doesNotMatch(r.stderr, /\bat .*\.(js|ts):\d+/);
  const j = JSON.parse(r.stdout);
  assert.equal(j.error.code, 'BAD_TAR');
  const missing = await runCli(['inspect', join(dir, 'nope.gpkg.tar')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.gpkg\.tar: cannot read: ENOENT/);
});

test('--help for the program and for inspect', async () => {
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /inspect/);
  const sub = await runCli(['inspect', '--help']);
  assert.equal(sub.code, 0);
  assert.match(sub.stdout, /--json/);
  assert.match(sub.stdout, /Exit status/);
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
});
