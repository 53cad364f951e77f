/** The builder's pure parts and early refusals: what counts as "the configuration asked for", the flag policy, the generated Portage configuration, and what the portage backend refuses before Portage runs. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { JobSpec } from '../../src/api/v1.js';
import { configMismatch } from '../../src/builder/config-check.js';
import { unsafeFlag } from '../../src/builder/flag-policy.js';
import { PortageBackend, portageConfig } from '../../src/builder/portage-backend.js';
import { installMaskOfVariant } from '../../src/formats/install-mask.js';
import { isBinswarmError } from '../../src/errors.js';
import { tempDir } from '../helpers/env.js';
import { buildKeyOf } from '../../src/formats/build-config.js';
import { config } from '../helpers/trust-world.js';

const spec = (extra: Partial<JobSpec> = {}): JobSpec => ({ cpv: 'app-misc/hello-1.0', repo: 'gentoo', chost: 'x86_64-pc-linux-gnu', arch: 'amd64', use: ['nls'], cflags: '-O2 -pipe', cxxflags: '-O2 -pipe', ldflags: '', features: [], installMask: '', ...extra });

test('configMismatch: table of builds against the job', () => {
  const built = config();
  const cases: { name: string; job: Parameters<typeof configMismatch>[0]; want: RegExp | undefined }[] = [
    { name: 'exact', job: { kind: 'build', spec: spec() }, want: undefined },
    { name: 'ebuild given and equal', job: { kind: 'build', spec: spec({ ebuild: built.ebuild, eapi: '8', eclasses: [] }) }, want: undefined },
    { name: 'USE differs', job: { kind: 'build', spec: spec({ use: ['debug', 'nls'] }) }, want: /USE \[nls\] instead of \[debug nls\]/ },
    { name: 'CFLAGS differ', job: { kind: 'build', spec: spec({ cflags: '-O3' }) }, want: /CFLAGS "-O2 -pipe" instead of "-O3"/ },
    { name: 'other ebuild', job: { kind: 'build', spec: spec({ ebuild: '0'.repeat(64) }) }, want: /^ebuild / },
    { name: 'other package', job: { kind: 'build', spec: spec({ cpv: 'app-misc/hello-2.0' }) }, want: /cpv/ },
    { name: 'verify, same buildKey', job: { kind: 'verify', spec: spec(), config: built, target: { outputDigest: 'a'.repeat(64), buildKey: buildKeyOf(built) } }, want: undefined },
    { name: 'verify against another ABI', job: { kind: 'verify', spec: spec(), config: { ...built, depAbi: ['dev-libs/libgreet:0/2'] } }, want: /built against no :=-dependencies, the attested build against dev-libs\/libgreet:0\/2/ },
    { name: 'verify without a target', job: { kind: 'verify', spec: spec() }, want: /without the attested build config/ },
  ];
  for (const c of cases) {
    const got = configMismatch(c.job, built);
    if (c.want === undefined) assert.equal(got, undefined, c.name);
    else assert.match(got ?? '', c.want, c.name);
  }
});

test('configMismatch: links (sonames from REQUIRES) — verify must reproduce them, a soname rebuild must drop the lost ones', () => {
  const old: ReturnType<typeof config> = { ...config(), links: ['libc.so.6', 'libgreet.so.1'] };
  const rebuilt: ReturnType<typeof config> = { ...old, links: ['libc.so.6', 'libgreet.so.2'] };
  const { links: _none, ...noRequires } = old;
  const verify = (target: typeof old) => ({ kind: 'verify' as const, spec: spec(), config: target, target: { outputDigest: 'a'.repeat(64), buildKey: buildKeyOf(target) } });
  const rebuild = { kind: 'abi-rebuild' as const, spec: spec(), config: old, unlink: ['libgreet.so.1'] };
  const cases: { name: string; job: Parameters<typeof configMismatch>[0]; built: typeof old; want: RegExp | undefined }[] = [
    { name: 'verify, same links', job: verify(old), built: old, want: undefined },
    { name: 'verify of the old build by a builder whose system has the new library', job: verify(old), built: rebuilt, want: /links libc\.so\.6 libgreet\.so\.2 instead of libc\.so\.6 libgreet\.so\.1$/ },
    { name: 'verify by a builder without scanelf', job: verify(old), built: noRequires, want: /links nothing instead of libc\.so\.6 libgreet\.so\.1 \(no REQUIRES: is scanelf/ },
    { name: 'soname rebuild linking the new soname', job: rebuild, built: rebuilt, want: undefined },
    { name: 'soname rebuild still linking the old soname', job: rebuild, built: old, want: /still links libgreet\.so\.1, which only the old library builds provide/ },
    { name: 'soname rebuild whose output has no REQUIRES', job: rebuild, built: noRequires, want: /cannot tell whether it still links libgreet\.so\.1: the output has no REQUIRES/ },
    { name: 'a := rebuild is not held to links', job: { kind: 'abi-rebuild', spec: spec(), config: old }, built: old, want: undefined },
  ];
  for (const c of cases) {
    const got = configMismatch(c.job, c.built);
    if (c.want === undefined) assert.equal(got, undefined, c.name);
    else assert.match(got ?? '', c.want, c.name);
  }
});

test('portageConfig: exactly the job USE, every output-affecting FEATURE pinned, values quoted for bash', () => {
  const cfg = portageConfig(spec({ use: ['debug', 'nls'], features: ['binpkg-dostrip'], cflags: '-O2 -DX="$HOME"' }));
  assert.deepEqual(cfg.packageUse, ['=app-misc/hello-1.0 -* debug nls']);
  assert.ok(cfg.makeConf.includes('CFLAGS="-O2 -DX=\\"\\$HOME\\""'), cfg.makeConf.join('\n'));
  const features = cfg.makeConf.find((l) => l.startsWith('FEATURES='))!;
  assert.match(features, / binpkg-dostrip /);
  assert.match(features, / -binpkg-docompress /);
  assert.match(features, / -splitdebug /);
  assert.deepEqual(portageConfig(spec({ use: [] })).packageUse, ['=app-misc/hello-1.0 -*']);
});

test('unsafeFlag: flags that could run code or read files on the builder are refused, ordinary ones pass', () => {
  const ok = ['-O2 -pipe', '-O3 -march=native -mtune=generic -pipe -fomit-frame-pointer', '-O2 -g -ggdb3 -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC', '-Os -flto=auto -Werror=format-security -mno-avx512f -std=gnu17', '-O2 -fno-semantic-interposition -fcf-protection=full', '-O2 -pipe -fuse-ld=mold -msse4.2 -mfpmath=sse -fdiagnostics-color=always'];
  for (const cflags of ok) assert.equal(unsafeFlag({ cflags, cxxflags: cflags, ldflags: '-Wl,-O1 -Wl,--as-needed -Wl,-z,now -Wl,--hash-style=gnu' }), undefined, cflags);
  const bad: [string, string][] = [
    ['-O2 -wrapper sh,-c,id', '-wrapper'],
    ['-fplugin=/tmp/x.so', '-fplugin=/tmp/x.so'],
    ['-B/tmp/evil', '-B/tmp/evil'],
    ['-specs=/tmp/s', '-specs=/tmp/s'],
    ['@/etc/shadow', '@/etc/shadow'],
    ['-include /etc/passwd', '-include'],
    ['-imacros /x', '-imacros'],
    ['-I/root', '-I/root'],
    ['-fprofile-use=/x', '-fprofile-use=/x'],
    ['-save-temps', '-save-temps'],
    ['-fdump-tree-all', '-fdump-tree-all'],
    ['-Wa,-adhln=/tmp/x', '-Wa,-adhln=/tmp/x'],
    ['-DX=$(id)', '-DX=$(id)'],
    ['-ffile-prefix-map=/=/x', '-ffile-prefix-map=/=/x'],
    ['-fuse-ld=evil', '-fuse-ld=evil'],
  ];
  for (const [cflags, flag] of bad) assert.deepEqual(unsafeFlag({ cflags, cxxflags: '', ldflags: '' }), { variable: 'CFLAGS', flag }, cflags);
  assert.deepEqual(unsafeFlag({ cflags: '-O2', cxxflags: '-O2', ldflags: '-Wl,--plugin=/tmp/p.so' }), { variable: 'LDFLAGS', flag: '-Wl,--plugin=/tmp/p.so' });
  assert.deepEqual(unsafeFlag({ cflags: '-O2', cxxflags: '-O2', ldflags: '-Wl,-rpath,/tmp' }), { variable: 'LDFLAGS', flag: '-Wl,-rpath,/tmp' });
});

test('portage backend refuses before running Portage: ebuild digest differs from its tree, package not in the tree, unknown FEATURES, line breaks, other CHOST', async (t) => {
  const dir = await tempDir(t);
  mkdirSync(join(dir, 'tree/app-misc/hello'), { recursive: true });
  const ebuild = 'EAPI=8\nSLOT="0"\n';
  writeFileSync(join(dir, 'tree/app-misc/hello/hello-1.0.ebuild'), ebuild);
  const digest = createHash('sha256').update(ebuild).digest('hex');
  // The command would fail if it ran: every case must be refused before it.
  const backend = new PortageBackend({ command: ['false'], prefix: join(dir, 'prefix'), tree: join(dir, 'tree') });
  const refusal = async (s: JobSpec) => {
    const workDir = join(dir, `job-${Math.random().toString(16).slice(2)}`);
    mkdirSync(workDir);
    const e = await backend.build({ spec: s, workDir, signal: new AbortController().signal }).then(() => undefined, (err: unknown) => err);
    assert.ok(isBinswarmError(e) && e.code === 'BUILD_REFUSED', String(e));
    return e.message;
  };
  assert.match(await refusal(spec({ ebuild: 'f'.repeat(64) })), /ebuild digest mismatch: the job wants ffffffffffff…, this tree has/);
  assert.match(await refusal(spec({ cpv: 'app-misc/hello-2.0', ebuild: digest })), /unknown package app-misc\/hello-2\.0/);
  assert.match(await refusal(spec({ ebuild: digest, features: ['ccache'] })), /FEATURES ccache are not output-affecting/);
  assert.match(await refusal(spec({ ebuild: digest, cflags: '-O2\nFEATURES="-sandbox"' })), /line break/);
  assert.match(await refusal(spec({ ebuild: digest, chost: 'aarch64-unknown-linux-gnu' })), /CHOST/);
  // The digest that matches goes on to run the command (which fails: a build failure, not a refusal).
  const workDir = join(dir, 'job-ok');
  mkdirSync(workDir);
  await assert.rejects(backend.build({ spec: spec({ ebuild: digest }), workDir, signal: new AbortController().signal }), (e: unknown) => isBinswarmError(e) && e.code === 'BUILD_FAILED');
});

test('portageConfig: a slim job puts the preset into make.conf INSTALL_MASK, verbatim', () => {
  const slim = installMaskOfVariant('slim');
  assert.ok(portageConfig(spec({ installMask: slim })).makeConf.includes(`INSTALL_MASK="${slim}"`));
  assert.ok(portageConfig(spec()).makeConf.includes('INSTALL_MASK=""'));
});
