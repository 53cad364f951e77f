/**
 * Archives travel in 1 MiB pieces; pieceRoot is the RFC 6962 root over the
 * pieces' sha256 hashes (each used as leaf data), so a downloader can check
 * every piece against one signed value before it has the whole archive.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { leafHash, rootOfLeafHashes } from '../log/merkle.js';

export const PIECE_SIZE = 1 << 20;

export async function pieceHashesOf(path: string, opts: { signal?: AbortSignal } = {}): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let h = createHash('sha256');
  let filled = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: PIECE_SIZE, signal: opts.signal })) {
    let buf = chunk as Buffer;
    while (buf.length > 0) {
      const take = Math.min(buf.length, PIECE_SIZE - filled);
      h.update(buf.subarray(0, take));
      filled += take;
      buf = buf.subarray(take);
      if (filled === PIECE_SIZE) {
        out.push(h.digest());
        h = createHash('sha256');
        filled = 0;
      }
    }
  }
  if (filled > 0 || out.length === 0) out.push(h.digest());
  return out;
}

export function pieceRootOf(pieceHashes: readonly Uint8Array[]): string {
  return Buffer.from(rootOfLeafHashes(pieceHashes.map(leafHash))).toString('hex');
}

export async function pieceRootOfFile(path: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
  return pieceRootOf(await pieceHashesOf(path, opts));
}
