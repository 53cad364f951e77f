/**
 * An append-only RFC 6962 log over a HashStore. Proofs are built from stored
 * complete subtrees: the left parts of every split are complete and aligned
 * (one read each), only the ragged right edge is recomputed, so a proof reads
 * O(log n) nodes (at most O(log² n) hashes on the edge) whatever the size.
 */
import { BinswarmError } from '../errors.js';
import type { HashStore, NodeKey } from './hash-store.js';
import { EMPTY_ROOT, leafHash, nodeHash, splitPoint } from './merkle.js';

export type LogErrorCode = 'BAD_TREE_SIZE';

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function sizeError(message: string): BinswarmError<LogErrorCode> {
  return new BinswarmError('BAD_TREE_SIZE', message);
}

export class MerkleLog {
  constructor(private readonly store: HashStore) {}

  size(): Promise<number> {
    return this.store.size();
  }

  /** Appends leaves (their data is hashed with the 0x00 prefix); returns the index of the first. */
  appendLeaves(datas: readonly Uint8Array[]): Promise<number> {
    return this.appendLeafHashes(datas.map(leafHash));
  }

  /** Appends already-hashed leaves in one store write. */
  async appendLeafHashes(hashes: readonly Uint8Array[]): Promise<number> {
    const start = await this.store.size();
    const fresh = new Map<string, Uint8Array>();
    const nodes: (NodeKey & { hash: Uint8Array })[] = [];
    const put = (level: number, index: number, hash: Uint8Array) => {
      fresh.set(`${level}/${index}`, hash);
      nodes.push({ level, index, hash });
    };
    for (let i = 0; i < hashes.length; i++) {
      const leafIndex = start + i;
      put(0, leafIndex, hashes[i]!);
      // Every level at which this leaf completes a subtree gets a new node.
      let level = 0;
      let index = leafIndex;
      while (index % 2 === 1) {
        const left = fresh.get(`${level}/${index - 1}`) ?? (await this.store.getNodes([{ level, index: index - 1 }]))[0]!;
        const right = fresh.get(`${level}/${index}`)!;
        level += 1;
        index = (index - 1) / 2;
        put(level, index, nodeHash(left, right));
      }
    }
    await this.store.append(start + hashes.length, nodes);
    return start;
  }

  /** Hash of leaves [start, end): one stored node when complete and aligned, else split. */
  private async rangeHash(start: number, end: number): Promise<Uint8Array> {
    const n = end - start;
    if (isPowerOfTwo(n) && start % n === 0) {
      return (await this.store.getNodes([{ level: Math.log2(n), index: start / n }]))[0]!;
    }
    const k = splitPoint(n);
    return nodeHash(await this.rangeHash(start, start + k), await this.rangeHash(start + k, end));
  }

  async root(size?: number): Promise<Uint8Array> {
    const n = size ?? (await this.store.size());
    await this.checkSize(n);
    return n === 0 ? EMPTY_ROOT : this.rangeHash(0, n);
  }

  private async checkSize(n: number): Promise<void> {
    const have = await this.store.size();
    if (!Number.isSafeInteger(n) || n < 0 || n > have) throw sizeError(`tree size ${n} is not in 0..${have}`);
  }

  /** PATH(m, D[n]) of RFC 9162 §2.1.3.1, leaf-to-root order. */
  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    await this.checkSize(size);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw sizeError(`leaf ${index} is not in a tree of size ${size}`);
    const path: Uint8Array[] = [];
    let start = 0;
    let end = size;
    let m = index;
    const steps: { start: number; end: number }[] = [];
    while (end - start > 1) {
      const k = splitPoint(end - start);
      if (m < k) {
        steps.push({ start: start + k, end });
        end = start + k;
      } else {
        steps.push({ start, end: start + k });
        m -= k;
        start += k;
      }
    }
    for (const s of steps.reverse()) path.push(await this.rangeHash(s.start, s.end));
    return path;
  }

  /** PROOF(m, D[n]) of RFC 9162 §2.1.4.1. */
  async consistencyProof(m: number, n: number): Promise<Uint8Array[]> {
    await this.checkSize(n);
    if (!Number.isSafeInteger(m) || m < 0 || m > n) throw sizeError(`cannot prove size ${m} is a prefix of size ${n}`);
    if (m === 0 || m === n) return [];
    const out: { start: number; end: number }[] = [];
    // SUBPROOF(m, D[start:end], b), unrolled.
    let start = 0;
    let end = n;
    let mm = m;
    let complete = true;
    while (true) {
      const size = end - start;
      if (mm === size) {
        if (!complete) out.push({ start, end });
        break;
      }
      const k = splitPoint(size);
      if (mm <= k) {
        out.push({ start: start + k, end });
        end = start + k;
      } else {
        out.push({ start, end: start + k });
        mm -= k;
        start += k;
        complete = false;
      }
    }
    const proof: Uint8Array[] = [];
    for (const r of out.reverse()) proof.push(await this.rangeHash(r.start, r.end));
    return proof;
  }
}
