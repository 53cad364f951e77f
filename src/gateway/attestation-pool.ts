/**
 * Opens attestation leaves on worker threads and, with `callerShares`, on
 * the calling thread between its other work. Everything per statement that
 * is not reading rows or evaluating trust (leaf JSON, envelope and statement
 * schema, buildKey/configKey, PAE, the Ed25519 check) runs here, so on a
 * first evaluation of many statements every core does the same work a raw
 * signature check would, plus a little. Work goes out in small chunks taken
 * from one queue: a busy calling thread simply takes fewer.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { LeafChunk, LeafReply } from './leaf-worker.js';
import { openLeaf, type LeafVerdict } from './open-leaf.js';

export interface LeafJob {
  leaf: Uint8Array;
  /** false for a leaf whose signature was verified before: everything else is still checked. */
  verify: boolean;
}

/** Below this many leaves a batch is opened on the calling thread. */
const INLINE_BELOW = 8;
/** Leaves per chunk (a few ms of work): big enough that posting costs little, small enough to balance. */
const CHUNK = 64;
/**
 * Chunks in flight per worker: enough (tens of ms) that a worker does not
 * run dry while the calling thread reads rows or evaluates, few enough that
 * the calling thread is not left waiting at the end.
 */
const IN_FLIGHT = 8;

interface Chunk {
  jobs: readonly LeafJob[];
  resolve: (v: LeafVerdict[]) => void;
  reject: (e: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  busy: Map<number, Chunk>;
}

export class AttestationPool {
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Chunk[] = [];
  private readonly size: number;
  private readonly callerShares: boolean;
  private nextId = 0;
  private inlineScheduled = false;
  private failures = 0;

  /** `size` workers (default: one per core but the caller's); `callerShares` (default on): the calling thread takes chunks too. */
  constructor(opts: { size?: number; callerShares?: boolean } = {}) {
    this.size = opts.size ?? Math.max(1, availableParallelism() - 1);
    this.callerShares = opts.callerShares ?? true;
  }

  /** One verdict per leaf, in order. */
  open(jobs: readonly LeafJob[]): Promise<LeafVerdict[]> {
    if (jobs.length < INLINE_BELOW) {
      try {
        return Promise.resolve(jobs.map((j) => openLeaf(j.leaf, j.verify)));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    const parts: Promise<LeafVerdict[]>[] = [];
    for (let at = 0; at < jobs.length; at += CHUNK) {
      parts.push(new Promise((resolve, reject) => this.queue.push({ jobs: jobs.slice(at, at + CHUNK), resolve, reject })));
    }
    this.pump();
    return Promise.all(parts).then((p) => p.flat());
  }

  private pump(): void {
    // A worker that dies is replaced, but not forever: after three, what is left goes inline or fails.
    while (this.workers.length < this.size && this.failures < 3 && this.queue.length > this.workers.length * IN_FLIGHT) this.spawn();
    for (const pw of this.workers) {
      while (pw.busy.size < IN_FLIGHT && this.queue.length > 0) this.post(pw, this.queue.shift()!);
    }
    if (this.callerShares && this.queue.length > 0 && !this.inlineScheduled) {
      this.inlineScheduled = true;
      // A macrotask, so worker replies (which refill the workers) are handled between inline chunks.
      setImmediate(() => this.inline());
    }
  }

  private inline(): void {
    this.inlineScheduled = false;
    const c = this.queue.shift();
    if (!c) return;
    try {
      c.resolve(c.jobs.map((j) => openLeaf(j.leaf, j.verify)));
    } catch (e) {
      c.reject(e as Error);
    }
    this.pump();
  }

  private spawn(): void {
    const worker = new Worker(new URL('./leaf-worker.js', import.meta.url));
    const pw: PoolWorker = { worker, busy: new Map() };
    worker.on('message', (m: LeafReply) => {
      const c = pw.busy.get(m.id);
      pw.busy.delete(m.id);
      if (pw.busy.size === 0) worker.unref();
      if (c) {
        if (m.verdicts) c.resolve(m.verdicts);
        else c.reject(new Error(`attestation worker failed: ${m.failure}`));
      }
      this.pump();
    });
    worker.on('error', (e) => {
      this.workers.splice(this.workers.indexOf(pw), 1);
      for (const c of pw.busy.values()) c.reject(e);
      pw.busy.clear();
      this.failures += 1;
      if (this.workers.length === 0 && this.failures >= 3 && !this.callerShares) for (const c of this.queue.splice(0)) c.reject(e);
      this.pump();
    });
    // An idle pool never keeps the process alive; a busy one does.
    worker.unref();
    this.workers.push(pw);
  }

  private post(pw: PoolWorker, c: Chunk): void {
    const lengths = new Uint32Array(c.jobs.length);
    const verify = new Uint8Array(c.jobs.length);
    let total = 0;
    c.jobs.forEach((j, i) => {
      lengths[i] = j.leaf.length;
      verify[i] = j.verify ? 1 : 0;
      total += j.leaf.length;
    });
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const j of c.jobs) {
      bytes.set(j.leaf, at);
      at += j.leaf.length;
    }
    const id = this.nextId++;
    pw.busy.set(id, c);
    pw.worker.ref();
    pw.worker.postMessage({ id, bytes: bytes.buffer, lengths, verify } satisfies LeafChunk, [bytes.buffer]);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((pw) => pw.worker.terminate()));
    this.workers.length = 0;
  }
}
