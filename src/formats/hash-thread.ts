/**
 * Hashing off the main thread. Reading a gpkg hashes every byte up to four
 * times (archive sha256, the Manifest's BLAKE2B and SHA512 of the compressed
 * member, sha256 per image file) while a zstd child decompresses; doing the
 * compressed-side hashes in a worker lets them overlap with the image side
 * instead of queueing behind it on one core.
 *
 * Chunks are copied into a fresh ArrayBuffer and transferred: posting a
 * Buffer view would structured-clone its whole (possibly pooled) backing
 * store, and the caller keeps using its chunk for tar parsing.
 */
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

// CommonJS source for an eval worker: no separate file, so it runs the same
// from src/ under tsx and from dist/.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const streams = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'open') streams.set(m.id, m.algs.map((a) => [a, createHash(a)]));
  else if (m.op === 'update') { const u = new Uint8Array(m.chunk); for (const [, h] of streams.get(m.id)) h.update(u); }
  else if (m.op === 'digest') {
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

/** One worker serving any number of hash streams; `close()` when done. */
export class HashThread {
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true });
  private nextId = 0;
  private readonly pending = new Map<number, (d: Record<string, string>) => void>();
  private failure: Error | undefined;

  constructor() {
    this.worker.on('message', (m: { id: number; digests: Record<string, string> }) => {
      this.pending.get(m.id)?.(m.digests);
      this.pending.delete(m.id);
    });
    this.worker.on('error', (e) => (this.failure = e));
  }

  stream(algorithms: string[]): MultiHash {
    const id = this.nextId++;
    const worker = this.worker;
    worker.postMessage({ op: 'open', id, algs: algorithms });
    const self = this;
    return {
      size: 0,
      update(chunk) {
        this.size += chunk.length;
        const copy = chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength) as ArrayBuffer;
        worker.postMessage({ op: 'update', id, chunk: copy }, [copy]);
      },
      digest() {
        return new Promise((resolve, reject) => {
          if (self.failure) return reject(self.failure);
          self.pending.set(id, resolve);
          worker.once('error', reject);
          worker.postMessage({ op: 'digest', id });
        });
      },
    };
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}
