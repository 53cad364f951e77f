/**
 * Piece verification off the main thread: one worker checks each piece
 * against its hash, a second feeds the whole-archive sha256 in order (pieces that
 * arrive early wait in memory, a bounded number; beyond that they are read
 * back from disk when their turn comes, after the caller says they are
 * written). Piece buffers live in shared memory, so the worker hashes while
 * the main thread's write of the same bytes is in flight and the main
 * thread stays free for HTTP: verification overlaps with transfer.
 */
import { Worker } from 'node:worker_threads';
import { BinswarmError } from '../errors.js';
import { diskFull } from './partial-file.js';

// CommonJS source for an eval worker: runs the same from src/ (tsx) and dist/.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const PIECE = 1 << 20;
let s;
function advance() {
  while (s.next < s.n && s.have[s.next]) {
    let buf = s.ahead.get(s.next);
    s.ahead.delete(s.next);
    if (!buf) {
      const a = s.next * PIECE, b = Math.min(s.size, a + PIECE);
      buf = Buffer.allocUnsafe(b - a);
      fs.readSync(s.fd, buf, 0, buf.length, a);
    }
    s.whole.update(buf);
    s.next++;
  }
}
parentPort.on('message', (m) => {
  try {
    if (m.op === 'open') {
      s = { fd: m.whole ? fs.openSync(m.path, 'r') : -1, size: m.size, n: m.n, hashes: Buffer.from(m.hashes), have: Uint8Array.from(m.have), next: 0, ahead: new Map(), whole: createHash('sha256') };
      parentPort.postMessage({ op: 'opened' });
    } else if (m.op === 'verify') {
      const buf = Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.length);
      const ok = createHash('sha256').update(buf).digest().equals(s.hashes.subarray(m.i * 32, m.i * 32 + 32));
      parentPort.postMessage({ op: 'verify', i: m.i, ok });
    } else if (m.op === 'written') {
      // Kept for the whole-file hash if it is near its turn; otherwise read back from disk then.
      if (m.buf && m.i >= s.next && (m.i === s.next || s.ahead.size < 64)) s.ahead.set(m.i, Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.length));
      s.have[m.i] = 1;
      advance();
    } else if (m.op === 'finish') {
      advance();
      fs.closeSync(s.fd);
      parentPort.postMessage({ op: 'finish', digest: s.next === s.n ? s.whole.digest('hex') : null });
    }
  } catch (e) {
    parentPort.postMessage({ op: m.op === 'written' ? 'finish' : m.op, i: m.i, error: { code: e.code, message: e.message } });
  }
});
`;

interface Reply {
  op: string;
  i?: number;
  ok?: boolean;
  digest?: string | null;
  error?: { code?: string; message: string };
}

export class PieceSink {
  /** Checks pieces. */
  private readonly worker: Worker;
  /** Hashes the whole file in order (in parallel with the checks). */
  private readonly wholeWorker: Worker;
  private readonly waiting = new Map<string, { resolve: (r: Reply) => void }[]>();

  private constructor(private readonly path: string) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.wholeWorker = new Worker(WORKER_SOURCE, { eval: true });
    const onReply = (r: Reply) => {
      const key = r.op === 'verify' ? `piece:${r.i}` : r.op;
      const q = this.waiting.get(key);
      q?.shift()?.resolve(r);
      if (q && q.length === 0) this.waiting.delete(key);
    };
    this.worker.on('message', onReply);
    this.wholeWorker.on('message', onReply);
  }

  private ask(key: string, msg: object, to: Worker = this.worker): Promise<Reply> {
    return new Promise((resolve) => {
      (this.waiting.get(key) ?? this.waiting.set(key, []).get(key)!).push({ resolve });
      to.postMessage(msg);
    });
  }

  private check(r: Reply): Reply {
    if (!r.error) return r;
    if (r.error.code === 'ENOSPC') throw diskFull(this.path);
    throw new BinswarmError('DOWNLOAD_IO', `cannot write ${this.path}: ${r.error.message}`);
  }

  /** `have`: pieces already on disk and verified (resume). */
  static async open(path: string, size: number, hashes: Buffer[], have: (i: number) => boolean): Promise<PieceSink> {
    const sink = new PieceSink(path);
    const n = hashes.length;
    const msg = { op: 'open', path, size, n, hashes: Buffer.concat(hashes), have: Uint8Array.from({ length: n }, (_, i) => (have(i) ? 1 : 0)) };
    sink.check(await sink.ask('opened', msg));
    sink.check(await sink.ask('opened', { ...msg, whole: true }, sink.wholeWorker));
    return sink;
  }

  /** A buffer for piece bytes in shared memory (the worker reads it without a copy). */
  static alloc(len: number): Buffer {
    return Buffer.from(new SharedArrayBuffer(Math.max(1, len)), 0, len);
  }

  /** Is piece i (in a buffer from alloc()) what its hash says? */
  async verify(i: number, buf: Buffer): Promise<boolean> {
    return this.check(await this.ask(`piece:${i}`, { op: 'verify', i, buf: new Uint8Array(buf.buffer, buf.byteOffset, buf.length) })).ok === true;
  }

  /** Piece i (bytes in `buf`, from alloc()) is verified and on disk: the whole-file hash may use it. */
  written(i: number, buf?: Buffer): void {
    this.wholeWorker.postMessage({ op: 'written', i, ...(buf ? { buf: new Uint8Array(buf.buffer, buf.byteOffset, buf.length) } : {}) });
  }

  /** The sha256 of the whole file (null if a piece is missing). */
  async finish(): Promise<string | null> {
    const r = this.check(await this.ask('finish', { op: 'finish' }, this.wholeWorker));
    return r.digest ?? null;
  }

  async close(): Promise<void> {
    await Promise.all([this.worker.terminate(), this.wholeWorker.terminate()]);
  }
}
