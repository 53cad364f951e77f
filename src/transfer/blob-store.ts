/**
 * Content-addressed blobs under DIR/blobs/sha256/ab/<hex>. A blob is written
 * to DIR/blobs/tmp, hashed as it streams, fsynced, checked against what the
 * caller expected and only then renamed into place: a final name always
 * holds exactly the bytes its name says. The layout is also the URL layout,
 * so any static HTTP server over DIR is a valid mirror. Beside each blob,
 * `<hex>.pieces` holds its piece hash list (a static server serves it too).
 * Downloads in progress live in DIR/blobs/partial/ (kept across restarts,
 * for resume) and are never visible under a final name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BinswarmError } from '../errors.js';
import type { Bitfield } from './bitfield.js';
import { encodePieceList, pieceHashesOf, PieceHasher } from './pieces.js';

export type BlobErrorCode = 'BAD_DIGEST' | 'BLOB_DIGEST_MISMATCH' | 'BLOB_SIZE_MISMATCH' | 'BLOB_TOO_LARGE' | 'BLOB_NOT_FOUND';

const HEX = /^[0-9a-f]{64}$/;

export function checkHex(hex: string): string {
  if (!HEX.test(hex)) throw new BinswarmError<BlobErrorCode>('BAD_DIGEST', `not a sha256 hex digest: '${hex.slice(0, 70)}'`);
  return hex;
}

export interface PutOptions {
  expectedSha256?: string;
  expectedSize?: number;
  maxSize?: number;
  signal?: AbortSignal;
}

/** A download in progress in this process: what a node may already serve of it. */
export interface PartialBlob {
  path: string;
  size: number;
  have: Bitfield;
  pieces: Buffer[];
}

export class BlobStore {
  /** Downloads in progress, by sha256 (registered by the swarm downloader). */
  readonly partials = new Map<string, PartialBlob>();

  private constructor(readonly dir: string) {}

  /** Opens DIR, removing temp files a killed process left behind. */
  static async open(dir: string): Promise<BlobStore> {
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    await rm(join(dir, 'blobs', 'tmp'), { recursive: true, force: true });
    await mkdir(join(dir, 'blobs', 'tmp'), { recursive: true });
    await mkdir(join(dir, 'blobs', 'partial'), { recursive: true });
    return new BlobStore(dir);
  }

  /** URL-relative path of a blob: `blobs/sha256/ab/<hex>`. */
  static relPath(hex: string): string {
    return `blobs/sha256/${checkHex(hex).slice(0, 2)}/${hex}`;
  }

  path(hex: string): string {
    return join(this.dir, BlobStore.relPath(hex));
  }

  /** Where a download of `hex` keeps its partial file (+ `.have`, `.pieces`). */
  partialPath(hex: string): string {
    return join(this.dir, 'blobs', 'partial', checkHex(hex));
  }

  async size(hex: string): Promise<number | undefined> {
    const st = await stat(this.path(hex)).catch(() => undefined);
    return st?.isFile() ? st.size : undefined;
  }

  async has(hex: string): Promise<boolean> {
    return (await this.size(hex)) !== undefined;
  }

