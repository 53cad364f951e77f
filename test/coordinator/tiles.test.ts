/** The coordinator publishes its log as tlog-tiles; a copied tile directory served by nginx is just as good a source. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import { TileClient } from '../../src/api/tile-client.js';
import { buildCoordinatorApp } from '../../src/coordinator/server.js';
import { openStore } from '../../src/coordinator/store/sql-store.js';
import { openCheckpoint } from '../../src/log/checkpoint.js';
import { followLog } from '../../src/log/follow.js';
import { MerkleLog } from '../../src/log/log.js';
import { decodeBundle, decodeHashTile, TreeEdge } from '../../src/log/tiles.js';
import { generateKey } from '../../src/trust/keys.js';
import { runCli } from '../helpers/cli.js';
import { need, tempDir } from '../helpers/env.js';
import { hasNginx, startNginx } from '../helpers/nginx.js';
import { config, DAY, World } from '../helpers/trust-world.js';

test('tiles from the coordinator, exported to a directory, served by nginx, followed to the signed root', async (t) => {
  const dir = await tempDir(t);
  const store = await openStore(join(dir, 'c.db'));
  const key = generateKey();
  const w = new World();
  const { app } = await buildCoordinatorApp({ store, key, roots: [w.root.publicKey] });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  const op = w.operator('alice', { from: new Date(Date.now() - DAY), to: new Date(Date.now() + 365 * DAY) });
  const client = new CoordinatorClient(url, op.builders[0]!.key);
  for (const c of w.certificates) await client.submitCertificate(c);
  // Each new build config is two leaves (attestation, binrev): 2 certificates + 2 × 149 = 300.
  const envs = Array.from({ length: 149 }, (_, i) => w.attest(op.builders[0]!.key, { time: new Date(), cfg: config(`app-misc/p${i}-1.0`) }));
  await client.submitAttestations(envs);

  const tiles = new TileClient(`${url}/log`);
  const text = await tiles.checkpoint();
  const cp = openCheckpoint(text, { name: 'binswarm.local/log', key: key.publicKey }).checkpoint;
  assert.equal(cp.size, 300);
  const full = await fetch(`${url}/log/tile/entries/000`);
  assert.equal(full.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  const partial = await fetch(`${url}/log/tile/entries/001.p/44`);
  assert.match(partial.headers.get('cache-control') ?? '', /max-age=60$/);
  const leaves = await store.getLeaves(256, 300);
  assert.deepEqual(decodeBundle(Buffer.from(await partial.arrayBuffer()), 44).map((e) => Buffer.from(e)), leaves);
  // Hash tile 0/000 = the 256 leaf hashes; 1/000.p/1 = the level-8 node, both as the log stored them.
  const log = new MerkleLog(store.log);
  const h0 = decodeHashTile(await tiles.tile({ level: 0, index: 0, width: 256 }), 256);
  assert.deepEqual(Buffer.from(h0[7]!), Buffer.from((await store.log.getNodes([{ level: 0, index: 7 }]))[0]!));
  const h1 = decodeHashTile(await tiles.tile({ level: 1, index: 0, width: 1 }), 1);
  assert.deepEqual(Buffer.from(h1[0]!), Buffer.from(await log.root(256)));
  for (const missing of ['tile/entries/002', 'tile/entries/001.p/45', 'tile/0/001', 'tile/0/../000', 'tile/9/000.p/300']) {
    assert.equal((await fetch(`${url}/log/${missing}`)).status, 404, missing);
  }

  const out = join(dir, 'mirror');
  const r = await runCli(['log', 'export-tiles', '--log', `${url}/log`, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  // Hash tiles 0/000, 0/001.p/44, 1/000.p/1 and bundles 000, 001.p/44.
  assert.deepEqual(JSON.parse(r.stdout), { size: 300, fetched: 5, out });
  const again = await runCli(['log', 'export-tiles', '--log', `${url}/log`, '--out', out, '--json']);
  assert.equal(JSON.parse(again.stdout).fetched, 3, 'full tiles are immutable: only the partial ones are fetched again');
  if (!need(t, hasNginx, 'nginx (apt-get install nginx)')) return;
  const nginx = await startNginx(out, join(dir, 'nginx'));
  t.after(nginx.stop);
  const mirror = new TileClient(nginx.url);
  const mirrored = openCheckpoint(await mirror.checkpoint(), { name: 'binswarm.local/log', key: key.publicKey });
  assert.equal((await fetch(`${nginx.url}/tile/entries/000`)).headers.get('cache-control'), 'public, max-age=31536000, immutable');
  const edge = await followLog({ edge: TreeEdge.empty(), to: mirrored.checkpoint, fetchBundle: (ref) => mirror.tile(ref) });
  assert.equal(edge.size, 300);
  assert.equal(mirror.requests, 3, 'the checkpoint and two bundles');
});
