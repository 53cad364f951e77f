/** Corrupt, truncated and hostile archives: each gives its typed error, never a crash. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Readable } from 'node:stream';
import { extractGpkgImage, extractTar } from '../../src/formats/extract.js';
import { readGpkg } from '../../src/formats/gpkg-read.js';
import { inspectPackage } from '../../src/formats/inspect.js';
import { runCli } from '../helpers/cli.js';
import { fixturesDir, hasFixtures, hasProgram, need, portageToolsDir, tempDir } from '../helpers/env.js';
import { compressWith, craftGpkg, demoMembers, manifestFor, rawTar, tarOf, withImage } from '../helpers/gpkg-craft.js';

async function expectCode(t: { after: (fn: () => unknown) => void }, bytes: Buffer, code: string | RegExp, name?: string, rule?: string) {
  const dir = await tempDir(t);
  const p = join(dir, name ?? 'x.gpkg.tar');
  writeFileSync(p, bytes);
  await assert.rejects(inspectPackage(p), (e: { code?: string; rule?: string; message?: string; subject?: string }) => {
    if (rule !== undefined) assert.equal(e.rule, rule, `${e.code}: ${e.message}`);
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
  await expectCode(t, await craftGpkg([m[0]!, m[1]!, { name: 'demo-1.0/image.tar.zst', data: outside }]), 'HOSTILE_ENTRY');
});

test('the issue\'s case: image/../../escape with a valid Manifest → inspect exits 2, one line naming file, entry and rule', async (t) => {
  const dir = await tempDir(t);
  const p = join(dir, 'escape-1.0.gpkg.tar');
  const image = await tarOf([{ name: 'image/', type: 'directory' }, { name: 'image/../../escape', data: Buffer.from('owned\n') }]);
  writeFileSync(p, await craftGpkg(await withImage(image)));
  await assert.rejects(inspectPackage(p), { code: 'HOSTILE_ENTRY', rule: 'dot-dot', entry: 'image/../../escape', subject: p });
  for (const json of [false, true]) {
    const r = await runCli(['inspect', ...(json ? ['--json'] : []), p]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.includes(p), 'names the file');
    assert.ok(lines[0]!.includes('"image/../../escape"'), 'names the entry');
    assert.match(lines[0]!, /rule dot-dot/);
    assert.match(lines[0]!, /\[HOSTILE_ENTRY\]$/);
    if (json) assert.equal(JSON.parse(r.stdout).error.code, 'HOSTILE_ENTRY');
  }
});

/** Each way an image entry could land outside the root, as the image tar of an otherwise valid package. */
const HOSTILE_IMAGES: [string, Buffer | (() => Promise<Buffer>)][] = [
  ['absolute', rawTar([{ name: '/image/etc/passwd', data: Buffer.from('x') }])],
  ['dot-dot', rawTar([{ name: 'image/usr/../../../etc/passwd', data: Buffer.from('x') }])],
  ['dot-dot', rawTar([{ name: 'x', pax: { path: 'image/../escape' }, data: Buffer.from('x') }])],
  ['outside-image', rawTar([{ name: 'image/', typeflag: '5' }, { name: 'etc/passwd', data: Buffer.from('x') }])],
  ['outside-image', rawTar([{ name: 'imagex/passwd', data: Buffer.from('x') }])],
  ['bad-name', rawTar([{ name: 'x', pax: { path: Buffer.from('image/a\0/../../etc/passwd') }, data: Buffer.from('x') }])],
  ['bad-name', rawTar([{ name: 'x', pax: { path: Buffer.from([...Buffer.from('image/'), 0xff, 0xfe]) }, data: Buffer.from('x') }])],
  ['bad-name', rawTar([{ name: 'image/s', typeflag: '2', pax: { linkpath: Buffer.from('/etc\0x') } }])],
  ['bad-name', rawTar([{ name: 'image/s', typeflag: '2', linkname: '' }])],
  ['bad-name', rawTar([{ name: 'image/usr/', typeflag: '\0', data: Buffer.from('a file Python tarfile would make a directory') }])],
  ['root-not-directory', rawTar([{ name: 'image', typeflag: '2', linkname: '/etc' }, { name: 'image/passwd', data: Buffer.from('x') }])],
  ['parent-not-directory', rawTar([{ name: 'image/usr', typeflag: '2', linkname: '/etc' }, { name: 'image/usr/passwd', data: Buffer.from('x') }])],
  ['parent-not-directory', rawTar([{ name: 'image/up', typeflag: '2', linkname: '../../..' }, { name: 'image/up/etc/passwd', data: Buffer.from('x') }])],
  ['duplicate', rawTar([{ name: 'image/a', data: Buffer.from('x') }, { name: 'image/./a', typeflag: '2', linkname: '/etc/passwd' }])],
  ['duplicate', rawTar([{ name: 'image/usr/x', data: Buffer.from('x') }, { name: 'image/usr', typeflag: '2', linkname: '/etc' }, { name: 'image/usr/passwd', data: Buffer.from('x') }])],
  ['hardlink-target', rawTar([{ name: 'image/pw', typeflag: '1', linkname: '/etc/passwd' }])],
  ['hardlink-target', rawTar([{ name: 'image/pw', typeflag: '1', linkname: 'image/../../etc/passwd' }])],
  ['hardlink-target', rawTar([{ name: 'image/pw', typeflag: '1', linkname: 'etc/passwd' }])],
  ['hardlink-target', rawTar([{ name: 'image/pw', typeflag: '1', linkname: 'image/later' }, { name: 'image/later', data: Buffer.from('x') }])],
  ['hardlink-target', rawTar([{ name: 'image/s', typeflag: '2', linkname: '/etc/shadow' }, { name: 'image/pw', typeflag: '1', linkname: 'image/s' }])],
  ['device', rawTar([{ name: 'image/dev/sda', typeflag: '4' }])],
  ['device', rawTar([{ name: 'image/dev/mem', typeflag: '3' }])],
  ['device', rawTar([{ name: 'image/run/fifo', typeflag: '6' }])],
  ['unsupported-type', rawTar([{ name: 'image/sparse', typeflag: 'S', data: Buffer.from('x') }])],
  // tar-stream skipped a symlink's "content"; Python's tarfile (Portage) reads it as the next entry.
  ['hidden-content', rawTar([{ name: 'image/s', typeflag: '2', linkname: 'x', data: rawTar([{ name: 'image/../../etc/cron.d/evil', data: Buffer.from('* * * * * root sh\n') }]) }])],
  ['hidden-content', rawTar([{ name: 'image/d/', typeflag: '5', data: Buffer.alloc(512, 1) }])],
];

