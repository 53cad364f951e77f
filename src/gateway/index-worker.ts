/**
 * Worker thread of a large sync: indexes entry bundles (indexLeaf, the
 * receipt-time order check, the CHOST filter) while the main thread fetches,
 * hashes and stores. Bundles arrive in log order; each reply names the rows
 * to keep, or the typed error that refuses the whole sync.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { indexLeaf, KIND, type IndexedLeaf } from './leaf-index.js';

export interface IndexJob {
  first: number;
  bytes: Uint8Array;
  lengths: number[];
}

export type IndexReply = { rows: { i: number; ix: IndexedLeaf }[]; lastTime: number } | { error: { code: string; message: string } };

const { chost } = workerData as { chost: string };
let lastTime = (workerData as { lastTime: number }).lastTime;

parentPort!.on('message', (job: IndexJob) => {
  const rows: { i: number; ix: IndexedLeaf }[] = [];
  let at = 0;
  for (let i = 0; i < job.lengths.length; i++) {
    const entry = job.bytes.subarray(at, at + job.lengths[i]!);
    at += job.lengths[i]!;
    const { logTime, ix } = indexLeaf(entry);
    if (logTime === undefined) return void parentPort!.postMessage({ error: { code: 'BAD_LEAF', message: `leaf ${job.first + i} is malformed (no logTime)` } } satisfies IndexReply);
    if (logTime < lastTime) {
      return void parentPort!.postMessage({ error: { code: 'LOG_TIME_BACKWARDS', message: `log time goes backwards: leaf ${job.first + i} says ${new Date(logTime).toISOString()}, after ${new Date(lastTime).toISOString()}` } } satisfies IndexReply);
    }
    lastTime = logTime;
    if (!ix || (ix.kind === KIND.attestation && ix.chost !== chost)) continue;
    rows.push({ i, ix });
  }
  parentPort!.postMessage({ rows, lastTime } satisfies IndexReply);
});
