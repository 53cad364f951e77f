/** Signing a gpkg for Portage: the same members, their signatures, a clearsigned Manifest; failures leave nothing behind. */
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SIGNED_COPY_SLACK, signGpkg, signVerifiedGpkg } from '../../src/formats/gpkg-sign.js';
import { readGpkg } from '../../src/formats/gpkg-read.js';
import { inspectPackage } from '../../src/formats/inspect.js';
import { Gpg, gpgAvailable } from '../../src/formats/openpgp.js';
import { isBinswarmError } from '../../src/errors.js';
import { fixturesDir, hasFixtures, need, tempDir } from '../helpers/env.js';

const HELLO = () => join(fixturesDir, 'zstd', 'app-misc/hello-1.0.gpkg.tar');

test('re-signing a signed copy replaces its signatures; the output is unchanged', { timeout: 60_000 }, async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage') || !need(t, gpgAvailable(), 'gpg (Debian gnupg)')) return;
  const dir = await tempDir(t);
  const gpg = new Gpg({ home: join(dir, 'gnupg') });
  t.after(() => gpg.close());
  const made = await gpg.ensureKey('test <t@example.invalid>');
  assert.equal(made.created, true);
  assert.deepEqual(await gpg.ensureKey('again'), { fingerprint: made.fingerprint, created: false });
  const once = join(dir, 'once.gpkg.tar');
  const twice = join(dir, 'twice.gpkg.tar');
  await signGpkg(HELLO(), once, gpg);
  await signGpkg(once, twice, gpg);
  const [a, b, orig] = await Promise.all([readGpkg(once), readGpkg(twice), readGpkg(HELLO())]);
  assert.equal(a.signed && b.signed, true);
  assert.equal(orig.signed, false);
  assert.equal(b.imageDigest, orig.imageDigest);
  assert.deepEqual([...b.metadataFiles.keys()], [...orig.metadataFiles.keys()]);
});

test('a key that cannot sign, or input that is not a gpkg: a typed error and no output file', { timeout: 60_000 }, async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage') || !need(t, gpgAvailable(), 'gpg (Debian gnupg)')) return;
  const dir = await tempDir(t);
  const home = join(dir, 'gnupg');
  const owner = new Gpg({ home });
  t.after(() => owner.close());
  await owner.ensureKey('test <t@example.invalid>');
  const out = join(dir, 'out');
  const code = async (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (isBinswarmError(e) ? e.code : `untyped: ${String(e)}`));
  assert.equal(await code(signGpkg(HELLO(), join(out, 'x.gpkg.tar'), new Gpg({ home, key: '0xDEADBEEFDEADBEEF' }))), 'GPG_NO_KEY');
  assert.equal(await code(signGpkg(HELLO(), join(dir, 'x.gpkg.tar'), new Gpg({ home: join(dir, 'empty') }))), 'GPG_NO_KEY');
  const junk = join(dir, 'junk.gpkg.tar');
  writeFileSync(junk, Buffer.alloc(2048, 7));
  assert.match(await code(signGpkg(junk, join(dir, 'y.gpkg.tar'), owner)), /^(BAD_TAR|BAD_MEMBER|TRUNCATED)$/);
  // The archive on disk is not the one that was verified (changed since): refused, copy removed.
  const info = await inspectPackage(HELLO(), { format: 'gpkg' });
  assert.equal(await code(signVerifiedGpkg({ path: HELLO(), sha256: info.archive.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0')) }, join(dir, 'z.gpkg.tar'), owner)), 'SIGNED_COPY_DIFFERS');
  const ok = await signVerifiedGpkg({ path: HELLO(), sha256: info.archive.sha256 }, join(dir, 'ok.gpkg.tar'), owner);
  const again = await inspectPackage(join(dir, 'ok.gpkg.tar'), { format: 'gpkg', portageDigests: true });
  assert.deepEqual([again.signed, again.outputDigest, again.archive.sha256, again.md5, again.sha1], [true, info.outputDigest, ok.sha256, ok.md5, ok.sha1]);
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tar') || n.endsWith('.tmp')).sort(), ['junk.gpkg.tar', 'ok.gpkg.tar']);
});

test('a padded copy has exactly the size listed before it was made; one that would not fit is refused, nothing left', { timeout: 60_000 }, async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage') || !need(t, gpgAvailable(), 'gpg (Debian gnupg)')) return;
  const dir = await tempDir(t);
  const gpg = new Gpg({ home: join(dir, 'gnupg') });
  t.after(() => gpg.close());
  await gpg.ensureKey('test <t@example.invalid>');
  const info = await inspectPackage(HELLO(), { format: 'gpkg' });
  const padTo = info.archive.size + SIGNED_COPY_SLACK;
  const padded = await signVerifiedGpkg({ path: HELLO(), sha256: info.archive.sha256 }, join(dir, 'padded.gpkg.tar'), gpg, { padTo });
  assert.deepEqual([padded.size, statSync(join(dir, 'padded.gpkg.tar')).size], [padTo, padTo]);
  const reread = await inspectPackage(join(dir, 'padded.gpkg.tar'), { format: 'gpkg', portageDigests: true });
  assert.deepEqual([reread.signed, reread.outputDigest, reread.archive.sha256], [true, info.outputDigest, padded.sha256]);
  const err = await signGpkg(HELLO(), join(dir, 'small.gpkg.tar'), gpg, { padTo: 1024 }).then(() => undefined, (e: unknown) => e);
  assert.ok(isBinswarmError(err) && err.code === 'SIGNED_COPY_TOO_BIG', String(err));
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tar') || n.endsWith('.tmp')), ['padded.gpkg.tar']);
});
