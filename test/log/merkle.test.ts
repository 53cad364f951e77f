import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MemoryHashStore } from '../../src/log/hash-store.js';
import { MerkleLog } from '../../src/log/log.js';
import { EMPTY_ROOT, leafHash, nodeHash, rootFromInclusionProof, rootOfLeafHashes, splitPoint, verifyConsistency, verifyInclusion } from '../../src/log/merkle.js';
import { loadTestFixture } from '../helpers/env.js';

interface Vectors {
  leaves: string[];
  emptyRoot: string;
  roots: string[];
  inclusion: { index: number; size: number; path: string[] }[];
  consistency: { m: number; n: number; proof: string[] }[];
  verifierCases: {
    inclusion: { case: string; index: string; size: string; leafHash: string; root: string; proof: string[]; valid: boolean }[];
    consistency: { case: string; m: string; n: string; oldRoot: string; newRoot: string; proof: string[]; valid: boolean }[];
  };
}
const V = loadTestFixture<Vectors>('log', 'rfc6962-vectors.json');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex');

async function logOf(n: number, data = (i: number) => Buffer.from(`leaf ${i}`)): Promise<MerkleLog> {
  const log = new MerkleLog(new MemoryHashStore());
  // Several batches, so appends that complete subtrees across batches are exercised.
  for (let i = 0; i < n; ) {
    const batch = Math.min(n - i, 1 + (i % 7));
    await log.appendLeaves(Array.from({ length: batch }, (_, j) => data(i + j)));
    i += batch;
  }
  return log;
}

/** The RFC's recursive definition, written plainly, as the reference. */
function referenceRoot(hashes: Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return EMPTY_ROOT;
  if (hashes.length === 1) return hashes[0]!;
  const k = splitPoint(hashes.length);
  return nodeHash(referenceRoot(hashes.slice(0, k)), referenceRoot(hashes.slice(k)));
}

test('RFC 6962 vectors: roots of every prefix, inclusion and consistency proofs', async () => {
  const leaves = V.leaves.map(unhex);
  assert.equal(hex(EMPTY_ROOT), V.emptyRoot);
  const log = new MerkleLog(new MemoryHashStore());
  for (let n = 1; n <= leaves.length; n++) {
    await log.appendLeaves([leaves[n - 1]!]);
    assert.equal(hex(await log.root()), V.roots[n - 1], `root of size ${n}`);
    assert.equal(hex(rootOfLeafHashes(leaves.slice(0, n).map(leafHash))), V.roots[n - 1]);
  }
  for (const c of V.inclusion) {
    const proof = await log.inclusionProof(c.index, c.size);
    assert.deepEqual(proof.map(hex), c.path, `inclusion ${c.index}/${c.size}`);
    verifyInclusion(c.index, c.size, leafHash(leaves[c.index]!), c.path.map(unhex), unhex(V.roots[c.size - 1]!));
  }
  for (const c of V.consistency) {
    const proof = await log.consistencyProof(c.m, c.n);
    assert.deepEqual(proof.map(hex), c.proof, `consistency ${c.m}→${c.n}`);
    verifyConsistency(c.m, c.n, unhex(V.roots[c.m - 1]!), unhex(V.roots[c.n - 1]!), c.proof.map(unhex));
  }
});

test('transparency-dev verifier corpus: every good proof accepted, every bad one rejected with BAD_PROOF', () => {
  const { inclusion, consistency } = V.verifierCases;
  assert.ok(inclusion.length > 90 && consistency.length > 90);
  for (const c of inclusion) {
    const run = () => verifyInclusion(Number(c.index), Number(c.size), unhex(c.leafHash), c.proof.map(unhex), unhex(c.root));
    if (c.valid) assert.doesNotThrow(run, `inclusion ${c.case}`);
    else assert.throws(run, { code: 'BAD_PROOF' }, `inclusion ${c.case}`);
  }
  for (const c of consistency) {
    const run = () => verifyConsistency(Number(c.m), Number(c.n), unhex(c.oldRoot), unhex(c.newRoot), c.proof.map(unhex));
    if (c.valid) assert.doesNotThrow(run, `consistency ${c.case}`);
    else assert.throws(run, (e: unknown) => ['BAD_PROOF', 'BAD_TREE_SIZE'].includes((e as { code?: string }).code ?? ''), `consistency ${c.case}`);
  }
});

