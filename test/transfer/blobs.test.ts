import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import Fastify from 'fastify';
import { BlobStore } from '../../src/transfer/blob-store.js';
import { registerBlobRoutes } from '../../src/node/blob-server.js';
import { WholeArchiveFetcher } from '../../src/transfer/fetch-blob.js';
import { tempDir } from '../helpers/env.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('blob store: content-addressed, verified, never a partial blob under a final name', async (t) => {
  const dir = await tempDir(t);
  const store = await BlobStore.open(dir);
  const data = randomBytes(300_000);
  const r = await store.put(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), { expectedSha256: sha(data), expectedSize: data.length });
  assert.deepEqual(r, { sha256: sha(data), size: data.length });
  assert.equal(await store.size(sha(data)), data.length);
  assert.ok(store.path(sha(data)).endsWith(`blobs/sha256/${sha(data).slice(0, 2)}/${sha(data)}`));
  const other = randomBytes(1000);
  await assert.rejects(store.put(Readable.from([other]), { expectedSha256: sha(data) }), { code: 'BLOB_DIGEST_MISMATCH' });
  await assert.rejects(store.put(Readable.from([other]), { expectedSize: 999 }), { code: 'BLOB_TOO_LARGE' });
  await assert.rejects(store.put(Readable.from([other]), { expectedSize: 1001 }), { code: 'BLOB_SIZE_MISMATCH' });
  assert.equal(await store.has(sha(other)), false);
  assert.deepEqual(readdirSync(join(dir, 'blobs', 'tmp')), [], 'failed puts leave no temp files');
  assert.throws(() => store.path('../../etc/passwd'), { code: 'BAD_DIGEST' });
  const listed = [];
  for await (const b of store.list()) listed.push(b.sha256);
  assert.deepEqual(listed, [sha(data)]);
});

test('blob server: GET, HEAD, ranges, 416, 404, 400 over real HTTP', async (t) => {
  const dir = await tempDir(t);
  const store = await BlobStore.open(dir);
  const data = randomBytes(5000);
  const h = (await store.put(Readable.from([data]))).sha256;
  const app = Fastify();
  registerBlobRoutes(app, store);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetch(url + path, { headers, method });
  for (const path of [`/blobs/sha256/${h}`, `/blobs/sha256/${h.slice(0, 2)}/${h}`]) {
    const full = await get(path);
    assert.equal(full.status, 200);
    assert.deepEqual(Buffer.from(await full.arrayBuffer()), data);
  }
  const head = await get(`/blobs/sha256/${h}`, {}, 'HEAD');
  assert.equal(head.headers.get('content-length'), '5000');
  const part = await get(`/blobs/sha256/${h}`, { range: 'bytes=10-19' });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), 'bytes 10-19/5000');
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), data.subarray(10, 20));
  assert.deepEqual(Buffer.from(await (await get(`/blobs/sha256/${h}`, { range: 'bytes=-5' })).arrayBuffer()), data.subarray(4995));
  assert.deepEqual(Buffer.from(await (await get(`/blobs/sha256/${h}`, { range: 'bytes=4990-' })).arrayBuffer()), data.subarray(4990));
  assert.equal((await get(`/blobs/sha256/${h}`, { range: 'bytes=6000-' })).status, 416);
  assert.equal((await get(`/blobs/sha256/${'0'.repeat(64)}`)).status, 404);
  assert.equal((await get('/blobs/sha256/nothex')).status, 400);
});

test('fetcher: a holder serving wrong bytes is skipped and reported; all bad → BLOB_UNAVAILABLE', async (t) => {
  const dir = await tempDir(t);
  const source = await BlobStore.open(join(dir, 'source'));
  const data = randomBytes(200_000);
  const h = (await source.put(Readable.from([data]))).sha256;
  const good = Fastify();
  registerBlobRoutes(good, source);
  const goodUrl = await good.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => good.close());
  // A liar: right length, one flipped byte.
  const corrupt = Buffer.from(data);
  corrupt[1234]! ^= 0xff;
  const liar = createServer((_req, res) => res.end(corrupt));
  await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
  t.after(() => liar.close());
  const liarUrl = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;

  const dest = await BlobStore.open(join(dir, 'dest'));
  const fetcher = new WholeArchiveFetcher(dest);
  const r = await fetcher.fetch(h, data.length, [{ url: liarUrl, peer: 'liar' }, { url: goodUrl, peer: 'good' }]);
  assert.equal(r.from.peer, 'good');
  assert.deepEqual(r.badHolders.map((b) => b.holder.peer), ['liar']);
  assert.match(r.badHolders[0]!.reason, /hashes to/);
  assert.equal(await dest.verify(h), true);
  const dest2 = await BlobStore.open(join(dir, 'dest2'));
  await assert.rejects(new WholeArchiveFetcher(dest2).fetch(h, data.length, [{ url: liarUrl, peer: 'liar' }, { url: 'http://127.0.0.1:1', peer: 'down' }]), { code: 'BLOB_UNAVAILABLE' });
  assert.equal(await dest2.has(h), false);
});
