/** Rate limits with an injected clock (no sleeping), and the upload caps of the blob server. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import Fastify from 'fastify';
import { registerBlobRoutes } from '../../src/node/blob-server.js';
import { Bitfield } from '../../src/transfer/bitfield.js';
import { BlobStore } from '../../src/transfer/blob-store.js';
import { throttle, TokenBucket, type Clock } from '../../src/transfer/token-bucket.js';
import { tempDir } from '../helpers/env.js';

/** A clock that only moves when someone sleeps on it: time spent is exactly what the bucket asked for. */
function fakeClock(): Clock & { t: number } {
  const c = {
    t: 0,
    now: () => c.t,
    sleep: async (ms: number) => {
      c.t += ms;
    },
  };
  return c;
}

test('token bucket: bytes over time match the rate after the burst; big takes are paid in debt', async () => {
  const clock = fakeClock();
  const b = new TokenBucket(1000, 100, clock);
  await b.take(100); // the burst: free
  assert.equal(clock.t, 0);
  for (let i = 0; i < 10; i++) await b.take(100);
  assert.equal(Math.round(clock.t), 1000, '1000 more bytes at 1000 B/s take 1 s');
  await b.take(500); // more than the burst: waits for one burst, then owes the rest
  await b.take(100);
  assert.ok(Math.abs(clock.t - 1000 - 600) < 1, `${clock.t}`);
  assert.throws(() => new TokenBucket(0), RangeError);
});

test('throttle: a stream paced through a shared bucket keeps its bytes and order', async () => {
  const clock = fakeClock();
  const bucket = new TokenBucket(1 << 20, 64 * 1024, clock);
  const data = randomBytes(1 << 20);
  const out: Buffer[] = [];
  for await (const c of throttle(Readable.from([data.subarray(0, 300_000), data.subarray(300_000)]), bucket)) out.push(Buffer.from(c));
  assert.ok(Buffer.concat(out).equals(data));
  assert.ok(out.every((c) => c.length <= 64 * 1024), 'sliced to the burst');
  assert.ok(Math.abs(clock.t - (1000 * ((1 << 20) - 64 * 1024)) / (1 << 20)) < 2, `${clock.t} ms`);
});

test('blob server: concurrent-upload cap answers 503 + Retry-After; partial downloads serve only verified pieces', async (t) => {
  const dir = await tempDir(t);
  const store = await BlobStore.open(dir);
  const data = randomBytes(256 * 1024);
  const { sha256 } = await store.put(Readable.from([data]));
  const app = Fastify({ logger: false, forceCloseConnections: true });
  // A slow bucket keeps the first response open while the second arrives.
  const stats = registerBlobRoutes(app, store, { maxConcurrent: 1, bucket: new TokenBucket(64 * 1024, 16 * 1024) });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const blobUrl = `${url}/${BlobStore.relPath(sha256)}`;
  const ctrl = new AbortController();
  const first = await fetch(blobUrl, { signal: ctrl.signal });
  assert.equal(first.status, 200);
  const second = await fetch(blobUrl);
  assert.equal(second.status, 503);
  assert.equal(second.headers.get('retry-after'), '2');
  ctrl.abort();
  await first.body?.cancel().catch(() => undefined);
  assert.ok(stats.requests >= 1);

  // A download in progress: its verified pieces are served by range, the rest is 404; .have says which.
  const other = randomBytes(3 << 20);
  const hex = 'ab'.repeat(32);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(store.partialPath(hex), other);
  const have = new Bitfield(3);
  have.set(1);
  store.partials.set(hex, { path: store.partialPath(hex), size: other.length, have, pieces: [] });
  await new Promise((r) => setTimeout(r, 50));
  const base = `${url}/${BlobStore.relPath(hex)}`;
  const bits = Buffer.from(await (await fetch(`${base}.have`)).arrayBuffer());
  assert.deepEqual([...bits], [0b01000000]);
  const ok = await fetch(base, { headers: { range: `bytes=${1 << 20}-${(1 << 20) + 9999}` } });
  assert.equal(ok.status, 206);
  assert.ok(Buffer.from(await ok.arrayBuffer()).equals(other.subarray(1 << 20, (1 << 20) + 10000)));
  assert.equal((await fetch(base, { headers: { range: 'bytes=0-10' } })).status, 404, 'an unverified piece is not served');
  assert.equal((await fetch(base)).status, 404, 'a partial blob is never served whole');
  assert.equal((await fetch(`${url}/blobs/sha256/zz/${'ab'.repeat(32)}.have`)).status, 400);
});