/** Archives Portage's tarfile would frame differently from a lenient reader: refused as a whole. */
const AMBIGUOUS_TARS: [string, Buffer][] = [
  ['an entry after the end-of-archive zero block', Buffer.concat([rawTar([{ name: 'image/', typeflag: '5' }]).subarray(0, 1024), rawTar([{ name: 'image/late', data: Buffer.from('x') }])])],
  ['a malformed size field', (() => {
    const t = rawTar([{ name: 'image/a', data: Buffer.from('x') }]);
    t.write('0000000001 9', 124, 'latin1');
    let sum = 0;
    t.fill(0x20, 148, 156);
    for (const b of t.subarray(0, 512)) sum += b;
    t.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    return t;
  })()],
  ['two GNU long names for one entry', rawTar([{ name: '././@LongLink', typeflag: 'L', data: Buffer.from('image/a\0') }, { name: '././@LongLink', typeflag: 'L', data: Buffer.from('image/../../b\0') }, { name: 'x', data: Buffer.from('x') }])],
  ['a global PAX header that renames entries', rawTar([{ name: 'g', typeflag: 'g', data: Buffer.from('25 path=image/../../evil\n') }, { name: 'image/a', data: Buffer.from('x') }])],
  ['a bad checksum', (() => {
    const t = rawTar([{ name: 'image/a', data: Buffer.from('x') }]);
    t[0] = 0x6a;
    return t;
  })()],
];

test('archives that readers frame differently are refused (BAD_TAR), by the reader and the extractor alike', async (t) => {
  for (const [what, image] of AMBIGUOUS_TARS) {
    const bytes = await craftGpkg(await withImage(image));
    const dir = await tempDir(t);
    writeFileSync(join(dir, 'p.gpkg.tar'), bytes);
    await assert.rejects(inspectPackage(join(dir, 'p.gpkg.tar')), (e: { code?: string; message?: string }) => {
      assert.equal(e.code, 'BAD_TAR', `${what}: ${e.code} ${e.message}`);
      return true;
    });
    await assert.rejects(extractTar(Readable.from([image]), join(dir, 'out'), { stripPrefix: 'image/' }), { code: 'BAD_TAR' }, what);
    assert.ok(!existsSync(join(dir, 'out')));
  }
});

