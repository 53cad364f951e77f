/**
 * Hashing off the main thread. Reading a gpkg hashes the compressed side
 * three times (archive sha256, the Manifest's BLAKE2B and SHA512 of each
 * member) while a zstd child decompresses and the main thread parses and
 * hashes the image (tar-strict.ts).
 *
 * One worker by default, not one per algorithm: on two cores the zstd child
 * and the main thread already keep both busy, so what bounds the read is
 * total CPU, and each extra worker costs ~50 ms of CPU to start plus a
 * message per chunk (profiled: three workers spent 0.15 s starting and
 * idled most of the read; the same hashing on one worker finished with the
 * image). Tests may ask for more to check that parallel streams agree.
 *
 * Chunks are shared, not copied: the reader reads the archive into
 * SharedArrayBuffers (shared-read.ts), and views of one are posted to the
 * worker as (buffer, offset, length) — no copy, no transfer, and the main
 * thread keeps using the same bytes for tar parsing and for the
 * decompressor's stdin. Updates are batched: the reader calls `flush()`
 * once per chunk read, so the archive hash and a member's hashes of the
 * same chunk cost one message. Anything else (rare: a view of an ordinary
 * Buffer) is copied once into a SharedArrayBuffer.
 *
 * Workers acknowledge what they have hashed; `room()` lets the reader wait
 * while more than HIGH_WATER bytes are queued, so a slow worker bounds
 * memory instead of letting chunks pile up.
 */
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

// CommonJS source for an eval worker: no separate file, so it runs the same
// from src/ under tsx and from dist/.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const streams = new Map();
let hashed = 0;
parentPort.on('message', (m) => {
  if (m.op === 'open') streams.set(m.id, m.algs.map((a) => [a, createHash(a)]));
  else if (m.op === 'update') {
    for (const [id, buf, off, len] of m.updates) {
      const u = new Uint8Array(buf, off, len);
      for (const [, h] of streams.get(id)) h.update(u);
      hashed += len;
    }
    if (m.ack) parentPort.postMessage({ ack: hashed });
  } else if (m.op === 'digest') {
    const s = streams.get(m.id);
    streams.delete(m.id);
    parentPort.postMessage({ id: m.id, digests: Object.fromEntries(s.map(([a, h]) => [a, h.digest('hex')])) });
  }
});
`;

/** What both hashers offer: feed chunks, then get hex digests keyed by algorithm. */
export interface MultiHash {
  size: number;
  update(chunk: Uint8Array): void;
  digest(): Promise<Record<string, string>>;
}

/** The same hashes on the calling thread (small inputs: a worker costs ~20 ms to start). */
export function inlineHash(algorithms: string[]): MultiHash {
  const hashes: [string, Hash][] = algorithms.map((a) => [a, createHash(a)]);
  return {
    size: 0,
    update(chunk) {
      this.size += chunk.length;
      for (const [, h] of hashes) h.update(chunk);
    },
    async digest() {
      return Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')]));
    },
  };
}

/** Queued-but-unhashed bytes per worker above which `room()` makes the reader wait. */
const HIGH_WATER = 32 << 20;
/** Ask for an acknowledgement every this many bytes. */
const ACK_EVERY = 4 << 20;
/** Post queued updates once they reach this many bytes, even before `flush()`. */
const FLUSH_BYTES = 4 << 20;

/** A view of `chunk` that workers can share: itself when already shared, else one copy. */
function shareable(chunk: Uint8Array): Uint8Array {
  if (chunk.buffer instanceof SharedArrayBuffer) return chunk;
  const copy = new Uint8Array(new SharedArrayBuffer(chunk.byteLength));
  copy.set(chunk);
  return copy;
}

class HashWorker {
  readonly worker = new Worker(WORKER_SOURCE, { eval: true });
  posted = 0;
  private acked = 0;
  private lastAsk = 0;
  private waiters: (() => void)[] = [];
  readonly pending = new Map<number, (d: Record<string, string>) => void>();
  failure: Error | undefined;

  constructor() {
    this.worker.on('message', (m: { ack?: number; id?: number; digests?: Record<string, string> }) => {
      if (m.ack !== undefined) {
        this.acked = m.ack;
        if (this.posted - this.acked <= HIGH_WATER / 2) this.wake();
      } else {
        this.pending.get(m.id!)?.(m.digests!);
        this.pending.delete(m.id!);
      }
    });
    this.worker.on('error', (e) => {
      this.failure = e;
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private queue: [number, ArrayBufferLike, number, number][] = [];
  private queued = 0;

  update(id: number, view: Uint8Array): void {
    this.queue.push([id, view.buffer, view.byteOffset, view.byteLength]);
    this.queued += view.byteLength;
    if (this.queued >= FLUSH_BYTES) this.flush();
  }

  /** Post what is queued as one message. */
  flush(): void {
    if (this.queue.length === 0) return;
    this.posted += this.queued;
    const ack = this.posted - this.lastAsk >= ACK_EVERY;
    if (ack) this.lastAsk = this.posted;
    this.worker.postMessage({ op: 'update', updates: this.queue, ack });
    this.queue = [];
    this.queued = 0;
  }

  room(): Promise<void> | undefined {
    this.flush();
    if (this.failure || this.posted - this.acked <= HIGH_WATER) return undefined;
    // Make sure an acknowledgement is coming for what is queued.
    if (this.lastAsk < this.posted) {
      this.lastAsk = this.posted;
      this.worker.postMessage({ op: 'update', updates: [], ack: true });
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/**
 * Workers serving any number of hash streams, the algorithms of a stream
 * spread over the workers in turn (all on one with the default single
 * worker); `close()` when done.
 */
export class HashThreads {
  private readonly workers: HashWorker[];
  private nextId = 0;
  private cursor = 0;

  constructor(count = 1) {
    this.workers = Array.from({ length: count }, () => new HashWorker());
  }

  /** Post every queued update (the reader calls this once per chunk). */
  flush(): void {
    for (const w of this.workers) w.flush();
  }

  stream(algorithms: string[]): MultiHash {
    const byWorker = new Map<HashWorker, string[]>();
    for (const alg of algorithms) {
      const w = this.workers[this.cursor++ % this.workers.length]!;
      byWorker.set(w, [...(byWorker.get(w) ?? []), alg]);
    }
    const parts = [...byWorker].map(([w, algs]) => {
      const id = this.nextId++;
      w.worker.postMessage({ op: 'open', id, algs });
      return { w, id };
    });
    return {
      size: 0,
      update(chunk) {
        if (chunk.byteLength === 0) return;
        this.size += chunk.byteLength;
        const view = shareable(chunk);
        for (const { w, id } of parts) w.update(id, view);
      },
      async digest() {
        const results = await Promise.all(
          parts.map(
            ({ w, id }) =>
              new Promise<Record<string, string>>((resolve, reject) => {
                if (w.failure) return reject(w.failure);
                w.pending.set(id, resolve);
                w.worker.once('error', reject);
                w.flush();
                w.worker.postMessage({ op: 'digest', id });
              }),
          ),
        );
        return Object.assign({}, ...results) as Record<string, string>;
      },
    };
  }

  /** Resolves when every worker has room again (undefined: no need to wait). */
  room(): Promise<void> | undefined {
    const waits = this.workers.map((w) => w.room()).filter((p) => p !== undefined);
    return waits.length === 0 ? undefined : Promise.all(waits).then(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
