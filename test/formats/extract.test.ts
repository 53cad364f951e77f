import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { extractGpkgImage, extractTar } from '../../src/formats/extract.js';
import { decompressor } from '../../src/formats/compression.js';
import { fixturesDir, hasFixtures, need, tempDir } from '../helpers/env.js';
import { tarOf } from '../helpers/gpkg-craft.js';

/** `code` is an error code, or `HOSTILE_ENTRY:<rule>` for a refusal by the image entry rule. */
async function expectRejected(t: { after: (fn: () => unknown) => void }, entries: Parameters<typeof tarOf>[0], code: string, opts = {}) {
  const dir = await tempDir(t);
  const target = join(dir, 'out');
  await assert.rejects(extractTar(Readable.from([await tarOf(entries)]), target, opts), (e: { code?: string; rule?: string; message?: string }) => {
    assert.equal(e.rule ? `${e.code}:${e.rule}` : e.code, code, e.message);
    return true;
  });
  assert.deepEqual(readdirSync(dir), [], 'nothing partial is left, nothing written beside the target');
}

test('extracts files, dirs, symlinks and hard links with modes', async (t) => {
  const dir = await tempDir(t);
  const r = await extractTar(
    Readable.from([
      await tarOf([
        { name: 'image/', type: 'directory' },
        { name: 'image/usr/bin/', type: 'directory' },
        { name: 'image/usr/bin/a', data: Buffer.from('A'), mode: 0o4755 },
        { name: 'image/usr/bin/b', type: 'symlink', linkname: '/etc/passwd' },
        { name: 'image/usr/bin/c', type: 'link', linkname: 'image/usr/bin/a' },
      ]),
    ]),
    join(dir, 'out'),
    { stripPrefix: 'image/' },
  );
  assert.equal(r.entries, 5);
  assert.equal(readFileSync(join(dir, 'out/usr/bin/a'), 'utf8'), 'A');
  assert.equal(statSync(join(dir, 'out/usr/bin/a')).mode & 0o7777, 0o755, 'setuid dropped by default');
  assert.equal(readlinkSync(join(dir, 'out/usr/bin/b')), '/etc/passwd', 'a symlink may point anywhere as a symlink');
  assert.equal(statSync(join(dir, 'out/usr/bin/c')).ino, statSync(join(dir, 'out/usr/bin/a')).ino);
});

test('path traversal, absolute paths, writing through symlinks, escaping hard links → the image entry rule refuses, nothing left', async (t) => {
  await expectRejected(t, [{ name: '../evil', data: Buffer.from('x') }], 'HOSTILE_ENTRY:dot-dot');
  await expectRejected(t, [{ name: 'a/../../evil', data: Buffer.from('x') }], 'HOSTILE_ENTRY:dot-dot');
  await expectRejected(t, [{ name: '/etc/evil', data: Buffer.from('x') }], 'HOSTILE_ENTRY:absolute');
  await expectRejected(t, [{ name: 'x/file', data: Buffer.from('x') }], 'HOSTILE_ENTRY:outside-image', { stripPrefix: 'image/' });
  await expectRejected(t, [{ name: 'image/../../escape', data: Buffer.from('x') }], 'HOSTILE_ENTRY:dot-dot', { stripPrefix: 'image/' });
  await expectRejected(t, [{ name: 'link', type: 'symlink', linkname: '/tmp' }, { name: 'link/evil', data: Buffer.from('x') }], 'HOSTILE_ENTRY:parent-not-directory');
  await expectRejected(t, [{ name: 'up', type: 'symlink', linkname: '..' }, { name: 'up/evil', data: Buffer.from('x') }], 'HOSTILE_ENTRY:parent-not-directory');
  await expectRejected(t, [{ name: 'image', type: 'symlink', linkname: '/etc' }, { name: 'image/evil', data: Buffer.from('x') }], 'HOSTILE_ENTRY:root-not-directory', { stripPrefix: 'image/' });
  await expectRejected(t, [{ name: 'pw', type: 'link', linkname: '/etc/passwd' }], 'HOSTILE_ENTRY:hardlink-target');
  await expectRejected(t, [{ name: 'pw', type: 'link', linkname: '../../etc/passwd' }], 'HOSTILE_ENTRY:hardlink-target');
  await expectRejected(t, [{ name: 'pw', type: 'link', linkname: 'not-there' }], 'HOSTILE_ENTRY:hardlink-target');
  await expectRejected(t, [{ name: 's', type: 'symlink', linkname: '/etc/passwd' }, { name: 'h', type: 'link', linkname: 's' }], 'HOSTILE_ENTRY:hardlink-target');
  await expectRejected(t, [{ name: 'null', type: 'character-device' }], 'HOSTILE_ENTRY:device');
  await expectRejected(t, [{ name: 'a', data: Buffer.from('x') }, { name: 'b', data: Buffer.from('y') }, { name: 'c', data: Buffer.from('z') }], 'LIMIT_EXCEEDED', { maxEntries: 2 });
  await expectRejected(t, [{ name: 'big', data: Buffer.alloc(5000) }], 'LIMIT_EXCEEDED', { maxTotalBytes: 4096 });
  assert.ok(existsSync('/etc/passwd'));
});

test('a decompression bomb stops at the ratio limit and leaves nothing', async (t) => {
  const dir = await tempDir(t);
  // 1 GiB of zeros in one tar entry, zstd-compressed to a few KiB.
  const compressed = execFileSync('sh', ['-c', `cd ${dir} && truncate -s 1G zeros && tar -cf - zeros | zstd -c -q -19 && rm zeros`], { maxBuffer: 1 << 24 });
  let fed = 0;
  const src = Readable.from([compressed]);
  src.on('data', (c: Buffer) => (fed += c.length));
  const dec = decompressor('zstd');
  src.pipe(dec);
  await assert.rejects(extractTar(dec, join(dir, 'out'), { compressedBytes: () => fed, maxRatio: 100 }), { code: 'LIMIT_EXCEEDED' });
  assert.deepEqual(readdirSync(dir), []);
});

test('refuses an existing target', async (t) => {
  const dir = await tempDir(t);
  writeFileSync(join(dir, 'out'), 'x');
  await assert.rejects(extractTar(Readable.from([await tarOf([])]), join(dir, 'out')), { code: 'TARGET_EXISTS' });
});

test('extracts the image of a real package, verified first', async (t) => {
  if (!need(t, hasFixtures, '../shared fixtures')) return;
  const dir = await tempDir(t);
  const r = await extractGpkgImage(join(fixturesDir, 'zstd/app-misc/hello-1.0.gpkg.tar'), join(dir, 'img'));
  assert.ok(r.bytes > 10000);
  const eprefix = readdirSync(join(dir, 'img/tmp'))[0]!;
  assert.ok(lstatSync(join(dir, 'img/tmp', eprefix, 'usr/bin/hello')).isFile());
  assert.equal(statSync(join(dir, 'img/tmp', eprefix, 'usr/bin/hello')).mode & 0o111, 0o111);
});
