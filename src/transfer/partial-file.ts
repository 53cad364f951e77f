/**
 * A download's state on disk, so a killed process resumes where it was:
 * DATA (the archive's bytes at their offsets, sparse until written),
 * DATA.pieces (the verified piece hash list) and DATA.have (the bitmap of
 * pieces written and verified). On reopening, pieces the bitmap claims are
 * hashed again (a power cut can lose the data behind a bitmap write); only
 * those that still match count. Nothing here is ever visible under the
 * blob's final name: the caller installs DATA once the whole is verified.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rm, statfs, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BinswarmError } from '../errors.js';
import { Bitfield } from './bitfield.js';
import { decodePieceList, encodePieceList, pieceCount, pieceSpan } from './pieces.js';

export type PartialErrorCode = 'DISK_FULL' | 'DOWNLOAD_IO';

export function diskFull(what: string, cause?: unknown): BinswarmError<PartialErrorCode> {
  return new BinswarmError<PartialErrorCode>('DISK_FULL', `no space left on the device for ${what}; the partial download was removed`, { cause });
}

export class PartialFile {
  private haveWrite: Promise<unknown> = Promise.resolve();
  private haveFh: FileHandle | undefined;
  private flushQueued = false;

  private constructor(
    readonly path: string,
    readonly size: number,
    readonly pieces: Buffer[],
    readonly have: Bitfield,
    private readonly fh: FileHandle,
    /** Pieces found verified on disk when opened (a resumed download). */
    readonly resumed: number,
  ) {}

  /** Saved piece list of an earlier attempt, if it still matches the archive. */
  static async savedPieces(path: string, size: number, pieceRoot: string): Promise<Buffer[] | undefined> {
    const bytes = await readFile(`${path}.pieces`).catch(() => undefined);
    if (!bytes) return undefined;
    try {
      return decodePieceList(bytes, size, pieceRoot);
    } catch {
      return undefined;
    }
  }

  static async open(path: string, size: number, pieces: Buffer[]): Promise<PartialFile> {
    const n = pieceCount(size);
    try {
      await writeFile(`${path}.pieces`, encodePieceList(pieces));
      const saved = await readFile(`${path}.have`).catch(() => undefined);
      const claimed = saved && saved.length === Math.ceil(n / 8) ? new Bitfield(n, saved) : new Bitfield(n);
      const fh = await open(path, 'a+').then(async (a) => (await a.close(), open(path, 'r+')));
      const st = await fh.stat();
      // Refuse early rather than fail after minutes: what is still to be written must fit.
      const fs = await statfs(dirname(path));
      const missingBytes = size - claimed.count() * (1 << 20);
      if (st.size !== size) await fh.truncate(size);
      if (missingBytes > fs.bavail * fs.bsize) {
        await fh.close();
        throw diskFull(`${size} bytes (${fs.bavail * fs.bsize} free)`);
      }
      const have = new Bitfield(n);
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let i = 0; i < n; i++) {
        if (!claimed.has(i)) continue;
        const { start, end } = pieceSpan(i, size);
        const { bytesRead } = await fh.read(buf, 0, end - start, start);
        if (bytesRead === end - start && createHash('sha256').update(buf.subarray(0, bytesRead)).digest().equals(pieces[i]!)) have.set(i);
      }
      const pf = new PartialFile(path, size, pieces, have, fh, have.count());
      pf.haveFh = await open(`${path}.have`, 'w');
      await pf.haveFh.write(have.bytes, 0, have.bytes.length, 0);
      return pf;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOSPC' || (e as BinswarmError).code === 'DISK_FULL') {
        await PartialFile.discard(path);
        throw (e as BinswarmError).code === 'DISK_FULL' ? e : diskFull(`${size} bytes`, e);
      }
      throw e;
    }
  }

  /** Writes piece bytes at their offset (not yet recorded as held: see markHave). */
  async writePiece(i: number, data: Uint8Array): Promise<void> {
    try {
      await this.fh.write(data, 0, data.length, pieceSpan(i, this.size).start);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw diskFull(`${this.size} bytes`, e);
      throw new BinswarmError<PartialErrorCode>('DOWNLOAD_IO', `cannot write ${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }

  async sync(): Promise<void> {
    await this.haveWrite.catch(() => undefined);
    await this.fh.sync();
  }

  /**
   * Records a piece written and verified. The bitmap goes to disk behind,
   * coalesced (one write in flight, then the latest state): a bitmap that
   * lags only costs a re-fetch after a crash, and one never runs ahead of
   * the data, which was written first (and is re-verified on resume anyway).
   */
  markHave(i: number): void {
    this.have.set(i);
    if (this.flushQueued) return;
    this.flushQueued = true;
    this.haveWrite = this.haveWrite.then(async () => {
      this.flushQueued = false;
      const snapshot = Uint8Array.from(this.have.bytes);
      await this.haveFh?.write(snapshot, 0, snapshot.length, 0);
    });
  }

  async close(): Promise<void> {
    await this.haveWrite.catch(() => undefined);
    await this.fh.close().catch(() => undefined);
    await this.haveFh?.close().catch(() => undefined);
    this.haveFh = undefined;
  }

  static async discard(path: string, keepData = false): Promise<void> {
    if (!keepData) await rm(path, { force: true });
    await rm(`${path}.have`, { force: true });
    await rm(`${path}.pieces`, { force: true });
  }
}
