import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildConfigOf, ImageDigester, METADATA_EXCLUDED, metadataDigestOf, outputDigestOf, depAbiFromDepend, linksFromRequires } from '../../src/formats/digests.js';
import { parseMetadata } from '../../src/formats/metadata.js';
import { writeGpkg } from '../../src/formats/gpkg-write.js';
import { inspectPackage } from '../../src/formats/inspect.js';
import { tempDir } from '../helpers/env.js';
import { compressWith, craftGpkg, manifestFor } from '../helpers/gpkg-craft.js';

const METADATA = { CATEGORY: 'app-misc\n', PF: 'demo-1.0\n', SLOT: '0/2\n', EAPI: '8\n', USE: 'amd64 nls\n', IUSE: '+nls debug\n', CHOST: 'x86_64-pc-linux-gnu\n', RDEPEND: '>=dev-libs/libgreet-1:0/1= sys-libs/zlib\n', 'demo-1.0.ebuild': 'EAPI=8\n', BUILD_TIME: '1700000000\n' };

function makeTree(dir: string, content = 'hello\n'): void {
  mkdirSync(join(dir, 'usr/bin'), { recursive: true });
  mkdirSync(join(dir, 'usr/share/doc'), { recursive: true });
  writeFileSync(join(dir, 'usr/bin/demo'), content);
  chmodSync(join(dir, 'usr/bin/demo'), 0o4755);
  writeFileSync(join(dir, 'usr/share/doc/README with space'), 'read me\n');
  symlinkSync('demo', join(dir, 'usr/bin/demo-link'));
}

test('same tree: other compression, mtimes and member order give the same outputDigest', async (t) => {
  const dir = await tempDir(t);
  const tree = join(dir, 'tree');
  makeTree(tree);
  const a = await writeGpkg({ imageDir: tree, metadata: METADATA, out: join(dir, 'a.gpkg.tar'), basename: 'demo-1.0', compression: 'zstd' });
  const b = await writeGpkg({ imageDir: tree, metadata: { ...METADATA, BUILD_TIME: '1800000000\n' }, out: join(dir, 'b.gpkg.tar'), basename: 'demo-1.0', compression: 'xz', mtime: 987654 });
  assert.notEqual(a.sha256, b.sha256);
  // A third archive made by GNU tar with reversed entry order and real mtimes, gzip-compressed.
  utimesSync(join(tree, 'usr/bin/demo'), 1234, 5678);
  mkdirSync(join(dir, 'stage/image'), { recursive: true });
  execFileSync('cp', ['-a', `${tree}/.`, join(dir, 'stage/image')]);
  const names = execFileSync('find', ['image'], { cwd: join(dir, 'stage') }).toString().trim().split('\n').reverse();
  const imageTar = execFileSync('tar', ['--no-recursion', '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', ...names], { cwd: join(dir, 'stage'), maxBuffer: 1 << 26 });
  const metaEntries = Object.entries(METADATA).reverse();
  mkdirSync(join(dir, 'stage/metadata'));
  for (const [k, v] of metaEntries) writeFileSync(join(dir, 'stage/metadata', k), v);
  const metaTar = execFileSync('tar', ['-cf', '-', 'metadata'], { cwd: join(dir, 'stage') });
  const members = [
    { name: 'demo-1.0/gpkg-1', data: Buffer.alloc(0) },
    { name: 'demo-1.0/metadata.tar.gz', data: compressWith('gzip', metaTar, ['-n']) },
    { name: 'demo-1.0/image.tar.gz', data: compressWith('gzip', imageTar, ['-n']) },
  ];
  writeFileSync(join(dir, 'c.gpkg.tar'), await craftGpkg(members, manifestFor(members)));

  const [ia, ib, ic] = await Promise.all(['a', 'b', 'c'].map((n) => inspectPackage(join(dir, `${n}.gpkg.tar`))));
  assert.equal(ia!.imageDigest, ib!.imageDigest);
  assert.equal(ia!.imageDigest, ic!.imageDigest);
  assert.equal(ia!.metadataDigest, ib!.metadataDigest, 'BUILD_TIME is excluded');
  assert.equal(ia!.outputDigest, ic!.outputDigest);
  assert.deepEqual([ia!.compression, ib!.compression, ic!.compression], ['zstd', 'xz', 'gzip']);
  assert.deepEqual(ia!.buildConfig.depAbi, ['dev-libs/libgreet:0/1']);
  assert.equal(ia!.subslot, '2');
});

