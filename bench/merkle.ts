/**
 * `merkle` case: append 1M leaves to the log (in batches, as the coordinator
 * does) and time inclusion + consistency proofs at growing sizes: proof time
 * should grow with log2 n, not n. Baseline: raw sha256 of leaf-sized inputs.
 */
import { createHash } from 'node:crypto';
import { MemoryHashStore } from '../src/log/hash-store.js';
import { MerkleLog } from '../src/log/log.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../src/log/merkle.js';
import type { BenchResult } from './run.js';

export default async function merkleBench(): Promise<BenchResult> {
  const total = Number(process.env.BENCH_MERKLE_LEAVES ?? 1_000_000);
  const leaf = (i: number) => Buffer.from(`{"type":"attestation","n":${i}}`);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 200_000; i++) createHash('sha256').update(leaf(i)).digest();
  const shaRate = 200_000 / (Number(process.hrtime.bigint() - t0) / 1e9);

  const log = new MerkleLog(new MemoryHashStore());
  const lines: string[] = [];
  const checkpoints = [1_000, 10_000, 100_000, 1_000_000].filter((s) => s <= total);
  let appended = 0;
  let appendSeconds = 0;
  const rows: string[] = [];
  for (const target of checkpoints) {
    const a0 = process.hrtime.bigint();
    while (appended < target) {
      const n = Math.min(1000, target - appended);
      await log.appendLeaves(Array.from({ length: n }, (_, j) => leaf(appended + j)));
      appended += n;
    }
    appendSeconds += Number(process.hrtime.bigint() - a0) / 1e9;
    const root = await log.root();
    const reps = 200;
    const p0 = process.hrtime.bigint();
    for (let r = 0; r < reps; r++) {
      const index = (r * 7919) % target;
      const proof = await log.inclusionProof(index, target);
      verifyInclusion(index, target, leafHash(leaf(index)), proof, root);
      const m = 1 + ((r * 104729) % (target - 1));
      verifyConsistency(m, target, await log.root(m), root, await log.consistencyProof(m, target));
    }
    const us = Number(process.hrtime.bigint() - p0) / 1e3 / reps;
    rows.push(`size ${String(target).padStart(9)}: inclusion+consistency proof, generate+verify ${us.toFixed(0).padStart(5)} µs  (${(us / Math.log2(target)).toFixed(1)} µs per log2 n)`);
  }
  const appendRate = appended / appendSeconds;
  lines.push(`appended ${appended} leaves at ${appendRate.toFixed(0)}/s (raw sha256 of one leaf: ${shaRate.toFixed(0)}/s; an append hashes ~2 nodes per leaf)`);
  lines.push(...rows);
  return { name: 'merkle', lines, ratios: { 'leaves appended vs raw sha256 per second': appendRate / shaRate } };
}
