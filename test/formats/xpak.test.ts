import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeXpak, readXpak } from '../../src/formats/xpak.js';
import { inspectPackage } from '../../src/formats/inspect.js';
import { fixturesDir, hasFixtures, need, tempDir } from '../helpers/env.js';
import { compressWith, rawTar } from '../helpers/gpkg-craft.js';

test('real .tbz2: XPAK metadata keys and the image range', async (t) => {
  if (!need(t, hasFixtures, '../shared fixtures')) return;
  const x = await readXpak(join(fixturesDir, 'xpak/app-misc/hello-1.0.tbz2'));
  assert.equal(x.metadata.get('CATEGORY')!.toString().trim(), 'app-misc');
  assert.equal(x.metadata.get('PF')!.toString().trim(), 'hello-1.0');
  assert.ok(x.metadata.has('environment.bz2'));
  assert.ok(x.metadata.has('hello-1.0.ebuild'));
  const bytes = readFileSync(join(fixturesDir, 'xpak/app-misc/hello-1.0.tbz2'));
  assert.equal(bytes.subarray(0, 3).toString(), 'BZh', 'image starts the file');
  assert.equal(bytes.subarray(x.imageLength, x.imageLength + 8).toString(), 'XPAKPACK');
});

test('encode → read round trip, and hostile trailers', async (t) => {
  const dir = await tempDir(t);
  const md = new Map([['CATEGORY', Buffer.from('a\n')], ['PF', Buffer.from('b-1\n')], ['SLOT', Buffer.from('0\n')]]);
  const image = Buffer.from('not really bzip2');
  const good = Buffer.concat([image, encodeXpak(md)]);
  writeFileSync(join(dir, 'ok.tbz2'), good);
  const x = await readXpak(join(dir, 'ok.tbz2'));
  assert.deepEqual([...x.metadata.keys()], ['CATEGORY', 'PF', 'SLOT']);
  assert.equal(x.imageLength, image.length);

  const cases: [string, Buffer, string][] = [
    ['no STOP', Buffer.concat([good.subarray(0, good.length - 4), Buffer.from('STAP')]), 'BAD_XPAK'],
    ['too short', Buffer.from('STOP'), 'TRUNCATED'],
    ['length past the file', (() => { const b = Buffer.from(good); b.writeUInt32BE(0x7fffffff, b.length - 8); return b; })(), 'BAD_XPAK'],
    ['duplicate key', Buffer.concat([image, encodeXpak(new Map([['PF', Buffer.from('x')]])).subarray(0, 0), (() => {
      const one = encodeXpak(new Map([['PF', Buffer.from('x')], ['PG', Buffer.from('y')]]));
      return Buffer.from(one.toString('latin1').replace('PG', 'PF'), 'latin1');
    })()]), 'BAD_XPAK'],
    ['unsafe name', Buffer.concat([image, encodeXpak(new Map([['../x', Buffer.from('x')]]))]), 'BAD_XPAK'],
  ];
  for (const [name, bytes, code] of cases) {
    writeFileSync(join(dir, 'bad.tbz2'), bytes);
    await assert.rejects(readXpak(join(dir, 'bad.tbz2')), { code }, name);
  }
  // Valid XPAK, garbage image: the reader of the whole package reports the bzip2 failure.
  writeFileSync(join(dir, 'b-1.tbz2'), good);
  await assert.rejects(inspectPackage(join(dir, 'b-1.tbz2')), { code: 'CORRUPT_COMPRESSION' });
});

test('a .tbz2 whose image leaves its root is refused by the same image entry rule', async (t) => {
  const dir = await tempDir(t);
  const md = new Map([['CATEGORY', Buffer.from('app-misc\n')], ['PF', Buffer.from('evil-1\n')], ['SLOT', Buffer.from('0\n')]]);
  for (const [rule, tar] of [
    ['dot-dot', rawTar([{ name: './', typeflag: '5' }, { name: './../../etc/cron.d/x', data: Buffer.from('x') }])],
    ['absolute', rawTar([{ name: '/etc/passwd', data: Buffer.from('x') }])],
    ['parent-not-directory', rawTar([{ name: './usr', typeflag: '2', linkname: '/' }, { name: './usr/etc/passwd', data: Buffer.from('x') }])],
  ] as const) {
    const p = join(dir, `${rule}.tbz2`);
    writeFileSync(p, Buffer.concat([compressWith('bzip2', tar), encodeXpak(md)]));
    await assert.rejects(inspectPackage(p), { code: 'HOSTILE_ENTRY', rule, subject: p });
  }
});