  async put(source: Readable | AsyncIterable<Uint8Array>, opts: PutOptions = {}): Promise<{ sha256: string; size: number }> {
    if (opts.expectedSha256) checkHex(opts.expectedSha256);
    const max = opts.maxSize ?? opts.expectedSize ?? Number.MAX_SAFE_INTEGER;
    const tmp = join(this.dir, 'blobs', 'tmp', `${randomBytes(8).toString('hex')}.part`);
    const hash = createHash('sha256');
    const pieces = new PieceHasher();
    let size = 0;
    const out = createWriteStream(tmp, { flags: 'wx' });
    try {
      for await (const chunk of source) {
        opts.signal?.throwIfAborted();
        size += chunk.length;
        // Stop as soon as a sender goes past what it promised: no unbounded disk use.
        if (size > max) throw new BinswarmError<BlobErrorCode>('BLOB_TOO_LARGE', `blob exceeds ${max} bytes`);
        hash.update(chunk);
        pieces.update(chunk);
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
      await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
      const sha256 = hash.digest('hex');
      if (opts.expectedSize !== undefined && size !== opts.expectedSize) throw new BinswarmError<BlobErrorCode>('BLOB_SIZE_MISMATCH', `got ${size} bytes, expected ${opts.expectedSize}`);
      if (opts.expectedSha256 && sha256 !== opts.expectedSha256) throw new BinswarmError<BlobErrorCode>('BLOB_DIGEST_MISMATCH', `content hashes to ${sha256.slice(0, 16)}…, expected ${opts.expectedSha256.slice(0, 16)}…`);
      await this.install(tmp, sha256, pieces.finish());
      return { sha256, size };
    } catch (e) {
      // The stream opens its file asynchronously: wait until it is closed, or
      // the open could land after the rm and leave a temp file behind.
      if (!out.closed) await new Promise<void>((r) => { out.once('close', () => r()); out.destroy(); });
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /** Moves a complete, verified file into place under its final name (fsync, rename, directory fsync), then its piece list. */
  async install(file: string, sha256: string, pieceHashes: Buffer[]): Promise<void> {
    const fh = await open(file, 'r');
    await fh.sync();
    await fh.close();
    const final = this.path(sha256);
    await mkdir(join(final, '..'), { recursive: true });
    await rename(file, final);
    const dh = await open(join(final, '..'), 'r');
    await dh.sync().catch(() => undefined);
    await dh.close();
    await this.writePieceList(sha256, pieceHashes);
  }

  private async writePieceList(hex: string, hashes: Buffer[]): Promise<void> {
    const tmp = join(this.dir, 'blobs', 'tmp', `${randomBytes(8).toString('hex')}.pieces`);
    await writeFile(tmp, encodePieceList(hashes));
    await rename(tmp, `${this.path(hex)}.pieces`);
  }

  /** The piece hash list of a held blob (from its sidecar; recomputed if a crash lost it). */
  async pieceList(hex: string): Promise<Buffer | undefined> {
    const size = await this.size(hex);
    if (size === undefined) return undefined;
    const have = await readFile(`${this.path(hex)}.pieces`).catch(() => undefined);
    if (have && have.length === Math.max(1, Math.ceil(size / (1 << 20))) * 32) return have;
    const hashes = await pieceHashesOf(this.path(hex));
    await this.writePieceList(hex, hashes);
    return encodePieceList(hashes);
  }

  importFile(path: string, opts: PutOptions = {}): Promise<{ sha256: string; size: number }> {
    return this.put(createReadStream(path, { highWaterMark: 1 << 20 }), opts);
  }

  openRead(hex: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.path(hex), { highWaterMark: 1 << 20, ...(range ?? {}) });
  }

  async remove(hex: string): Promise<void> {
    await rm(this.path(hex), { force: true });
    await rm(`${this.path(hex)}.pieces`, { force: true });
  }

  async *list(): AsyncGenerator<{ sha256: string; size: number }> {
    const root = join(this.dir, 'blobs', 'sha256');
    for (const prefix of (await readdir(root)).sort()) {
      for (const name of (await readdir(join(root, prefix)).catch(() => [] as string[])).sort()) {
        if (!HEX.test(name)) continue;
        const size = await this.size(name);
        if (size !== undefined) yield { sha256: name, size };
      }
    }
  }

  /** Re-hashes a blob; a damaged one is removed so it is never served. */
  async verify(hex: string): Promise<boolean> {
    const hash = createHash('sha256');
    for await (const c of this.openRead(hex)) hash.update(c as Buffer);
    if (hash.digest('hex') === hex) return true;
    await this.remove(hex);
    return false;
  }
}
