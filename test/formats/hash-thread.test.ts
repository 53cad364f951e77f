import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { HashThreads, inlineHash } from '../../src/formats/hash-thread.js';

test('hash workers agree with node:crypto: streams interleaved, batched per flush, shared and ordinary buffers', async () => {
  const algs = ['sha256', 'blake2b512', 'sha512'];
  const data = randomBytes(3 << 20);
  // Half the chunks in SharedArrayBuffers (posted as views), half ordinary Buffers (copied once).
  const chunks: Uint8Array[] = [];
  for (let o = 0, i = 0; o < data.length; o += 100_000 + i * 7_919, i++) {
    const part = data.subarray(o, o + 100_000 + i * 7_919);
    if (i % 2 === 0) chunks.push(part);
    else {
      const shared = new Uint8Array(new SharedArrayBuffer(part.length + 16), 8, part.length);
      shared.set(part);
      chunks.push(shared);
    }
  }
  const expected = Object.fromEntries(algs.map((a) => [a, createHash(a).update(data).digest('hex')]));
  for (const count of [1, 2]) {
    const threads = new HashThreads(count);
    try {
      const whole = threads.stream(algs);
      const odd = threads.stream(['sha256']);
      const inline = inlineHash(['sha256']);
      chunks.forEach((c, i) => {
        whole.update(c);
        if (i % 2 === 1) {
          odd.update(c);
          inline.update(c);
        }
        if (i % 3 === 0) threads.flush();
      });
      assert.deepEqual(await whole.digest(), expected, `${count} worker(s)`);
      assert.equal(whole.size, data.length);
      assert.deepEqual(await odd.digest(), await inline.digest(), `${count} worker(s), second stream`);
    } finally {
      await threads.close();
    }
  }
});
