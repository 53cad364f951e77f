/** Dispute explanation from real canonical listings (two real Portage builds of one build config that differ). */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import { buildCoordinatorApp } from '../../src/coordinator/server.js';
import { openStore } from '../../src/coordinator/store/sql-store.js';
import { inspectPackage, type PackageInfo } from '../../src/formats/inspect.js';
import { diffListings } from '../../src/formats/listing-diff.js';
import { generateKey, type PrivateKey } from '../../src/trust/keys.js';
import { signAttestation } from '../../src/trust/statements.js';
import { runCli } from '../helpers/cli.js';
import { fixturesDir, hasFixtures, need, tempDir } from '../helpers/env.js';
import { DAY, World } from '../helpers/trust-world.js';

const inspect = (rel: string) => inspectPackage(join(fixturesDir, rel), { listings: true });

/** Every path whose listing line differs, computed straight from the listing text (independently of listing-diff). */
function differingLines(a: string, b: string, rename?: [string, string]): Set<string> {
  const byPath = (text: string, from?: string, to?: string) =>
    new Map(text.split('\n').slice(1).filter(Boolean).map((l) => {
      const f = JSON.parse(l) as unknown[];
      let p = f[1] as string;
      if (from && (p === from || p.startsWith(`${from}/`))) p = to + p.slice(from.length);
      f[1] = '';
      return [p, JSON.stringify(f)];
    }));
  const A = byPath(a);
  const B = byPath(b, rename?.[1], rename?.[0]);
  return new Set([...A.keys(), ...B.keys()].filter((p) => A.get(p) !== B.get(p)));
}

test('listings of two real builds: differing image entries and metadata keys, with the fields that differ', async (t) => {
  if (!need(t, hasFixtures, 'shared Portage fixtures')) return;
  // hello built with USE="nls -debug" and with USE="debug -nls" (one PKGDIR, so one prefix).
  const a = await inspect('multi/app-misc/hello/hello-1.0-1.gpkg.tar');
  const b = await inspect('multi/app-misc/hello/hello-1.0-2.gpkg.tar');
  const d = diffListings([{ outputDigest: a.outputDigest, ...a.listings! }, { outputDigest: b.outputDigest, ...b.listings! }]);
  assert.deepEqual(d.renamed, []);
  assert.deepEqual(new Set(d.image.map((x) => x.path)), differingLines(a.listings!.image, b.listings!.image));
  const bin = d.image.find((x) => x.path.endsWith('/usr/bin/hello'))!;
  assert.deepEqual(bin.fields, ['size', 'sha256']);
  assert.notEqual(bin.entries[a.outputDigest]!.sha256, bin.entries[b.outputDigest]!.sha256);
  const locale = d.image.find((x) => x.path.endsWith('/locale/de.txt'))!;
  assert.deepEqual(locale.fields, ['presence']);
  assert.equal(locale.entries[b.outputDigest], null, 'no nls, no locale file');
  assert.deepEqual(d.metadata.map((m) => m.key), ['PKGUSE', 'USE', 'environment']);
  // Listings hash to the digests the attestation carries.
  const { createHash } = await import('node:crypto');
  assert.equal(createHash('sha256').update(a.listings!.image).digest('hex'), a.imageDigest);
  assert.equal(createHash('sha256').update(a.listings!.metadata).digest('hex'), a.metadataDigest);
  const x = await inspect('xpak/app-misc/hello-1.0.tbz2');
  assert.equal(createHash('sha256').update(x.listings!.image).digest('hex'), x.imageDigest, 'XPAK packages list the same way');
  assert.equal(createHash('sha256').update(x.listings!.metadata).digest('hex'), x.metadataDigest);
  assert.equal((await inspectPackage(join(fixturesDir, 'xpak/app-misc/hello-1.0.tbz2'))).listings, undefined, 'only when asked for');
});

