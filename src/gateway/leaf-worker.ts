/**
 * Thread of the attestation pool: opens a chunk of attestation leaves
 * (openLeaf: parse, schema, buildKey, signature) and answers one verdict per
 * leaf, so the calling thread only reads rows and evaluates.
 */
import { parentPort } from 'node:worker_threads';
import { openLeaf, type LeafVerdict } from './open-leaf.js';

export interface LeafChunk {
  id: number;
  bytes: ArrayBuffer;
  lengths: Uint32Array;
  /** 1: verify the signature; 0: verified before, check everything else. */
  verify: Uint8Array;
}

export interface LeafReply {
  id: number;
  verdicts?: LeafVerdict[];
  /** An unexpected (non-typed) failure: the whole chunk is refused with it. */
  failure?: string;
}

parentPort!.on('message', (job: LeafChunk) => {
  const all = new Uint8Array(job.bytes);
  const verdicts: LeafVerdict[] = [];
  let at = 0;
  try {
    for (let i = 0; i < job.lengths.length; i++) {
      verdicts.push(openLeaf(all.subarray(at, at + job.lengths[i]!), job.verify[i] === 1));
      at += job.lengths[i]!;
    }
  } catch (e) {
    return void parentPort!.postMessage({ id: job.id, failure: (e as Error).stack ?? String(e) } satisfies LeafReply);
  }
  parentPort!.postMessage({ id: job.id, verdicts } satisfies LeafReply);
});