test('the gpkg container is framed as Portage frames it: nothing may follow its end-of-archive marker (BAD_TAR)', async (t) => {
  const m = await demoMembers();
  // The Manifest after the zero blocks: Portage's tarfile stops at them and never sees it.
  const members = await craftGpkg(m, null);
  const manifest = rawTar([{ name: 'demo-1.0/Manifest', data: manifestFor(m) }]);
  await expectCode(t, Buffer.concat([members, manifest]), 'BAD_TAR');
  // Only zeros may follow (Portage pads the container to a 10 KiB record).
  const good = await craftGpkg(m);
  const dir = await tempDir(t);
  writeFileSync(join(dir, 'padded.gpkg.tar'), Buffer.concat([good, Buffer.alloc(10240)]));
  assert.equal((await inspectPackage(join(dir, 'padded.gpkg.tar'))).cpv, 'app-misc/demo-1.0');
  await expectCode(t, Buffer.concat([good, Buffer.from('x')]), 'BAD_TAR');
});

test('big archives (hashed on worker threads) and small ones (inline) read the same', async (t) => {
  if (!need(t, hasFixtures, '../shared fixtures')) return;
  for (const rel of ['zstd/app-misc/hello-1.0.gpkg.tar', 'multi/app-misc/hello/hello-1.0-2.gpkg.tar']) {
    const p = join(fixturesDir, rel);
    const inline = await readGpkg(p, { portageDigests: true });
    const threaded = await readGpkg(p, { portageDigests: true, threads: true });
    assert.deepEqual(threaded, inline, rel);
  }
  const dir = await tempDir(t);
  const m = await demoMembers();
  const wrong = Buffer.from(manifestFor(m).toString().replace(/SHA512 ([0-9a-f])/, (_s, c: string) => `SHA512 ${c === '0' ? '1' : '0'}`));
  writeFileSync(join(dir, 'bad.gpkg.tar'), await craftGpkg(m, wrong));
  await assert.rejects(readGpkg(join(dir, 'bad.gpkg.tar'), { threads: true }), { code: 'MANIFEST_MISMATCH' });
  writeFileSync(join(dir, 'hostile.gpkg.tar'), await craftGpkg(await withImage(HOSTILE_IMAGES[1]![1] as Buffer)));
  await assert.rejects(readGpkg(join(dir, 'hostile.gpkg.tar'), { threads: true }), { code: 'HOSTILE_ENTRY', rule: 'dot-dot' });
});

test('every hostile image entry is refused with its rule, wherever the package is read', async (t) => {
  for (const [rule, image] of HOSTILE_IMAGES) {
    const bytes = await craftGpkg(await withImage(typeof image === 'function' ? await image() : image));
    await expectCode(t, bytes, 'HOSTILE_ENTRY', undefined, rule);
    // Extraction uses the same rule (after verification, which already refuses).
    const dir = await tempDir(t);
    writeFileSync(join(dir, 'p.gpkg.tar'), bytes);
    await assert.rejects(extractGpkgImage(join(dir, 'p.gpkg.tar'), join(dir, 'out')), { code: 'HOSTILE_ENTRY', rule });
    assert.ok(!existsSync(join(dir, 'out')), 'nothing extracted');
  }
});

test('absolute symlinks, relative ones and hard links to earlier files are accepted', async (t) => {
  const image = rawTar([
    { name: 'image/', typeflag: '5' },
    { name: './image/usr/lib/libx.so.1', data: Buffer.from('elf') },
    { name: 'image/usr/lib/libx.so', typeflag: '2', linkname: '/usr/lib/libx.so.1' },
    { name: 'image/usr/lib/up', typeflag: '2', linkname: '../../..' },
    { name: 'image/usr/lib/libx-copy', typeflag: '1', linkname: 'image/usr/lib/libx.so.1' },
    { name: 'image/usr/lib/libx-copy2', typeflag: '1', linkname: './image/usr/lib/libx-copy' },
  ]);
  const dir = await tempDir(t);
  writeFileSync(join(dir, 'ok.gpkg.tar'), await craftGpkg(await withImage(image)));
  const info = await inspectPackage(join(dir, 'ok.gpkg.tar'));
  assert.equal(info.cpv, 'app-misc/demo-1.0');
  await extractGpkgImage(join(dir, 'ok.gpkg.tar'), join(dir, 'out'));
  assert.equal(readlinkSync(join(dir, 'out/usr/lib/libx.so')), '/usr/lib/libx.so.1');
  assert.equal(statSync(join(dir, 'out/usr/lib/libx-copy2')).ino, statSync(join(dir, 'out/usr/lib/libx.so.1')).ino);
});

test('unknown file extension → UNKNOWN_PACKAGE_FORMAT', async (t) => {
  const dir = await tempDir(t);
  writeFileSync(join(dir, 'x.zip'), readFileSync(new URL(import.meta.url)));
  await assert.rejects(inspectPackage(join(dir, 'x.zip')), { code: 'UNKNOWN_PACKAGE_FORMAT' });
});