test('dispute explanation over HTTP: listings are checked against the attested output; a build prefix is recognised as a rename', async (t) => {
  if (!need(t, hasFixtures, 'shared Portage fixtures')) return;
  const dir = await tempDir(t);
  const store = await openStore(join(dir, 'c.db'));
  const w = new World();
  const { app } = await buildCoordinatorApp({ store, key: generateKey(), roots: [w.root.publicKey] });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  // One build config, built twice by real Portage in two prefixes: a real dispute.
  const a = await inspect('zstd/app-misc/hello-1.0.gpkg.tar');
  const b = await inspect('multi/app-misc/hello/hello-1.0-1.gpkg.tar');
  assert.equal(a.buildKey, b.buildKey);
  assert.notEqual(a.outputDigest, b.outputDigest);
  const attest = (info: PackageInfo, k: PrivateKey) =>
    new CoordinatorClient(url, k).submitAttestation(signAttestation({ kind: 'build', buildConfig: info.buildConfig, outputDigest: info.outputDigest, archive: { sha256: info.archive.sha256, size: info.archive.size, pieceRoot: 'd'.repeat(64) }, time: new Date() }, k));
  const live = { from: new Date(Date.now() - DAY), to: new Date(Date.now() + 365 * DAY) };
  const ka = w.operator('alice', live).builders[0]!.key;
  const kb = w.operator('bob', live).builders[0]!.key;
  for (const c of w.certificates) await new CoordinatorClient(url, ka).submitCertificate(c);
  await attest(a, ka);
  assert.ok((await attest(b, kb)).dispute, 'dispute recorded');
  const client = new CoordinatorClient(url, ka);

  // Listings must hash to the attested output, name a known output and be readable.
  await assert.rejects(client.uploadListing(a.outputDigest, { image: a.listings!.image, metadata: b.listings!.metadata }), { code: 'LISTING_MISMATCH' });
  await assert.rejects(client.uploadListing('e'.repeat(64), a.listings!), { code: 'NOT_FOUND' });
  await assert.rejects(new CoordinatorClient(url).uploadListing(a.outputDigest, a.listings!), { code: 'UNSIGNED' });
  // The SLOT a builder claims for ABI-rebuild planning must be the one in the attested metadata (hello's is "0").
  await assert.rejects(client.uploadListing(a.outputDigest, { ...a.listings!, abi: { slot: '0/2', provides: [], requires: [] } }), { code: 'LISTING_MISMATCH' });
  assert.equal(a.slot, '0');
  const first = await client.uploadListing(a.outputDigest, { ...a.listings!, abi: { slot: '0', provides: [], requires: ['libgreet.so.1'] } });
  assert.deepEqual(await store.scheduler.abiOf(a.outputDigest), { slot: '0', provides: [], requires: ['libgreet.so.1'] });
  assert.deepEqual([first.imageDigest, first.metadataDigest, first.duplicate], [a.imageDigest, a.metadataDigest, false]);
  assert.equal((await client.uploadListing(a.outputDigest, a.listings!)).duplicate, true);

  const partial = await client.explainDispute(a.buildKey);
  assert.deepEqual(partial.missingListings, [b.outputDigest]);
  assert.deepEqual(partial.image, []);
  await new CoordinatorClient(url, kb).uploadListing(b.outputDigest, b.listings!);

  const x = await client.explainDispute(a.buildKey);
  assert.equal(x.cpv, 'app-misc/hello-1.0');
  assert.deepEqual(x.missingListings, []);
  assert.deepEqual(x.outputs.map((o) => [o.outputDigest, o.attesters]).sort(), [[a.outputDigest, [ka.publicKey.id]], [b.outputDigest, [kb.publicKey.id]]].sort());
  // The build prefix (EPREFIX) is the one directory named differently in each output …
  const prefixA = (a.metadata.eprefix.replace(/^\//, '')).replace(/\/$/, '');
  const prefixB = (b.metadata.eprefix.replace(/^\//, '')).replace(/\/$/, '');
  assert.deepEqual(x.renamed, [{ path: prefixA, names: { [a.outputDigest]: prefixA, [b.outputDigest]: prefixB } }]);
  // … and under it the images are the same; what differs is the recorded prefix and the saved environment.
  assert.deepEqual(new Set(x.image.map((i) => i.path)), differingLines(a.listings!.image, b.listings!.image, [prefixA, prefixB]));
  assert.deepEqual(x.image, []);
  assert.deepEqual(x.metadata.map((m) => m.key), ['EPREFIX', 'environment']);

  const cli = await runCli(['dispute', 'show', a.buildKey, '--coordinator', url, '--json']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(JSON.parse(cli.stdout), x);
  const human = await runCli(['dispute', 'show', a.buildKey, '--coordinator', url]);
  assert.match(human.stdout, /named differently in each output/);
  assert.match(human.stdout, /EPREFIX/);
  await assert.rejects(client.explainDispute('0'.repeat(64)), { code: 'NOT_FOUND' });
});
