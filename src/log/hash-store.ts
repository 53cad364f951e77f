/**
 * Where a Merkle log keeps its hashes. Only complete aligned subtrees are
 * stored (a leaf is level 0; node (level, index) covers leaves
 * [index·2^level, (index+1)·2^level)), so any proof needs O(log n) reads and
 * an append writes O(1) amortised nodes. The coordinator implements this
 * over SQLite or PostgreSQL; MemoryHashStore serves tests and benchmarks.
 */
import { BinswarmError } from '../errors.js';

export interface NodeKey {
  level: number;
  index: number;
}

export interface HashStore {
  /** Number of leaves in the tree. */
  size(): Promise<number>;
  /** Hashes of complete aligned subtrees; rejects with LOG_NODE_MISSING if one is not stored. */
  getNodes(keys: NodeKey[]): Promise<Uint8Array[]>;
  /** Atomically records the new size and every node that became complete. */
  append(newSize: number, nodes: (NodeKey & { hash: Uint8Array })[]): Promise<void>;
}

export type HashStoreErrorCode = 'LOG_NODE_MISSING' | 'LOG_APPEND_CONFLICT';

export function nodeMissing(k: NodeKey): BinswarmError<HashStoreErrorCode> {
  return new BinswarmError('LOG_NODE_MISSING', `log node (level ${k.level}, index ${k.index}) is not stored`);
}

export class MemoryHashStore implements HashStore {
  private readonly levels: Uint8Array[][] = [];
  private leaves = 0;

  async size(): Promise<number> {
    return this.leaves;
  }

  async getNodes(keys: NodeKey[]): Promise<Uint8Array[]> {
    return keys.map((k) => {
      const h = this.levels[k.level]?.[k.index];
      if (!h) throw nodeMissing(k);
      return h;
    });
  }

  async append(newSize: number, nodes: (NodeKey & { hash: Uint8Array })[]): Promise<void> {
    if (newSize < this.leaves) throw new BinswarmError<HashStoreErrorCode>('LOG_APPEND_CONFLICT', `log size cannot go back from ${this.leaves} to ${newSize}`);
    for (const n of nodes) (this.levels[n.level] ??= [])[n.index] = n.hash;
    this.leaves = newSize;
  }
}
