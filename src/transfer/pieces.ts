/**
 * Archives travel in 1 MiB pieces; pieceRoot is the RFC 6962 root over the
 * pieces' sha256 hashes (each used as leaf data), so a downloader can check
 * every piece against one signed value before it has the whole archive.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { BinswarmError } from '../errors.js';
import { leafHash, rootOfLeafHashes } from '../log/merkle.js';

export const PIECE_SIZE = 1 << 20;

export async function pieceHashesOf(path: string, opts: { signal?: AbortSignal } = {}): Promise<Buffer[]> {
  const h = new PieceHasher();
  for await (const chunk of createReadStream(path, { highWaterMark: PIECE_SIZE, signal: opts.signal })) h.update(chunk as Buffer);
  return h.finish();
}

export function pieceRootOf(pieceHashes: readonly Uint8Array[]): string {
  return Buffer.from(rootOfLeafHashes(pieceHashes.map(leafHash))).toString('hex');
}

export async function pieceRootOfFile(path: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
  return pieceRootOf(await pieceHashesOf(path, opts));
}

export type PieceErrorCode = 'BAD_PIECE_LIST' | 'BAD_PIECE';

/** Pieces of an archive of `size` bytes (an empty archive still has one, empty, piece). */
export function pieceCount(size: number): number {
  return Math.max(1, Math.ceil(size / PIECE_SIZE));
}

/** Byte range [start, end) of piece `i`. */
export function pieceSpan(i: number, size: number): { start: number; end: number } {
  const start = i * PIECE_SIZE;
  return { start, end: Math.min(size, start + PIECE_SIZE) };
}

/** The `.pieces` wire/disk form: the 32-byte hashes back to back (a static server can serve it as a file). */
export function encodePieceList(hashes: readonly Uint8Array[]): Buffer {
  return Buffer.concat(hashes.map((h) => Buffer.from(h)));
}

/**
 * Parses a piece list and checks it against the attested pieceRoot and the
 * archive size: a holder cannot make us accept pieces the attester did not hash.
 */
export function decodePieceList(bytes: Uint8Array, size: number, pieceRoot: string): Buffer[] {
  const n = pieceCount(size);
  if (bytes.length !== n * 32) throw new BinswarmError<PieceErrorCode>('BAD_PIECE_LIST', `piece list has ${bytes.length} bytes, expected ${n * 32} for ${size} bytes`);
  const hashes = Array.from({ length: n }, (_, i) => Buffer.from(bytes.subarray(i * 32, i * 32 + 32)));
  if (pieceRootOf(hashes) !== pieceRoot) throw new BinswarmError<PieceErrorCode>('BAD_PIECE_LIST', 'piece list does not match the attested pieceRoot');
  return hashes;
}

/** Incremental piece hashing of a stream (used while a blob is written, so the list costs no second read). */
export class PieceHasher {
  readonly hashes: Buffer[] = [];
  private h = createHash('sha256');
  private filled = 0;

  update(chunk: Uint8Array): void {
    let buf = chunk;
    while (buf.length > 0) {
      const take = Math.min(buf.length, PIECE_SIZE - this.filled);
      this.h.update(buf.subarray(0, take));
      this.filled += take;
      buf = buf.subarray(take);
      if (this.filled === PIECE_SIZE) {
        this.hashes.push(this.h.digest());
        this.h = createHash('sha256');
        this.filled = 0;
      }
    }
  }

  finish(): Buffer[] {
    if (this.filled > 0 || this.hashes.length === 0) this.hashes.push(this.h.digest());
    return this.hashes;
  }
}