test('a changed byte, mode or metadata file changes the digests', async (t) => {
  const dir = await tempDir(t);
  makeTree(join(dir, 't1'));
  makeTree(join(dir, 't2'), 'hellO\n');
  makeTree(join(dir, 't3'));
  chmodSync(join(dir, 't3/usr/bin/demo'), 0o755);
  const out = async (tree: string, md: Record<string, string> = METADATA) =>
    inspectPackage((await writeGpkg({ imageDir: join(dir, tree), metadata: md, out: join(dir, `${tree}-${Object.keys(md).length}.gpkg.tar`), basename: 'demo-1.0' })).path);
  const [a, b, c, d] = await Promise.all([out('t1'), out('t2'), out('t3'), out('t1', { ...METADATA, 'extra-hook': 'pkg_postinst() { evil; }\n' })]);
  assert.notEqual(a.imageDigest, b.imageDigest, 'content');
  assert.notEqual(a.imageDigest, c.imageDigest, 'setuid bit');
  assert.equal(a.imageDigest, d.imageDigest);
  assert.notEqual(a.metadataDigest, d.metadataDigest, 'an unknown metadata file is digested, not ignored');
  assert.notEqual(a.outputDigest, d.outputDigest);
});

test('ImageDigester: order-independent, rejects duplicate paths; metadata exclusions are explained', () => {
  const e1 = { type: 'file' as const, path: 'usr/bin/a', mode: 0o755, uid: 0, gid: 0, size: 1, sha256: 'aa' };
  const e2 = { type: 'symlink' as const, path: 'usr/bin/b', mode: 0o777, uid: 0, gid: 0, target: 'a' };
  const x = new ImageDigester();
  x.add(e1);
  x.add(e2);
  const y = new ImageDigester();
  y.add(e2);
  y.add(e1);
  assert.equal(x.digest(), y.digest());
  assert.throws(() => y.add(e1), { code: 'DUPLICATE_ENTRY' });
  for (const reason of Object.values(METADATA_EXCLUDED)) assert.ok(reason.length > 10);
  assert.ok(!('environment' in METADATA_EXCLUDED) && !('RDEPEND' in METADATA_EXCLUDED) && !('SLOT' in METADATA_EXCLUDED));
  const m1 = metadataDigestOf(new Map([['SLOT', Buffer.from('0')], ['BUILD_TIME', Buffer.from('1')]]));
  const m2 = metadataDigestOf(new Map([['SLOT', Buffer.from('0')], ['BUILD_TIME', Buffer.from('2')]]));
  const m3 = metadataDigestOf(new Map([['SLOT', Buffer.from('1')]]));
  assert.equal(m1, m2);
  assert.notEqual(m1, m3);
  assert.notEqual(outputDigestOf(x.digest(), m1), outputDigestOf(x.digest(), m3));
});

test('links come from REQUIRES: sonames of every multilib category, sorted, distinct; no REQUIRES, no links field', () => {
  assert.deepEqual(linksFromRequires('x86_64: libgreet.so.1 libc.so.6\n'), ['libc.so.6', 'libgreet.so.1']);
  assert.deepEqual(linksFromRequires('x86_32: libc.so.6 libz.so.1 x86_64: libc.so.6\nx86_64: libm.so.6'), ['libc.so.6', 'libm.so.6', 'libz.so.1']);
  assert.deepEqual(linksFromRequires(''), []);
  const md = (extra: Record<string, string>) => parseMetadata(new Map(Object.entries({ ...METADATA, ...extra }).map(([k, v]) => [k, Buffer.from(v)])));
  const without = buildConfigOf(md({}));
  assert.equal('links' in without, false, 'absent, not empty: the buildKey of a package without REQUIRES is unchanged');
  assert.deepEqual(buildConfigOf(md({ REQUIRES: 'x86_64: libgreet.so.1 libc.so.6\n' })).links, ['libc.so.6', 'libgreet.so.1']);
  assert.equal('links' in buildConfigOf(md({ REQUIRES: '\n' })), false);
});

test('depAbi comes from := atoms only', () => {
  assert.deepEqual(depAbiFromDepend('>=dev-libs/a-1.2:0/1= || ( dev-libs/b:2/2.1= dev-libs/c ) !dev-libs/d:0= dev-libs/e:3', 'x11-libs/f-1.0-r1:5/5.1=[abi_x86_64(-)]'), [
    'dev-libs/a:0/1',
    'dev-libs/b:2/2.1',
    'x11-libs/f:5/5.1',
  ]);
});

test('a large archive (hashed in a worker thread) gives the same digests and still catches a flipped byte', async (t) => {
  const dir = await tempDir(t);
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'usr/lib'), { recursive: true });
  // Incompressible, so the image member is past the 16 MiB worker threshold.
  writeFileSync(join(tree, 'usr/lib/blob'), randomBytes(20 << 20));
  const out = join(dir, 'big.gpkg.tar');
  const written = await writeGpkg({ imageDir: tree, metadata: METADATA, out, basename: 'demo-1.0', compression: 'gzip' });
  const info = await inspectPackage(out, { portageDigests: true });
  const bytes = readFileSync(out);
  assert.equal(info.archive.sha256, createHash('sha256').update(bytes).digest('hex'));
  assert.equal(info.archive.sha256, written.sha256);
  assert.equal(info.md5, createHash('md5').update(bytes).digest('hex'));
  // Flip one byte in the middle of the image member: only the Manifest's digests can tell.
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
  writeFileSync(out, bytes);
  await assert.rejects(inspectPackage(out), (e: { code?: string }) => ['MANIFEST_MISMATCH', 'CORRUPT_COMPRESSION'].includes(e.code ?? ''));
});
