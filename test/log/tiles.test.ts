/** tlog-tiles paths, bundles and the tree edge, against the spec's examples and the stored-node log. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryHashStore } from '../../src/log/hash-store.js';
import { MerkleLog } from '../../src/log/log.js';
import { followLog } from '../../src/log/follow.js';
import { leafHash } from '../../src/log/merkle.js';
import { tilesFor } from '../../src/log/mirror.js';
import { bundlesBetween, decodeBundle, decodeHashTile, encodeBundle, encodeIndex, parseTilePath, tilePath, tileWidth, TreeEdge } from '../../src/log/tiles.js';

test('tile paths as in c2sp.org/tlog-tiles, and nothing else parses', () => {
  assert.equal(encodeIndex(1234067), 'x001/x234/067');
  assert.equal(encodeIndex(0), '000');
  assert.equal(tilePath({ level: 0, index: 1234067, width: 256 }), 'tile/0/x001/x234/067');
  assert.equal(tilePath({ level: 'entries', index: 1234067, width: 8 }), 'tile/entries/x001/x234/067.p/8');
  assert.deepEqual(parseTilePath('tile/1/x001/x234/067.p/8'), { level: 1, index: 1234067, width: 8 });
  assert.deepEqual(parseTilePath('tile/entries/000'), { level: 'entries', index: 0, width: 256 });
  for (const bad of ['tile/0/1234', 'tile/0/x000/001', 'tile/0/001.p/256', 'tile/0/001.p/0', 'tile/0/001.p/08', 'tile/64/000', 'tile/0/../000', 'tile/0/x1/000', 'tile/entries/000/']) {
    assert.throws(() => parseTilePath(bad), { code: 'BAD_TILE_PATH' }, bad);
  }
});

test('entry bundles round-trip; truncated, padded or miscounted bundles are refused', () => {
  const entries = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(70_000 - 4465, 7)];
  const b = encodeBundle(entries);
  assert.deepEqual(decodeBundle(b, 3).map((e) => Buffer.from(e)), entries);
  assert.throws(() => decodeBundle(b.subarray(0, b.length - 1), 3), { code: 'BAD_TILE' });
  assert.throws(() => decodeBundle(Buffer.concat([b, Buffer.from([0])]), 3), { code: 'BAD_TILE' });
  assert.throws(() => decodeBundle(b, 2), { code: 'BAD_TILE' });
  assert.throws(() => encodeBundle([Buffer.alloc(0x10000)]), { code: 'LEAF_TOO_LARGE' });
  // A server may send the full bundle for a partial request: the first W entries are used.
  const full = encodeBundle(Array.from({ length: 256 }, (_, i) => Buffer.from(String(i))));
  assert.equal(Buffer.from(decodeBundle(full, 5)[4]!).toString(), '4');
  assert.throws(() => decodeHashTile(Buffer.alloc(33), 1), { code: 'BAD_TILE' });
});

test('widths and the bundles between two sizes', () => {
  assert.equal(tileWidth(0, 0, 300), 256);
  assert.equal(tileWidth(0, 1, 300), 44);
  assert.equal(tileWidth(1, 0, 300), 1);
  assert.equal(tileWidth(1, 0, 255), 0);
  assert.deepEqual(bundlesBetween(300, 600).map((r) => [r.index, r.width]), [[1, 256], [2, 88]]);
  assert.deepEqual(bundlesBetween(512, 512), []);
  assert.deepEqual(bundlesBetween(16, 16), [], 'nothing new: nothing to fetch');
  assert.deepEqual(tilesFor(70_000).filter((r) => r.level === 1).map((r) => r.width), [256, 17]);
  assert.deepEqual(tilesFor(70_000).filter((r) => r.level === 2).map((r) => r.width), [1]);
});

test('the tree edge gives the same roots as the stored-node log, across restores', async () => {
  const log = new MerkleLog(new MemoryHashStore());
  let edge = TreeEdge.empty();
  for (const step of [1, 2, 5, 120, 256, 1, 700]) {
    const datas = Array.from({ length: step }, (_, i) => Buffer.from(`leaf ${edge.size + i}`));
    await log.appendLeaves(datas);
    for (const d of datas) edge.appendLeaf(d);
    assert.deepEqual(Buffer.from(edge.root()), Buffer.from(await log.root()), `size ${edge.size}`);
    edge = TreeEdge.restore(edge.size, edge.hashes());
  }
  assert.throws(() => TreeEdge.restore(5, []), { code: 'BAD_TILE' });
});

test('followLog extends an edge from bundles, and refuses a log whose entries differ from the signed root', async () => {
  const datas = Array.from({ length: 600 }, (_, i) => Buffer.from(`entry ${i}`));
  const log = new MerkleLog(new MemoryHashStore());
  await log.appendLeaves(datas);
  const bundle = (i: number, w: number) => encodeBundle(datas.slice(i * 256, i * 256 + w));
  const start = TreeEdge.empty();
  for (const d of datas.slice(0, 300)) start.appendLeaf(d);
  const seen: number[] = [];
  const edge = await followLog({ edge: start, to: { origin: 'o', size: 600, root: await log.root(), extensions: [] }, fetchBundle: async (t) => bundle(t.index, t.width), onEntries: (first, e) => void seen.push(first, e.length) });
  assert.deepEqual(seen, [300, 212, 512, 88]);
  assert.equal(edge.size, 600);
  assert.equal(start.size, 300, 'the caller’s edge is left alone');
  // One entry changed on the server: the recomputed root cannot match.
  const tampered = async (t: { index: number; width: number }) => (t.index === 2 ? encodeBundle([...datas.slice(512, 599), Buffer.from('forged')]) : bundle(t.index, t.width));
  await assert.rejects(followLog({ edge: start, to: { origin: 'o', size: 600, root: await log.root(), extensions: [] }, fetchBundle: tampered }), { code: 'ROOT_MISMATCH' });
  assert.deepEqual(Buffer.from(leafHash(datas[0]!)).length, 32);
});
