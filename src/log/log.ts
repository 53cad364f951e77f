/**
 * An append-only RFC 6962 log over a HashStore. Every subtree the RFC's
 * recursion visits starts on a boundary aligned to its own size rounded up to
 * a power of two, so its hash is a right fold over at most log2 n stored
 * complete subtrees (the binary digits of its size). A proof or a root is
 * therefore planned first, read with ONE getNodes call of O(log n) keys, then
 * folded: proof time grows with log n, and an SQL store pays one round trip.
 */
import { BinswarmError } from '../errors.js';
import type { HashStore, NodeKey } from './hash-store.js';
import { EMPTY_ROOT, leafHash, nodeHash, splitPoint } from './merkle.js';

export type LogErrorCode = 'BAD_TREE_SIZE' | 'BAD_LEAF_HASH';

function sizeError(message: string): BinswarmError<LogErrorCode> {
  return new BinswarmError('BAD_TREE_SIZE', message);
}

/** Leaves [start, end) of the tree, as the RFC recursion reaches them. */
interface Range {
  start: number;
  end: number;
}

/**
 * The complete aligned subtrees that make up [start, end), largest first. No
 * bitwise operators: sizes may pass 2^31.
 */
export function subtreesOf(r: Range): NodeKey[] {
  const out: NodeKey[] = [];
  let at = r.start;
  let left = r.end - r.start;
  let size = 1;
  let level = 0;
  while (size * 2 <= left) {
    size *= 2;
    level += 1;
  }
  for (; left > 0; size /= 2, level -= 1) {
    if (size > left) continue;
    // Holds for every range the RFC recursion produces; a violation is a bug here, not bad input.
    if (at % size !== 0) throw new Error(`internal: range [${r.start}, ${r.end}) is not aligned`);
    out.push({ level, index: at / size });
    at += size;
    left -= size;
  }
  return out;
}

/** MTH of a range from its subtrees' hashes: RFC 6962 splits off the largest one first. */
function fold(hashes: Uint8Array[]): Uint8Array {
  let acc = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) acc = nodeHash(hashes[i]!, acc);
  return acc;
}

interface FrontierNode extends NodeKey {
  hash: Uint8Array;
}

export class MerkleLog {
  /** Appends through one instance run one after another (each reads the size it extends). */
  private appending: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: HashStore) {}

  size(): Promise<number> {
    return this.store.size();
  }

  /** Appends leaves (their data is hashed with the 0x00 prefix); returns the index of the first. */
  appendLeaves(datas: readonly Uint8Array[]): Promise<number> {
    return this.appendLeafHashes(datas.map(leafHash));
  }

  /** Appends already-hashed leaves: one read of the old right edge, one store write. */
  appendLeafHashes(hashes: readonly Uint8Array[]): Promise<number> {
    const run = this.appending.then(() => this.appendNow(hashes));
    this.appending = run.catch(() => undefined);
    return run;
  }

  private async appendNow(hashes: readonly Uint8Array[]): Promise<number> {
    for (const h of hashes) if (h.length !== 32) throw new BinswarmError<LogErrorCode>('BAD_LEAF_HASH', `a leaf hash has 32 bytes, got ${h.length}`);
    const start = await this.store.size();
    if (hashes.length === 0) return start;
    // The old tree's complete subtrees (its "frontier") are all a new leaf can merge with.
    const keys = subtreesOf({ start: 0, end: start });
    const old = keys.length > 0 ? await this.store.getNodes(keys) : [];
    const frontier: FrontierNode[] = keys.map((k, i) => ({ ...k, hash: old[i]! }));
    const nodes: FrontierNode[] = [];
    for (let i = 0; i < hashes.length; i++) {
      let cur: FrontierNode = { level: 0, index: start + i, hash: hashes[i]! };
      nodes.push(cur);
      // Like a binary counter's carry: equal-sized neighbours become one complete subtree.
      while (frontier.length > 0 && frontier[frontier.length - 1]!.level === cur.level) {
        const left = frontier.pop()!;
        cur = { level: cur.level + 1, index: left.index / 2, hash: nodeHash(left.hash, cur.hash) };
        nodes.push(cur);
      }
      frontier.push(cur);
    }
    await this.store.append(start + hashes.length, nodes);
    return start;
  }

  /** Hashes of several ranges with one store read. */
  private async hashRanges(ranges: Range[]): Promise<Uint8Array[]> {
    const plans = ranges.map(subtreesOf);
    const all = plans.flat();
    const got = all.length > 0 ? await this.store.getNodes(all) : [];
    let at = 0;
    return plans.map((p) => {
      const part = got.slice(at, at + p.length);
      at += p.length;
      return fold(part);
    });
  }

  private async checkSize(n: number): Promise<void> {
    const have = await this.store.size();
    if (!Number.isSafeInteger(n) || n < 0 || n > have) throw sizeError(`tree size ${n} is not in 0..${have}`);
  }

  /** MTH(D[0:size]); the current root when size is left out. */
  async root(size?: number): Promise<Uint8Array> {
    const n = size ?? (await this.store.size());
    if (size !== undefined) await this.checkSize(n);
    return n === 0 ? EMPTY_ROOT : (await this.hashRanges([{ start: 0, end: n }]))[0]!;
  }

  /** PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, leaf-to-root order. */
  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    await this.checkSize(size);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw sizeError(`leaf ${index} is not in a tree of size ${size}`);
    // Walk down from the root; each step's sibling is one proof node.
    const siblings: Range[] = [];
    let start = 0;
    let end = size;
    while (end - start > 1) {
      const mid = start + splitPoint(end - start);
      if (index < mid) {
        siblings.push({ start: mid, end });
        end = mid;
      } else {
        siblings.push({ start, end: mid });
        start = mid;
      }
    }
    return this.hashRanges(siblings.reverse());
  }

  /** PROOF(m, D[0:n]) of RFC 9162 §2.1.4.1 (SUBPROOF unrolled). */
  async consistencyProof(m: number, n: number): Promise<Uint8Array[]> {
    await this.checkSize(n);
    if (!Number.isSafeInteger(m) || m < 0 || m > n) throw sizeError(`cannot prove size ${m} is a prefix of size ${n}`);
    if (m === 0 || m === n) return [];
    const parts: Range[] = [];
    let start = 0;
    let end = n;
    // True while the old tree is still the left edge of [start, end): then
    // its root needs no proof node (the verifier already has it).
    let leftEdge = true;
    while (true) {
      const size = end - start;
      const mm = m - start;
      if (mm === size) {
        if (!leftEdge) parts.push({ start, end });
        break;
      }
      const k = splitPoint(size);
      if (mm <= k) {
        parts.push({ start: start + k, end });
        end = start + k;
      } else {
        parts.push({ start, end: start + k });
        start += k;
        leftEdge = false;
      }
    }
    return this.hashRanges(parts.reverse());
  }
}