test('a tampered inclusion proof, wrong index or wrong size is rejected', async () => {
  const leaves = V.leaves.map(unhex);
  const root = unhex(V.roots[7]!);
  const c = V.inclusion[2]!;
  const path = c.path.map(unhex);
  for (let i = 0; i < path.length; i++) {
    const bad = path.map((p) => Buffer.from(p));
    bad[i]![0]! ^= 1;
    assert.throws(() => verifyInclusion(c.index, c.size, leafHash(leaves[c.index]!), bad, root), { code: 'BAD_PROOF' });
  }
  assert.throws(() => verifyInclusion(c.index + 1, c.size, leafHash(leaves[c.index]!), path, root), { code: 'BAD_PROOF' });
  assert.throws(() => verifyInclusion(c.index, c.size - 2, leafHash(leaves[c.index]!), path, root), { code: 'BAD_PROOF' });
  assert.throws(() => verifyInclusion(c.index, c.size, leafHash(leaves[c.index]!), path.slice(1), root), { code: 'BAD_PROOF' });
  assert.throws(() => verifyInclusion(c.index, c.size, leafHash(leaves[c.index]!), [...path, path[0]!], root), { code: 'BAD_PROOF' });
  assert.throws(() => verifyInclusion(9, 8, leafHash(leaves[0]!), path, root), { code: 'BAD_PROOF' });
  // A leaf hash passed off as a node (or the reverse) cannot verify: the prefixes differ.
  assert.throws(() => verifyInclusion(0, 1, leaves[0]!, [], unhex(V.roots[0]!)), { code: 'BAD_PROOF' });
});

test('a consistency proof against another history (a fork) is rejected', async () => {
  const honest = await logOf(20);
  const forked = await logOf(20, (i) => Buffer.from(i === 3 ? 'rewritten' : `leaf ${i}`));
  const proof = await honest.consistencyProof(10, 20);
  const [h10, h20, f10, f20] = await Promise.all([honest.root(10), honest.root(20), forked.root(10), forked.root(20)]);
  verifyConsistency(10, 20, h10, h20, proof);
  assert.throws(() => verifyConsistency(10, 20, f10, h20, proof), { code: 'BAD_PROOF' });
  assert.throws(() => verifyConsistency(10, 20, h10, f20, proof), { code: 'BAD_PROOF' });
  assert.throws(() => verifyConsistency(20, 20, f20, h20, []), { code: 'BAD_PROOF' });
  assert.throws(() => verifyConsistency(21, 20, h20, h20, []), { code: 'BAD_TREE_SIZE' });
});

test('property: stored-node log equals the reference, and every proof verifies', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 70 }), fc.nat(), fc.nat(), async (n, a, b) => {
      const log = await logOf(n);
      const hashes = Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
      const root = await log.root();
      assert.deepEqual(hex(root), hex(referenceRoot(hashes)));
      const index = a % n;
      const proof = await log.inclusionProof(index, n);
      assert.equal(hex(rootFromInclusionProof(index, n, hashes[index]!, proof)), hex(root));
      const m = 1 + (b % n);
      const cp = await log.consistencyProof(m, n);
      verifyConsistency(m, n, await log.root(m), root, cp);
      // Any single flipped byte breaks it.
      if (cp.length > 0) {
        const bad = cp.map((p) => Buffer.from(p));
        bad[b % bad.length]![b % 32]! ^= 0x80;
        assert.throws(() => verifyConsistency(m, n, referenceRoot(hashes.slice(0, m)), root, bad), { code: 'BAD_PROOF' });
      }
    }),
    { numRuns: 150 },
  );
});

test('proof sizes track log2 n and sizes outside the tree are refused', async () => {
  const log = await logOf(1000);
  assert.equal((await log.inclusionProof(0, 1000)).length, 10);
  // 1000 = 512+256+128+64+32+8: five siblings on the way down, three inside the last 8.
  assert.equal((await log.inclusionProof(999, 1000)).length, 8);
  await assert.rejects(log.inclusionProof(1000, 1000), { code: 'BAD_TREE_SIZE' });
  await assert.rejects(log.root(1001), { code: 'BAD_TREE_SIZE' });
  await assert.rejects(log.consistencyProof(5, 1001), { code: 'BAD_TREE_SIZE' });
  await assert.rejects(new MemoryHashStore().getNodes([{ level: 0, index: 0 }]), { code: 'LOG_NODE_MISSING' });
});
