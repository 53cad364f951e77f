/**
 * BUILD_TIME in the gateway's index. Portage records the BUILD_TIME inside
 * the package it merged and, with `-uD --getbinpkgonly` (which implies
 * --rebuilt-binaries), reinstalls whenever the index says another: the
 * gateway lists the attestation time until it has read the archive, then
 * the archive's own, raising TIMESTAMP so Portage reads the index again.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspectPackage } from '../../src/formats/inspect.js';
import { gpgAvailable } from '../../src/formats/openpgp.js';
import { parsePackagesIndex } from '../../src/formats/packages-index.js';
import { LocalDb } from '../../src/gateway/local-db.js';
import { gatewayGnupgHome, PortageSigning } from '../../src/gateway/portage-signing.js';
import { buildGatewayApp } from '../../src/gateway/server.js';
import { BlobStore } from '../../src/transfer/blob-store.js';
import { hasFixtures, need } from '../helpers/env.js';
import { network } from './helpers.js';

const buildTimeOf = (text: string, path: string) => parsePackagesIndex(text).packages.find((e) => e.get('PATH') === path)?.get('BUILD_TIME');

test("BUILD_TIME: the attestation's until the archive is read, then the archive's own (TIMESTAMP rises); kept across a restart", async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  const net = await network(t);
  const gw = await net.gateway('gw');
  const view = await gw.refresh();
  const index = () => parsePackagesIndex(gw.packagesText());
  const before = index();
  const p = [...view.packages.values()].find((x) => x.cpv === 'dev-libs/libgreet-1.0')!;
  const entry = (ix: ReturnType<typeof index>) => ix.packages.find((e) => e.get('PATH') === p.path)!;
  const attested = Number(entry(before).get('BUILD_TIME'));
  assert.ok(Math.abs(attested - Date.now() / 1000) < 3600, 'before the archive is read: the attestation time');

  const app = buildGatewayApp(gw);
  t.after(() => app.close());
  assert.equal((await app.inject({ method: 'GET', url: `/${p.path}` })).statusCode, 200);
  const own = (await inspectPackage(gw.store.path(p.archiveSha256), { format: 'gpkg' })).metadata.buildTime!;
  assert.notEqual(own, attested, 'the fixture was built long before it was attested');
  const after = index();
  assert.equal(entry(after).get('BUILD_TIME'), String(own), "the archive's own BUILD_TIME, as Portage records it");
  assert.ok(Number(after.header.get('TIMESTAMP')) > Number(before.header.get('TIMESTAMP')), 'TIMESTAMP rises: Portage replaces its copy');
  const others = (ix: ReturnType<typeof index>) => ix.packages.filter((e) => e.get('PATH') !== p.path).map((e) => [...e]);
  assert.deepEqual(others(after), others(before), 'the other entries are untouched');

  // Served again: nothing changes.
  const text = gw.packagesText();
  assert.equal((await app.inject({ method: 'GET', url: `/${p.path}` })).statusCode, 200);
  assert.equal(gw.packagesText(), text);

  await app.close();
  await gw.close();
  const again = await net.gateway('gw');
  assert.equal(again.packagesText(), text, 'learned BUILD_TIMEs are part of the local state');
});

test('a signing gateway whose state was rebuilt from the log: the signed copy it already has is served, and the archive read once more for its BUILD_TIME', async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  if (!need(t, gpgAvailable(), 'gpg (apt-get install gnupg)')) return;
  const net = await network(t);
  const dir = join(net.dir, 'gws');
  const signing = await PortageSigning.open(dir, await BlobStore.open(dir), { home: gatewayGnupgHome(dir) });
  t.after(() => signing.close());
  const serve = async () => {
    const gw = await net.gateway('gws', { signForPortage: signing });
    const view = await gw.refresh();
    const p = [...view.packages.values()].find((x) => x.cpv === 'dev-libs/libgreet-1.0')!;
    const app = buildGatewayApp(gw);
    const before = buildTimeOf(gw.packagesText(), p.path);
    const res = await app.inject({ method: 'GET', url: `/${p.path}` });
    assert.equal(res.statusCode, 200);
    const own = (await inspectPackage(gw.store.path(p.archiveSha256), { format: 'gpkg' })).metadata.buildTime;
    await app.close();
    await gw.close();
    return { p, before, after: buildTimeOf(gw.packagesText(), p.path), own: String(own), body: res.rawPayload };
  };
  const first = await serve();
  assert.equal(first.after, first.own, "learned when the copy was made: the archive's own");
  assert.notEqual(first.before, first.after);

  LocalDb.reset(dir);
  const second = await serve();
  assert.notEqual(second.before, first.after, 'the rebuilt state lists the attestation time at first');
  assert.equal(second.after, first.own, "then the archive's own again");
  assert.deepEqual(second.body, first.body, 'the signed copy already made is served, not a new one');
});
