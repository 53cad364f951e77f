/**
 * Hashing off the main thread. Reading a gpkg hashes the compressed side
 * three times (archive sha256, the Manifest's BLAKE2B and SHA512 of each
 * member) while a zstd child decompresses and the main thread parses and
 * hashes the image (tar-strict.ts). Each algorithm gets its own worker, so
 * the three run in parallel with each other and with the image side instead
 * of in series (profiled before: one worker hashing all three, fed by a copy
 * of every chunk, was the slowest stage and throttled the whole read).
 *
 * Chunks are shared, not copied: the reader reads the archive into
 * SharedArrayBuffers (shared-read.ts), and a view of one is posted to every
 * worker that needs it as (buffer, offset, length) — no copy, no transfer,
 * and the main thread keeps using the same bytes for tar parsing and for the
 * decompressor's stdin. Anything else (rare: a member chunk that tar-stream
 * had to concatenate) is copied once into a SharedArrayBuffer.
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
    const u = new Uint8Array(m.buf, m.off, m.len);
    for (const [, h] of streams.get(m.id)) h.update(u);
    hashed += m.len;
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

  update(id: number, view: Uint8Array): void {
    this.posted += view.byteLength;
    const ack = this.posted - this.lastAsk >= ACK_EVERY;
    if (ack) this.lastAsk = this.posted;
    this.worker.postMessage({ op: 'update', id, buf: view.buffer, off: view.byteOffset, len: view.byteLength, ack });
  }

  room(): Promise<void> | undefined {
    if (this.failure || this.posted - this.acked <= HIGH_WATER) return undefined;
    // Make sure an acknowledgement is coming for what is queued.
    if (this.lastAsk < this.posted) {
      this.lastAsk = this.posted;
      this.worker.postMessage({ op: 'update', id: -1, buf: new SharedArrayBuffer(0), off: 0, len: 0, ack: true });
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/**
 * Workers serving any number of hash streams, each algorithm of a stream on
 * the next worker in turn; `close()` when done.
 */
export class HashThreads {
  private readonly workers: HashWorker[];
  private nextId = 0;
  private cursor = 0;

  constructor(count = 3) {
    this.workers = Array.from({ length: count }, () => new HashWorker());
    // The no-op stream every worker knows, used to ask for an acknowledgement.
    for (const w of this.workers) w.worker.postMessage({ op: 'open', id: -1, algs: [] });
  }

  stream(algorithms: string[]): MultiHash {
    const parts = algorithms.map((alg) => {
      const w = this.workers[this.cursor++ % this.workers.length]!;
      const id = this.nextId++;
      w.worker.postMessage({ op: 'open', id, algs: [alg] });
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
