/**
 * The log as static tiles (c2sp.org/tlog-tiles), as pure functions: tile
 * paths, hash tiles, entry bundles, and the right edge of a tree (its
 * "compact range") that a follower extends with new leaves to recompute the
 * root without asking anyone for proofs.
 *
 * A tile has height 8: hash tile (L, N) holds the hashes of Merkle nodes at
 * level 8·L with indices [256·N, 256·N + W); W = 256 for a full tile, fewer
 * for the partial tile at the right edge (`.p/<W>`). Entry bundle N holds
 * leaves [256·N, 256·N + W), each as a big-endian uint16 length and the leaf
 * data, byte for byte what the log hashed.
 */
import { BinswarmError } from '../errors.js';
import { subtreesOf } from './log.js';
import { EMPTY_ROOT, leafHash, nodeHash, nodeHashFast } from './merkle.js';

export type TileErrorCode = 'BAD_TILE' | 'BAD_TILE_PATH' | 'LEAF_TOO_LARGE';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
/** An entry's length is a uint16. */
export const MAX_ENTRY = 0xffff;

export interface TileRef {
  /** Tile level, or 'entries' for an entry bundle. */
  level: number | 'entries';
  index: number;
  /** 256 for a full tile, 1..255 for a partial one. */
  width: number;
}

function bad(code: TileErrorCode, message: string): BinswarmError<TileErrorCode> {
  return new BinswarmError(code, message);
}

/** N as 3-digit path elements, all but the last prefixed with 'x' (1234067 → x001/x234/067). */
export function encodeIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw bad('BAD_TILE_PATH', `tile index ${n} is not a non-negative integer`);
  const parts: string[] = [];
  do {
    parts.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return parts.map((p, i) => (i < parts.length - 1 ? `x${p}` : p)).join('/');
}

/** `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`, relative to the log's URL prefix. */
export function tilePath(t: TileRef): string {
  if (!Number.isInteger(t.width) || t.width < 1 || t.width > TILE_WIDTH) throw bad('BAD_TILE_PATH', `tile width ${t.width} is not in 1..256`);
  return `tile/${t.level}/${encodeIndex(t.index)}${t.width < TILE_WIDTH ? `.p/${t.width}` : ''}`;
}

