/**
 * The example backend compiles the bundled repository with the system C
 * compiler: real gpkgs, reproducible across build directories, USE flags
 * that change the output, `:=` dependencies recorded with the subslot, and
 * clear refusals for what it cannot honour.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { JobSpec } from '../../src/api/v1.js';
import { exampleSpec } from '../helpers/builders.js';
import { ExampleBackend } from '../../src/builder/example-backend.js';
import { exampleRepoDir } from '../../src/builder/example-repo.js';
import { TAMPER_ENV, TAMPER_VALUE, tamperRequested } from '../../src/builder/tamper.js';
import { isBinswarmError } from '../../src/errors.js';
import { readGpkg } from '../../src/formats/gpkg-read.js';
import { inspectPackage } from '../../src/formats/inspect.js';
import { installMaskOfVariant } from '../../src/formats/install-mask.js';
import { parseImageListing } from '../../src/formats/listing-diff.js';
import { hasProgram, need, tempDir } from '../helpers/env.js';

const hasCc = hasProgram('cc');

let n = 0;
async function build(t: TestContext, spec: JobSpec, signal = new AbortController().signal) {
  const dir = await tempDir(t);
  const workDir = join(dir, `job-${n++}`);
  mkdirSync(workDir);
  const out = await new ExampleBackend().build({ spec, workDir, signal });
  return inspectPackage(out.path, { portageDigests: true });
}

async function refusal(t: TestContext, spec: JobSpec): Promise<string> {
  try {
    await build(t, spec);
  } catch (e) {
    assert.ok(isBinswarmError(e), String(e));
    assert.equal(e.code, 'BUILD_REFUSED');
    return e.message;
  }
  assert.fail('the build was not refused');
}

test('libdemo and hello-demo build into real gpkgs with Portage metadata; hello-demo records libdemo:0/1=', { skip: process.arch !== 'x64' && 'amd64 CHOST only' }, async (t) => {
  if (!need(t, hasCc, 'a C compiler (cc)')) return;
  const lib = await build(t, exampleSpec('dev-libs/libdemo-1.0', ['static-libs']));
  assert.equal(lib.slot, '0');
  assert.equal(lib.subslot, '1');
  assert.equal(lib.metadata.repository, 'binswarm-example');
  assert.deepEqual(lib.buildConfig.use, ['static-libs']);
  const g = await readGpkg(lib.path);
  assert.ok(g.metadataFiles.has('libdemo-1.0.ebuild') && g.metadataFiles.has('environment.bz2'));
  assert.equal(lib.buildConfig.ebuild, createHash('sha256').update(readFileSync(join(exampleRepoDir(), 'dev-libs/libdemo/libdemo-1.0.ebuild'))).digest('hex'));

  const hello = await build(t, exampleSpec('app-misc/hello-demo-1.0', ['nls']));
  assert.equal(hello.metadata.rdepend, 'dev-libs/libdemo:0/1=');
  assert.deepEqual(hello.buildConfig.depAbi, ['dev-libs/libdemo:0/1']);
  assert.deepEqual(hello.iuse.sort(), ['debug', 'nls']);
  assert.deepEqual(hello.use, ['amd64', 'elibc_glibc', 'kernel_linux', 'nls']);
  assert.equal(hello.metadata.eapi, '8');
  assert.equal(hello.metadata.cflags, '-O2 -pipe');
  if (hasProgram('scanelf', ['-V'])) assert.match(lib.metadata.provides, /x86_64: libdemo\.so\.1/);
});

test('builds are reproducible across build directories; USE flags change the output', async (t) => {
  if (!need(t, hasCc, 'a C compiler (cc)')) return;
  const a = await build(t, exampleSpec('app-misc/hello-demo-1.0', ['debug', 'nls']));
  const b = await build(t, exampleSpec('app-misc/hello-demo-1.0', ['debug', 'nls']));
  assert.equal(a.outputDigest, b.outputDigest, 'two builds of one configuration (debug info included) agree');
  assert.equal(a.buildKey, b.buildKey);
  const c = await build(t, exampleSpec('app-misc/hello-demo-1.0', []));
  assert.notEqual(c.outputDigest, a.outputDigest);
  assert.notEqual(c.buildKey, a.buildKey);
  const d = await build(t, exampleSpec('app-misc/hello-demo-1.0', ['debug', 'nls'], { cflags: '-O1 -pipe' }));
  assert.notEqual(d.outputDigest, a.outputDigest, 'CFLAGS reach the compiler');
});

test('a second libdemo version with a new subslot: hello-demo records it (new depAbi → new buildKey, same configKey)', async (t) => {
  if (!need(t, hasCc, 'a C compiler (cc)')) return;
  const dir = await tempDir(t);
  const repo = join(dir, 'repo');
  cpSync(exampleRepoDir(), repo, { recursive: true });
  const v1 = readFileSync(join(repo, 'dev-libs/libdemo/libdemo-1.0.ebuild'), 'utf8');
  writeFileSync(join(repo, 'dev-libs/libdemo/libdemo-2.0.ebuild'), v1.replace('SLOT="0/1"', 'SLOT="0/2"').replaceAll('libdemo.so.1', 'libdemo.so.2'));
  const build2 = async (r?: string) => {
    const workDir = join(dir, `job-${n++}`);
    mkdirSync(workDir);
    const out = await new ExampleBackend(r ? { repoDir: r } : {}).build({ spec: exampleSpec('app-misc/hello-demo-1.0', ['nls']), workDir, signal: new AbortController().signal });
    return inspectPackage(out.path);
  };
  const old = await build2();
  const rebuilt = await build2(repo);
  assert.equal(rebuilt.metadata.rdepend, 'dev-libs/libdemo:0/2=');
  assert.deepEqual(rebuilt.buildConfig.depAbi, ['dev-libs/libdemo:0/2']);
  assert.equal(rebuilt.configKey, old.configKey);
  assert.notEqual(rebuilt.buildKey, old.buildKey);
  if (hasProgram('scanelf', ['-V'])) assert.match(rebuilt.metadata.requires, /libdemo\.so\.2/);
});

test('what the backend cannot honour is refused with a clear reason, never built wrong', async (t) => {
  if (!need(t, hasCc, 'a C compiler (cc)')) return;
  assert.match(await refusal(t, exampleSpec('app-misc/nonexistent-1.0', [])), /unknown package app-misc\/nonexistent-1\.0/);
  assert.match(await refusal(t, exampleSpec('app-misc/hello-demo-1.0', ['nls', 'gtk'])), /USE flag gtk not in IUSE \(debug nls\)/);
  assert.match(await refusal(t, exampleSpec('app-misc/hello-demo-1.0', ['nls'], { ebuild: 'f'.repeat(64) })), /ebuild digest mismatch/);
  assert.match(await refusal(t, exampleSpec('app-misc/hello-demo-1.0', ['nls'], { chost: 'aarch64-unknown-linux-gnu' })), /CHOST aarch64-unknown-linux-gnu is not this builder's/);
  assert.match(await refusal(t, exampleSpec('app-misc/hello-demo-1.0', ['nls'], { repo: 'gentoo' })), /repository 'gentoo'/);
  assert.match(await refusal(t, exampleSpec('app-misc/hello-demo-1.0', ['nls'], { features: ['splitdebug'] })), /FEATURES splitdebug not supported/);
  assert.match(await refusal(t, exampleSpec('app-misc/hello-demo-1.0', ['nls'], { eapi: '7' })), /EAPI 7 wanted/);
});

test('a relative build directory works (the phases run in other directories)', async (t) => {
  if (!need(t, hasCc, 'a C compiler (cc)')) return;
  const dir = await tempDir(t);
  const out = await new ExampleBackend().build({ spec: exampleSpec('app-misc/hello-demo-1.0', ['nls']), workDir: relative(process.cwd(), join(dir, 'job')), signal: new AbortController().signal });
  assert.deepEqual((await inspectPackage(out.path)).buildConfig.depAbi, ['dev-libs/libdemo:0/1']);
});

test('a cancelled build stops with BUILD_CANCELLED', async (t) => {
  if (!need(t, hasCc, 'a C compiler (cc)')) return;
  const ac = new AbortController();
  ac.abort(new Error('lease lost'));
  await assert.rejects(build(t, exampleSpec('app-misc/hello-demo-1.0', ['nls']), ac.signal), (e: unknown) => isBinswarmError(e) && e.code === 'BUILD_CANCELLED' && /lease lost/.test(e.message));
});

test('the test-only tamper hook needs its exact value and changes the output', async (t) => {
  if (!need(t, hasCc, 'a C compiler (cc)')) return;
  assert.equal(tamperRequested({ [TAMPER_ENV]: '1' }), false);
  assert.equal(tamperRequested({ [TAMPER_ENV]: 'yes' }), false);
  assert.equal(tamperRequested({ [TAMPER_ENV.replace('TEST_ONLY_', '')]: TAMPER_VALUE }), false);
  assert.equal(tamperRequested({ [TAMPER_ENV]: TAMPER_VALUE }), true);
  const honest = await build(t, exampleSpec('dev-libs/libdemo-1.0', []));
  process.env[TAMPER_ENV] = TAMPER_VALUE;
  try {
    const tampered = await build(t, exampleSpec('dev-libs/libdemo-1.0', []));
    assert.equal(tampered.buildKey, honest.buildKey);
    assert.notEqual(tampered.outputDigest, honest.outputDigest);
    assert.equal(tampered.metadataDigest, honest.metadataDigest, 'only the image changed');
  } finally {
    delete process.env[TAMPER_ENV];
  }
});

test('the example repository ships with the package', () => {
  const pkg = JSON.parse(readFileSync(join(exampleRepoDir(), '..', '..', '..', 'package.json'), 'utf8')) as { files: string[] };
  assert.ok(pkg.files.includes('src/builder/example-repo'), 'package.json "files" lists the example repository');
  const r = spawnSync('bash', ['-n', join(exampleRepoDir(), 'app-misc/hello-demo/hello-demo-1.0.ebuild')]);
  assert.equal(r.status, 0, 'the ebuild is valid bash');
});

test('the slim variant: INSTALL_MASK honoured (no headers, no static library), recorded in the metadata, its own configuration', async (t) => {
  if (!need(t, hasCc, 'a C compiler (cc)')) return;
  const files = async (spec: JobSpec) => {
    const dir = await tempDir(t);
    const workDir = join(dir, `job-${n++}`);
    mkdirSync(workDir);
    const info = await inspectPackage((await new ExampleBackend().build({ spec, workDir, signal: new AbortController().signal })).path, { listings: true });
    return { info, paths: [...parseImageListing(info.listings!.image).keys()] };
  };
  const full = await files(exampleSpec('dev-libs/libdemo-1.0', ['static-libs']));
  const slim = await files({ ...exampleSpec('dev-libs/libdemo-1.0', ['static-libs']), installMask: installMaskOfVariant('slim') });
  assert.ok(full.paths.some((p) => /usr\/include\/demo\.h$/.test(p)), `full has the header: ${full.paths.join(' ')}`);
  assert.ok(full.paths.some((p) => /libdemo\.a$/.test(p)), 'full has the static library');
  assert.ok(!slim.paths.some((p) => /usr\/include|\.a$/.test(p)), `slim has neither: ${slim.paths.join(' ')}`);
  assert.ok(slim.paths.some((p) => /libdemo\.so\.1$/.test(p)), 'slim keeps the shared library');
  assert.equal(slim.info.buildConfig.installMask, installMaskOfVariant('slim'));
  assert.equal(slim.info.metadata.installMask, installMaskOfVariant('slim'));
  assert.notEqual(slim.info.configKey, full.info.configKey);
});
