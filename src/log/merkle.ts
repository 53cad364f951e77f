/**
 * RFC 6962 / RFC 9162 §2.1 Merkle hashing and proof verification, as pure
 * functions. Leaves are hashed with a 0x00 prefix and interior nodes with
 * 0x01, so a leaf can never be passed off as a node (second preimages).
 */
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { BinswarmError } from '../errors.js';

export type MerkleErrorCode = 'BAD_PROOF' | 'BAD_TREE_SIZE';

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export function leafHash(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(LEAF).update(data).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

// One-shot hashing (node:crypto hash(), Node ≥ 20.12) costs a fraction of a
// Hash object for 65 bytes; a log follower computes about one node per leaf.
const oneShot = (crypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;
const pair = Buffer.alloc(65, 1);

/** nodeHash, faster when called in a loop (same result). */
export function nodeHashFast(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (!oneShot) return nodeHash(left, right);
  pair.set(left, 1);
  pair.set(right, 33);
  return oneShot('sha256', pair, 'buffer');
}

/**
 * leafHash of `data`, where the byte just before `data` in its buffer may be
 * overwritten (an entry bundle's length prefix, no longer needed once the
 * bundle is split): the 0x00 prefix is written there and hashed in place.
 */
export function leafHashInPlace(data: Uint8Array): Uint8Array {
  if (!oneShot || data.byteOffset === 0) return leafHash(data);
  const withPrefix = new Uint8Array(data.buffer, data.byteOffset - 1, data.byteLength + 1);
  withPrefix[0] = 0;
  return oneShot('sha256', withPrefix, 'buffer');
}

/** Root of the empty tree: sha256 of nothing. */
export const EMPTY_ROOT: Uint8Array = createHash('sha256').digest();

/** Largest power of two strictly below n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over leaf hashes (RFC 9162 §2.1.1), iterative so a million leaves do not recurse. */
export function rootOfLeafHashes(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return EMPTY_ROOT;
  // Fold complete subtrees left to right, like a binary counter; then merge the
  // ragged right edge from the smallest subtree up. Same result as the recursion.
  const stack: { size: number; hash: Uint8Array }[] = [];
  for (const h of hashes) {
    let cur = { size: 1, hash: h };
    while (stack.length > 0 && stack[stack.length - 1]!.size === cur.size) {
      const left = stack.pop()!;
      cur = { size: left.size * 2, hash: nodeHash(left.hash, cur.hash) };
    }
    stack.push(cur);
  }
  let acc = stack.pop()!.hash;
  while (stack.length > 0) acc = nodeHash(stack.pop()!.hash, acc);
  return acc;
}

function bad(message: string): BinswarmError<MerkleErrorCode> {
  return new BinswarmError('BAD_PROOF', message);
}

/** Without bitwise operators, which truncate to 32 bits (trees may be larger). */
function isPowerOfTwo(n: number): boolean {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}

/** Every hash in a proof is a SHA-256 output; anything else is malformed, not merely wrong. */
function checkHashes(what: string, hashes: readonly Uint8Array[]): void {
  for (const h of hashes) if (h.length !== 32) throw bad(`${what} contains a ${h.length}-byte hash (want 32)`);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or a BAD_PROOF error. */
export function rootFromInclusionProof(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw bad(`leaf index ${index} is outside a tree of size ${size}`);
  }
  checkHashes('leaf hash', [leaf]);
  checkHashes('inclusion proof', proof);
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw bad('inclusion proof is longer than the tree is deep');
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw bad('inclusion proof is shorter than the tree is deep');
  return r;
}

export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  if (!equal(rootFromInclusionProof(index, size, leaf, proof), root)) throw bad(`inclusion proof for leaf ${index} does not lead to the root of size ${size}`);
}

/** RFC 9162 §2.1.4.2: checks that `newRoot` (size n) extends `oldRoot` (size m). */
export function verifyConsistency(m: number, n: number, oldRoot: Uint8Array, newRoot: Uint8Array, proof: readonly Uint8Array[]): void {
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n) || m < 0 || m > n) throw new BinswarmError<MerkleErrorCode>('BAD_TREE_SIZE', `tree cannot go from size ${m} to ${n}`);
  // As in transparency-dev/merkle: every tree extends the empty one, so a
  // "proof" from size 0 carries no information; a caller that trusts size 0
  // checks the new root some other way (see acceptCheckpoint).
  if (m === 0) throw bad('a consistency proof from the empty tree proves nothing');
  if (m === n) {
    if (proof.length !== 0) throw bad('consistency proof between equal sizes must be empty');
    if (!equal(oldRoot, newRoot)) throw bad(`two different roots for tree size ${n}`);
    return;
  }
  if (proof.length === 0) throw bad('consistency proof is empty');
  checkHashes('consistency proof', proof);
  const path = [...proof];
  // If m is a power of two, the old root itself is the first node of the path.
  if (isPowerOfTwo(m)) path.unshift(oldRoot);
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) throw bad('consistency proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw bad('consistency proof is too short');
  if (!equal(fr, oldRoot)) throw bad(`consistency proof does not match the old root of size ${m}`);
  if (!equal(sr, newRoot)) throw bad(`consistency proof does not match the new root of size ${n}`);
}
