/** The gateway against a real in-process network: lazy listing, the USE filter, incremental refresh, restarts, staleness, self-checks. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import { localUseOf } from '../../src/gateway/local-config.js';
import { LocalDb } from '../../src/gateway/local-db.js';
import { buildGatewayApp } from '../../src/gateway/server.js';
import { TileClient } from '../../src/api/tile-client.js';
import { mirrorTiles } from '../../src/log/mirror.js';
import { hasFixtures, need } from '../helpers/env.js';
import { hasNginx, startNginx } from '../helpers/nginx.js';
import { config } from '../helpers/trust-world.js';
import { network } from './helpers.js';

const cpvs = (text: string) => [...text.matchAll(/^CPV: (.+)$/gm)].map((m) => m[1]).sort();
const blobCount = (dir: string) => readdirSync(join(dir, 'blobs', 'sha256'), { recursive: true }).filter((f) => String(f).length > 10).length;

test('lists trusted builds without downloading them; an archive is fetched and verified when asked for; the cache evicts the least recently used', async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  const net = await network(t);
  const gw = await net.gateway('gw', { cacheBytes: 25_000 });
  const view = await gw.refresh();
  assert.deepEqual(cpvs(gw.packagesText()), ['app-doc/greet-doc-1.0', 'app-misc/hello-1.0', 'app-misc/hello-1.0', 'dev-libs/libgreet-1.0']);
  assert.doesNotMatch(gw.packagesText(), /^(MD5|SHA1):/m, 'digests Portage does not need are not invented');
  assert.equal(blobCount(join(net.dir, 'gw')), 0, 'listing downloaded nothing');
  const app = buildGatewayApp(gw);
  t.after(() => app.close());
  const paths = [...view.packages.values()].sort((a, b) => a.size - b.size);
  const first = await app.inject({ method: 'GET', url: `/${paths[0]!.path}` });
  assert.equal(first.statusCode, 200);
  assert.equal(createHash('sha256').update(first.rawPayload).digest('hex'), paths[0]!.archiveSha256);
  const second = await app.inject({ method: 'GET', url: `/${paths[1]!.path}` });
  assert.equal(second.statusCode, 200);
  assert.ok(paths[0]!.size + paths[1]!.size > 25_000, 'the fixture archives do not both fit the cap');
  assert.equal(await gw.store.has(paths[0]!.archiveSha256), false, 'least recently used evicted');
  assert.equal(await gw.store.has(paths[1]!.archiveSha256), true);
  assert.equal((await app.inject({ method: 'GET', url: '/app-misc/hello/hello-1.0-99.gpkg.tar' })).statusCode, 404);
});

test('a gateway syncs from a copy of the tiles served by nginx, as from the coordinator', async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  if (!need(t, hasNginx, 'nginx (apt-get install nginx)')) return;
  const net = await network(t);
  const tiles = new TileClient(`${net.url}/log`);
  await mirrorTiles({ checkpoint: () => tiles.checkpoint(), tile: (r) => tiles.tile(r) }, join(net.dir, 'mirror'));
  const nginx = await startNginx(join(net.dir, 'mirror'), join(net.dir, 'nginx'));
  t.after(nginx.stop);
  const direct = await net.gateway('direct');
  await direct.refresh();
  const mirrored = await net.gateway('mirrored', { logUrl: nginx.url });
  await mirrored.refresh();
  assert.equal(mirrored.current()!.checkpointSize, direct.current()!.checkpointSize);
  assert.deepEqual([...mirrored.current()!.packages.keys()].sort(), [...direct.current()!.packages.keys()].sort());
  assert.equal(mirrored.tiles.requests, 2, 'the checkpoint and one bundle, from nginx');
});

test('the USE filter lists only the build this system would make, from verified metadata', async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  const net = await network(t);
  const nls = await net.gateway('nls', { localUse: localUseOf('nls', []) });
  await nls.refresh();
  const hello = [...nls.current()!.index.packages].filter((e) => e.get('CPV') === 'app-misc/hello-1.0');
  assert.deepEqual(hello.map((e) => e.get('USE')), ['amd64 elibc_glibc kernel_linux nls']);
  const debug = await net.gateway('debug', { localUse: localUseOf('', ['app-misc/hello debug -nls']) });
  await debug.refresh();
  assert.deepEqual([...debug.current()!.index.packages].filter((e) => e.get('CPV') === 'app-misc/hello-1.0').map((e) => e.get('USE')), ['amd64 debug elibc_glibc kernel_linux']);
});

test('a refresh fetches only what is new and re-evaluates only the builds it touches; signatures are verified once', async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  const net = await network(t);
  const gw = await net.gateway('gw');
  await gw.refresh();
  const size = gw.lastRefresh!.size;
  assert.equal(gw.lastRefresh!.verified, 8, 'four builds, two operators each');
  let before = gw.tiles.requests;
  await gw.refresh();
  assert.equal(gw.tiles.requests - before, 1, 'nothing new: only the checkpoint');
  assert.deepEqual({ ...gw.lastRefresh, size: 0 }, { from: size, size: 0, reevaluated: 0, verified: 0 });
  const alice = net.ops[0]!.builders[0]!.key;
  await new CoordinatorClient(net.url, alice).submitAttestation(net.w.attest(alice, { time: new Date(), cfg: config('app-misc/other-1.0') }));
  before = gw.tiles.requests;
  await gw.refresh();
  assert.equal(gw.tiles.requests - before, 2, 'the checkpoint and the one partial bundle past it');
  assert.deepEqual({ reevaluated: gw.lastRefresh!.reevaluated, verified: gw.lastRefresh!.verified }, { reevaluated: 1, verified: 1 });
});

test('restarted while the coordinator is down it serves its last verified view, until max-staleness; a state failing its own checks is rebuilt', async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  const net = await network(t);
  let now = Date.now();
  const gw = await net.gateway('gw', { now: () => now, policy: net.policy('max-staleness = "1h"\n') });
  await gw.refresh();
  const listing = gw.packagesText();
  await gw.close();
  await net.stopCoordinator();
  const again = await net.gateway('gw', { now: () => now, policy: net.policy('max-staleness = "1h"\n') });
  assert.equal(again.packagesText(), listing, 'the same view, from the local state');
  await assert.rejects(again.refresh(), { code: 'LOG_UNREACHABLE' });
  const app = buildGatewayApp(again);
  t.after(() => app.close());
  assert.equal((await app.inject('/Packages')).statusCode, 200);
  now += 2 * 3600_000;
  const stale = await app.inject('/Packages');
  assert.equal(stale.statusCode, 503);
  assert.equal(stale.json().error.code, 'STALE');
  const status = (await app.inject('/-/status')).json();
  assert.equal(status.serving, false);
  assert.match(status.notServing.message, /max-staleness/);
  assert.equal(status.lastRefreshProblem.code, 'LOG_UNREACHABLE');
  await again.close();

  // Tamper with the stored right edge: the state no longer hashes to its checkpoint.
  const db = LocalDb.open(join(net.dir, 'gw'));
  db.set('edge', JSON.stringify((JSON.parse(db.get('edge')!) as string[]).map((h) => h.replace(/^./, (c) => (c === '0' ? '1' : '0')))));
  db.close();
  const lines: string[] = [];
  const rebuilt = await net.gateway('gw', { now: () => now, log: (l) => lines.push(l) });
  assert.match(lines.join('\n'), /failed its own check .*rebuilding it from the log/);
  assert.equal(rebuilt.current(), undefined, 'nothing from the bad state is served');
});
