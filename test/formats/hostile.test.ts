/** Corrupt, truncated and hostile archives: each gives its typed error, never a crash. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspectPackage } from '../../src/formats/inspect.js';
import { fixturesDir, hasFixtures, hasProgram, need, portageToolsDir, tempDir } from '../helpers/env.js';
import { compressWith, craftGpkg, demoMembers, manifestFor, tarOf } from '../helpers/gpkg-craft.js';

async function expectCode(t: { after: (fn: () => unknown) => void }, bytes: Buffer, code: string | RegExp, name = 'x.gpkg.tar') {
  const dir = await tempDir(t);
  const p = join(dir, name);
  writeFileSync(p, bytes);
  await assert.rejects(inspectPackage(p), (e: { code?: string; message?: string; subject?: string }) => {
    if (typeof code === 'string') assert.equal(e.code, code, `${e.code}: ${e.message}`);
    else assert.match(e.code ?? '', code, `${e.code}: ${e.message}`);
    assert.equal(e.subject, p);
    return true;
  });
}

test('a valid crafted package reads (the baseline for the hostile variants)', async (t) => {
  const dir = await tempDir(t);
  writeFileSync(join(dir, 'ok.gpkg.tar'), await craftGpkg(await demoMembers()));
  const info = await inspectPackage(join(dir, 'ok.gpkg.tar'));
  assert.equal(info.cpv, 'app-misc/demo-1.0');
});

test('truncated archive → TRUNCATED (at several cut points)', async (t) => {
  const good = await craftGpkg(await demoMembers());
  for (const cut of [100, 600, 1500, good.length - 1100]) await expectCode(t, good.subarray(0, cut), /^(TRUNCATED|CORRUPT_COMPRESSION|MANIFEST_MISMATCH|MISSING_MEMBER|NOT_GPKG)$/);
  await expectCode(t, good.subarray(0, 1500), 'TRUNCATED');
});

test('a flipped byte in each member of a real package is caught', async (t) => {
  if (!need(t, hasFixtures && hasProgram('python3'), '../shared fixtures and python3')) return;
  for (const member of ['image', 'metadata', 'Manifest']) {
    const dir = await tempDir(t);
    mkdirSync(join(dir, 'app-misc'));
    copyFileSync(join(fixturesDir, 'zstd/Packages'), join(dir, 'Packages'));
    copyFileSync(join(fixturesDir, 'zstd/app-misc/hello-1.0.gpkg.tar'), join(dir, 'app-misc/hello-1.0.gpkg.tar'));
    execFileSync('python3', [join(portageToolsDir, 'corrupt_gpkg.py'), dir, 'app-misc/hello-1.0.gpkg.tar', '--member', member], { stdio: 'ignore' });
    await assert.rejects(inspectPackage(join(dir, 'app-misc/hello-1.0.gpkg.tar')), (e: { code?: string }) => {
      assert.match(e.code ?? '', /^(MANIFEST_MISMATCH|BAD_MANIFEST|CORRUPT_COMPRESSION|BAD_TAR|TRUNCATED)$/, `${member}: ${e.code}`);
      return true;
    });
  }
});

test('Manifest mismatch, missing Manifest, listed-but-absent and unlisted members', async (t) => {
  const m = await demoMembers();
  const wrong = Buffer.from(manifestFor(m).toString().replace(/BLAKE2B ([0-9a-f])/, (_s, c: string) => `BLAKE2B ${c === '0' ? '1' : '0'}`));
  await expectCode(t, await craftGpkg(m, wrong), 'MANIFEST_MISMATCH');
  await expectCode(t, await craftGpkg(m, null), 'MISSING_MEMBER');
  const extraListed = Buffer.concat([manifestFor(m), Buffer.from(`DATA image.tar.zst.sig 3 SHA512 ${'0'.repeat(128)}\n`)]);
  await expectCode(t, await craftGpkg(m, extraListed), 'MANIFEST_MISMATCH');
  const sizeLie = Buffer.from(manifestFor(m).toString().replace(/DATA metadata\.tar\.zst (\d+)/, (_s, n: string) => `DATA metadata.tar.zst ${Number(n) + 1}`));
  await expectCode(t, await craftGpkg(m, sizeLie), 'MANIFEST_MISMATCH');
  const unlisted = [...m.slice(0, 2), { name: 'demo-1.0/metadata.tar.zst.sig', data: Buffer.from('sig') }, m[2]!];
  await expectCode(t, await craftGpkg(unlisted, manifestFor(m)), 'MANIFEST_MISMATCH');
  await expectCode(t, await craftGpkg(m, Buffer.from('NOTDATA x 1 SHA512 00\n')), 'BAD_MANIFEST');
});

test('marker, names, order and duplicates are enforced', async (t) => {
  const m = await demoMembers();
  await expectCode(t, await craftGpkg(m.slice(1)), 'NOT_GPKG');
  await expectCode(t, await craftGpkg([{ name: 'demo-1.0/gpkg-2', data: Buffer.alloc(0) }, ...m.slice(1)]), 'NOT_GPKG');
  await expectCode(t, await craftGpkg([m[0]!, m[1]!, m[1]!, m[2]!]), 'BAD_MEMBER');
  await expectCode(t, await craftGpkg([m[0]!, { ...m[1]!, name: 'other-1.0/metadata.tar.zst' }, m[2]!]), 'BAD_MEMBER');
  await expectCode(t, await craftGpkg([m[0]!, { ...m[1]!, name: 'demo-1.0/sub/metadata.tar.zst' }, m[2]!]), 'BAD_MEMBER');
  await expectCode(t, await craftGpkg([{ ...m[0]!, name: '/demo-1.0/gpkg-1' }, ...m.slice(1)]), /BAD_MEMBER|NOT_GPKG/);
  await expectCode(t, await craftGpkg([m[0]!, m[2]!, m[1]!]), 'BAD_MEMBER');
  const afterManifest = await tarOf([...m, { name: 'demo-1.0/Manifest', data: manifestFor(m) }, { name: 'demo-1.0/evil', data: Buffer.from('x') }]);
  await expectCode(t, afterManifest, 'BAD_MEMBER');
  await expectCode(t, Buffer.alloc(4096, 0x41), 'BAD_TAR');
  await expectCode(t, Buffer.alloc(0), 'NOT_GPKG');
});

test('unsupported or mislabelled compression', async (t) => {
  const m = await demoMembers();
  const lz4 = [m[0]!, m[1]!, { name: 'demo-1.0/image.tar.lz4', data: Buffer.from([0x04, 0x22, 0x4d, 0x18, 1, 2, 3]) }];
  await expectCode(t, await craftGpkg(lz4), 'UNSUPPORTED_COMPRESSION');
  const lied = [m[0]!, m[1]!, { name: 'demo-1.0/image.tar.xz', data: m[2]!.data }];
  await expectCode(t, await craftGpkg(lied), 'COMPRESSION_MISMATCH');
  const garbage = [m[0]!, m[1]!, { name: 'demo-1.0/image.tar.zst', data: Buffer.concat([m[2]!.data.subarray(0, 8), Buffer.alloc(64, 7)]) }];
  await expectCode(t, await craftGpkg(garbage), 'CORRUPT_COMPRESSION');
});

test('decompression bomb stops at the limit quickly', async (t) => {
  // 2 GiB of zeros compresses to ~64 KiB with zstd; reading it must stop at the ratio limit, not inflate it all.
  const bomb = execFileSync('sh', ['-c', 'head -c 2147483648 /dev/zero | zstd -c -19 -q --long=27'], { maxBuffer: 1 << 24 });
  const m = await demoMembers({ imageMember: bomb });
  const dir = await tempDir(t);
  const p = join(dir, 'bomb.gpkg.tar');
  writeFileSync(p, await craftGpkg(m));
  const started = process.memoryUsage().rss;
  await assert.rejects(inspectPackage(p), { code: 'LIMIT_EXCEEDED' });
  assert.ok(process.memoryUsage().rss - started < 512 * 1024 * 1024, 'memory stays bounded');
  await assert.rejects(inspectPackage(p, { limits: { maxImageBytes: 1 << 20, maxRatio: 1e9 } }), { code: 'LIMIT_EXCEEDED' });
});

test('a hostile metadata member: unexpected entries, path tricks, bad CATEGORY', async (t) => {
  const m = await demoMembers();
  const evilMeta = compressWith('zstd', await tarOf([{ name: 'metadata/../../etc/passwd', data: Buffer.from('x') }]));
  await expectCode(t, await craftGpkg([m[0]!, { name: 'demo-1.0/metadata.tar.zst', data: evilMeta }, m[2]!]), 'BAD_MEMBER');
  const badCat = await demoMembers({ metadata: { CATEGORY: '../etc\n', PF: 'demo-1.0\n', SLOT: '0\n' } });
  await expectCode(t, await craftGpkg(badCat), 'BAD_METADATA');
  const noPf = await demoMembers({ metadata: { CATEGORY: 'app-misc\n', SLOT: '0\n' } });
  await expectCode(t, await craftGpkg(noPf), 'BAD_METADATA');
  const outside = compressWith('zstd', await tarOf([{ name: 'etc/passwd', data: Buffer.from('x') }]));
  await expectCode(t, await craftGpkg([m[0]!, m[1]!, { name: 'demo-1.0/image.tar.zst', data: outside }]), 'BAD_IMAGE');
});

test('unknown file extension → UNKNOWN_PACKAGE_FORMAT', async (t) => {
  const dir = await tempDir(t);
  writeFileSync(join(dir, 'x.zip'), readFileSync(new URL(import.meta.url)));
  await assert.rejects(inspectPackage(join(dir, 'x.zip')), { code: 'UNKNOWN_PACKAGE_FORMAT' });
});
