/**
 * Ed25519 verification on worker threads, for batches: a coordinator taking
 * a contributor's whole PKGDIR in one request, a gateway checking an index.
 * node:crypto verifies on the calling thread, one signature at a time; a
 * pool lets the other cores verify while the main thread parses, stores and
 * serves. Small batches stay inline (posting to a worker costs more than a
 * few verifies).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { verifyBytes, type PublicKey } from './keys.js';

export interface VerifyJob {
  key: PublicKey;
  message: Uint8Array;
  signature: Uint8Array;
}

/** Below this many jobs a batch is verified on the calling thread. */
const INLINE_BELOW = 8;

// CommonJS source for an eval worker: no separate file, so it runs the same
// from src/ under tsx and from dist/. Messages: n keys (32 bytes each), n
// signatures (64 bytes each), n message lengths and the messages back to back.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const keys = new Map();
function keyOf(raw) {
  const id = raw.toString('base64');
  let k = keys.get(id);
  if (!k) {
    if (keys.size > 10000) keys.clear();
    keys.set(id, (k = createPublicKey({ key: Buffer.concat([SPKI, raw]), format: 'der', type: 'spki' })));
  }
  return k;
}
parentPort.on('message', ({ id, keys: kb, sigs: sb, lengths, messages: mb }) => {
  const k = Buffer.from(kb), s = Buffer.from(sb), m = Buffer.from(mb);
  const ok = new Uint8Array(lengths.length);
  let at = 0;
  for (let i = 0; i < lengths.length; i++) {
    const msg = m.subarray(at, at + lengths[i]);
    at += lengths[i];
    try { ok[i] = verify(null, msg, keyOf(k.subarray(i * 32, i * 32 + 32)), s.subarray(i * 64, i * 64 + 64)) ? 1 : 0; } catch { ok[i] = 0; }
  }
  parentPort.postMessage({ id, ok }, [ok.buffer]);
});
`;

interface Pending {
  worker: Worker;
  resolve: (ok: Uint8Array) => void;
  reject: (e: Error) => void;
}

export class VerifyPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private turn = 0;

  private readonly size: number;
  private readonly callerShares: boolean;

  /**
   * `size` workers (default: one per core but the caller's). With
   * `callerShares` (default) the calling thread verifies a share of each
   * batch too; a server whose main thread has other requests to serve turns
   * it off so that work overlaps instead.
   */
  constructor(opts: { size?: number; callerShares?: boolean } = {}) {
    this.size = opts.size ?? Math.max(1, availableParallelism() - 1);
    this.callerShares = opts.callerShares ?? true;
  }

  private worker(): Worker {
    if (this.workers.length < this.size) {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.on('message', (m: { id: number; ok: Uint8Array }) => {
        this.pending.get(m.id)?.resolve(m.ok);
        this.pending.delete(m.id);
        this.idle(w);
      });
      w.on('error', (e) => {
        for (const [id, p] of this.pending) if (p.worker === w) (this.pending.delete(id), p.reject(e));
        this.workers.splice(this.workers.indexOf(w), 1);
      });
      // An idle pool never keeps the process alive; a busy one does.
      w.unref();
      this.workers.push(w);
      return w;
    }
    return this.workers[this.turn++ % this.workers.length]!;
  }

  private idle(w: Worker): void {
    for (const p of this.pending.values()) if (p.worker === w) return;
    w.unref();
  }

  /** One boolean per job, in order. A signature that is not 64 bytes is simply `false`. */
  async verify(jobs: readonly VerifyJob[]): Promise<boolean[]> {
    if (jobs.length < INLINE_BELOW) return jobs.map((j) => verifyBytes(j.key, j.message, j.signature));
    const out = jobs.map(() => false);
    const sendable = jobs.map((j, i) => ({ j, i })).filter(({ j }) => j.signature.length === 64);
    // The workers and this thread each take a share; this thread verifies its
    // share while the workers do theirs.
    const mine = this.callerShares ? 1 : 0;
    const shares = Math.max(1, Math.min(this.size + mine, Math.ceil(sendable.length / INLINE_BELOW)));
    const per = Math.ceil(sendable.length / shares);
    const sent = Array.from({ length: shares - mine }, async (_, p) => {
      const part = sendable.slice((p + mine) * per, (p + mine + 1) * per);
      const ok = await this.send(part.map((x) => x.j));
      part.forEach((x, k) => (out[x.i] = ok[k] === 1));
    });
    if (mine) for (const { j, i } of sendable.slice(0, per)) out[i] = verifyBytes(j.key, j.message, j.signature);
    await Promise.all(sent);
    return out;
  }

  private send(jobs: readonly VerifyJob[]): Promise<Uint8Array> {
    const keys = new Uint8Array(jobs.length * 32);
    const sigs = new Uint8Array(jobs.length * 64);
    const lengths = new Uint32Array(jobs.length);
    let total = 0;
    jobs.forEach((j, i) => {
      keys.set(j.key.raw, i * 32);
      sigs.set(j.signature, i * 64);
      lengths[i] = j.message.length;
      total += j.message.length;
    });
    const messages = new Uint8Array(total);
    let at = 0;
    for (const j of jobs) {
      messages.set(j.message, at);
      at += j.message.length;
    }
    const id = this.nextId++;
    const w = this.worker();
    w.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker: w, resolve, reject });
      w.postMessage({ id, keys: keys.buffer, sigs: sigs.buffer, lengths, messages: messages.buffer }, [keys.buffer, sigs.buffer, messages.buffer]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
