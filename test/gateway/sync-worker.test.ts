/** A large sync indexes on a worker thread: same state as indexing inline, and the same refusals. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { TileClient } from '../../src/api/tile-client.js';
import { LocalDb } from '../../src/gateway/local-db.js';
import { syncLog } from '../../src/gateway/sync.js';
import { signCheckpoint } from '../../src/log/checkpoint.js';
import { encodeLeaf } from '../../src/log/leaf.js';
import { encodeBundle, tilePath, TreeEdge } from '../../src/log/tiles.js';
import { generateKey } from '../../src/trust/keys.js';
import { tempDir } from '../helpers/env.js';
import { config, World } from '../helpers/trust-world.js';

const CHOST = 'x86_64-pc-linux-gnu';

/** A static tiled log of these leaves (two bundles and a partial one), served over HTTP. */
async function serveLog(t: { after: (fn: () => unknown) => void }, leaves: Buffer[]) {
  const key = generateKey();
  const files = new Map<string, Buffer>();
  const edge = TreeEdge.empty();
  for (const l of leaves) edge.appendLeaf(l);
  for (let n = 0; n * 256 < leaves.length; n++) {
    const part = leaves.slice(n * 256, n * 256 + 256);
    files.set(`/${tilePath({ level: 'entries', index: n, width: part.length })}`, encodeBundle(part));
  }
  files.set('/checkpoint', Buffer.from(signCheckpoint({ origin: 'test/log', size: leaves.length, root: edge.root(), extensions: [] }, 'test/log', key)));
  const server = createServer((req, res) => {
    const body = files.get(req.url ?? '');
    res.writeHead(body ? 200 : 404).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, log: { name: 'test/log', key: key.publicKey } };
}

test('indexing on the worker and inline give the same state; a log time going back is refused either way', async (t) => {
  const dir = await tempDir(t);
  const w = new World();
  const op = w.operator('alice');
  const leaves: Buffer[] = [encodeLeaf({ type: 'certificate', envelope: op.cert, logTime: 1 }), encodeLeaf({ type: 'certificate', envelope: op.builders[0]!.cert, logTime: 2 })];
  for (let i = 0; leaves.length < 600; i++) {
    const env = w.attest(op.builders[0]!.key, { cfg: config(`app-misc/p${i}-1.0`, { chost: i % 3 === 0 ? 'aarch64-unknown-linux-gnu' : CHOST }) });
    leaves.push(encodeLeaf({ type: 'attestation', envelope: env, logTime: 10 + i }));
  }
  const { url, log } = await serveLog(t, leaves);
  const dump = async (name: string, workerFromBundles: number) => {
    const db = LocalDb.open(join(dir, name));
    const r = await syncLog(db, new TileClient(url), { log, witnesses: { witnesses: [], required: 0 }, chost: CHOST, now: () => 0, workerFromBundles });
    const rows = db.db.prepare('SELECT idx, kind, signer, build_key, chost, subject, len FROM statements ORDER BY idx').all();
    const meta = ['size', 'edge', 'lastLogTime'].map((k) => db.get(k));
    const leafBytes = db.attestationsOf([...new Set(rows.map((x) => (x as { build_key: string | null }).build_key).filter((k): k is string => k !== null))]).map((s) => s.leaf.toString('base64'));
    db.close();
    return { size: r.size, rows, meta, leafBytes };
  };
  const inline = await dump('inline', 1000);
  const worker = await dump('worker', 1);
  assert.equal(inline.size, 600);
  assert.equal(inline.rows.length, 2 + 598 - 200, 'certificates and our CHOST’s attestations');
  assert.deepEqual(worker, inline);

  const back = [...leaves.slice(0, 400), encodeLeaf({ type: 'certificate', envelope: op.cert, logTime: 5 })];
  const bad = await serveLog(t, back);
  for (const [name, from] of [['bad-inline', 1000], ['bad-worker', 1]] as const) {
    const db = LocalDb.open(join(dir, name));
    await assert.rejects(syncLog(db, new TileClient(bad.url), { log: bad.log, witnesses: { witnesses: [], required: 0 }, chost: CHOST, now: () => 0, workerFromBundles: from }), (e: Error & { code?: string }) => e.code === 'LOG_TIME_BACKWARDS' && /leaf 400/.test(e.message));
    assert.equal(db.get('size'), undefined, 'nothing kept');
    assert.equal(db.maxIndex(), -1);
    db.close();
  }
});