/** The inverse of tilePath; anything not in its exact form is refused (one tile, one path). */
export function parseTilePath(path: string): TileRef {
  const m = /^tile\/(entries|[0-9]|[1-5][0-9]|6[0-3])\/((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/.exec(path);
  if (!m) throw bad('BAD_TILE_PATH', `'${path.slice(0, 100)}' is not a tile path`);
  const elems = [...(m[2] ?? '').split('/').filter(Boolean).map((e) => e.slice(1)), m[3]!];
  if (elems.length > 6) throw bad('BAD_TILE_PATH', 'tile index too large');
  const index = elems.reduce((acc, e) => acc * 1000 + Number(e), 0);
  if (elems.length > 1 && elems[0] === '000') throw bad('BAD_TILE_PATH', 'tile index has a leading zero element');
  const width = m[4] ? Number(m[4]) : TILE_WIDTH;
  if (m[4] && width >= TILE_WIDTH) throw bad('BAD_TILE_PATH', `partial width ${width} must be below 256`);
  return { level: m[1] === 'entries' ? 'entries' : Number(m[1]), index, width };
}

/** The width of tile N at a level for a tree of `size` leaves: 0 if it does not exist yet. */
export function tileWidth(level: number, index: number, size: number): number {
  // Nodes at Merkle level 8·L that are complete in a tree of `size` leaves.
  const nodes = Math.floor(size / 2 ** (TILE_HEIGHT * level));
  return Math.max(0, Math.min(TILE_WIDTH, nodes - index * TILE_WIDTH));
}

/** Entry bundles a follower at `from` leaves fetches to reach `to`: the partial last one with its width. */
export function bundlesBetween(from: number, to: number): TileRef[] {
  const out: TileRef[] = [];
  if (from >= to) return out;
  for (let n = Math.floor(from / TILE_WIDTH); n * TILE_WIDTH < to; n++) {
    out.push({ level: 'entries', index: n, width: Math.min(TILE_WIDTH, to - n * TILE_WIDTH) });
  }
  return out;
}

export function encodeBundle(entries: readonly Uint8Array[]): Buffer {
  if (entries.length > TILE_WIDTH) throw bad('BAD_TILE', `an entry bundle holds at most 256 entries, got ${entries.length}`);
  let total = 0;
  for (const e of entries) {
    if (e.length > MAX_ENTRY) throw bad('LEAF_TOO_LARGE', `a log entry has at most ${MAX_ENTRY} bytes, got ${e.length}`);
    total += 2 + e.length;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const e of entries) {
    out.writeUInt16BE(e.length, at);
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}

/**
 * The first `width` entries of a bundle, as views into `data` (no copies).
 * The bundle holds exactly `width` entries, or is the full bundle a server
 * sent in place of a partial one; anything else is BAD_TILE.
 */
export function decodeBundle(data: Uint8Array, width: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < data.length) {
    if (out.length === TILE_WIDTH) throw bad('BAD_TILE', 'entry bundle has more than 256 entries');
    if (at + 2 > data.length) throw bad('BAD_TILE', 'entry bundle ends inside a length prefix');
    const len = (data[at]! << 8) | data[at + 1]!;
    if (at + 2 + len > data.length) throw bad('BAD_TILE', 'entry bundle ends inside an entry');
    out.push(data.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  if (out.length !== width && out.length !== TILE_WIDTH) throw bad('BAD_TILE', `entry bundle has ${out.length} entries, expected ${width}`);
  return out.length === width ? out : out.slice(0, width);
}

export function encodeHashTile(hashes: readonly Uint8Array[]): Buffer {
  return Buffer.concat(hashes.map((h) => Buffer.from(h)));
}

export function decodeHashTile(data: Uint8Array, width: number): Uint8Array[] {
  if (data.length !== width * 32) throw bad('BAD_TILE', `hash tile has ${data.length} bytes, expected ${width * 32}`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < width; i++) out.push(data.subarray(i * 32, i * 32 + 32));
  return out;
}

/**
 * The right edge of a tree: the hashes of its complete aligned subtrees,
 * largest first (the binary digits of its size). That is all a follower
 * needs to append leaves and compute roots: O(log n) hashes, kept between
 * refreshes, so a refresh costs what is new.
 */
export class TreeEdge {
  private constructor(
    private n: number,
    private readonly stack: { level: number; hash: Uint8Array }[],
  ) {}

  static empty(): TreeEdge {
    return new TreeEdge(0, []);
  }

  /** Rebuilds an edge from its stored hashes (as `hashes()` gave them), checking the count fits the size. */
  static restore(size: number, hashes: readonly Uint8Array[]): TreeEdge {
    const keys = subtreesOf({ start: 0, end: size });
    if (keys.length !== hashes.length || hashes.some((h) => h.length !== 32)) throw bad('BAD_TILE', `a tree of size ${size} has ${keys.length} edge hashes, got ${hashes.length}`);
    return new TreeEdge(size, keys.map((k, i) => ({ level: k.level, hash: hashes[i]! })));
  }

  get size(): number {
    return this.n;
  }

  hashes(): Uint8Array[] {
    return this.stack.map((s) => s.hash);
  }

  clone(): TreeEdge {
    return new TreeEdge(this.n, [...this.stack]);
  }

  appendLeafHash(h: Uint8Array): void {
    let cur = { level: 0, hash: h };
    // A binary counter's carry: equal-sized neighbours become one subtree.
    while (this.stack.length > 0 && this.stack[this.stack.length - 1]!.level === cur.level) {
      const left = this.stack.pop()!;
      cur = { level: cur.level + 1, hash: nodeHashFast(left.hash, cur.hash) };
    }
    this.stack.push(cur);
    this.n += 1;
  }

  appendLeaf(data: Uint8Array): Uint8Array {
    const h = leafHash(data);
    this.appendLeafHash(h);
    return h;
  }

  /** MTH of the tree so far: RFC 6962 splits off the largest subtree first, so fold right to left. */
  root(): Uint8Array {
    if (this.stack.length === 0) return EMPTY_ROOT;
    let acc = this.stack[this.stack.length - 1]!.hash;
    for (let i = this.stack.length - 2; i >= 0; i--) acc = nodeHash(this.stack[i]!.hash, acc);
    return acc;
  }
}
