/**
 * The builder's job loop: lease a job, keep the lease alive while the
 * backend builds (a lost lease cancels the build), inspect the result with
 * the formats library, refuse anything that is not exactly the demanded
 * configuration, attest it (`build`, or `verify` for an assigned
 * re-build), offer the archive from the node's blob store, upload the
 * canonical listings a dispute would be explained from, and report.
 *
 * The builder trusts its backend no more than a peer: what it attests is
 * what inspection of the archive says, never what the backend claims. Nor
 * does it trust the job: compiler flags that could run code or read files
 * on the builder are refused (flag-policy.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CoordinatorClient } from '../api/client.js';
import type { Job, JobResult, OutputAbi } from '../api/v1.js';
import { isBinswarmError } from '../errors.js';
import { inspectPackage } from '../formats/inspect.js';
import { linksFromRequires } from '../formats/digests.js';
import { pieceRootOfFile } from '../transfer/pieces.js';
import type { PrivateKey } from '../trust/keys.js';
import { signAttestation } from '../trust/statements.js';
import { refuse, type BuildBackend } from './backend.js';
import { configMismatch } from './config-check.js';
import { unsafeFlag } from './flag-policy.js';

/** Where built archives go so that others can fetch them (the node's blob store and its URL). */
export interface ArchiveSink {
  publicUrl: string;
  /** Copy the file into the store, checking it has this sha256 and size. */
  store(path: string, expected: { sha256: string; size: number }): Promise<void>;
}

export interface BuilderOptions {
  client: CoordinatorClient;
  key: PrivateKey;
  backend: BuildBackend;
  sink: ArchiveSink;
  /** Jobs get their own directory under this one, removed afterwards. */
  buildDir: string;
  /** Heartbeat interval; default: what the coordinator asks for with each job. */
  heartbeatMs?: number;
  /** How long to wait before asking again when there is no job. */
  pollMs?: number;
  now?: () => Date;
  onEvent?: (e: BuilderEvent) => void;
}

export type BuilderEvent =
  | { event: 'leased'; job: string; kind: Job['kind']; cpv: string; use: string[] }
  | { event: 'log'; job: string; line: string }
  | { event: 'built'; job: string; cpv: string; kind: 'build' | 'verify'; outputDigest: string; archive: string; seconds: number; dispute?: string[] }
  | { event: 'failed' | 'refused'; job: string; cpv: string; reason: string; seconds: number }
  | { event: 'lease-lost'; job: string; cpv: string; reason: string }
  | { event: 'error'; message: string };

export type JobReport = { outcome: JobResult['outcome']; reason?: string; outputDigest?: string } | { outcome: 'cancelled'; reason: string };

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Keeps the lease alive; aborts `lost` when the coordinator says it is gone or it has run out. */
function keepLease(job: Job, opts: BuilderOptions, lost: AbortController): () => void {
  const now = opts.now ?? (() => new Date());
  let expiresAt = job.lease.expiresAt;
  let stopped = false;
  const every = Math.max(50, opts.heartbeatMs ?? job.heartbeatMs);
  let timer: NodeJS.Timeout;
  const beat = async () => {
    try {
      expiresAt = (await opts.client.heartbeat(job.id, job.lease.id)).expiresAt;
    } catch (e) {
      if (isBinswarmError(e) && e.code === 'LEASE_LOST') return lost.abort(new Error('the coordinator gave the lease up'));
      // Unreachable coordinator: keep building while the lease may still hold.
      if (now().getTime() > expiresAt) return lost.abort(new Error(`no heartbeat got through before the lease expired (${(e as Error).message})`));
    }
    if (!stopped) timer = setTimeout(() => void beat(), every);
  };
  timer = setTimeout(() => void beat(), every);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** Builds one leased job to the end: attested and reported, or reported failed/refused, or cancelled (lease lost, stopping). */
export async function runJob(job: Job, opts: BuilderOptions, stopping: AbortSignal): Promise<JobReport> {
  const now = opts.now ?? (() => new Date());
  const emit = opts.onEvent ?? (() => undefined);
  const started = now().getTime();
  const seconds = () => Math.max(0, (now().getTime() - started) / 1000);
  const lost = new AbortController();
  const signal = AbortSignal.any([lost.signal, stopping]);
  const stopBeating = keepLease(job, opts, lost);
  // Absolute: backends change directories, and a relative --build-dir would then point elsewhere.
  const workDir = resolve(opts.buildDir, `job-${job.id}-${randomBytes(4).toString('hex')}`);
  const report = async (result: Omit<JobResult, 'leaseId' | 'seconds'>): Promise<void> => {
    await opts.client.reportResult(job.id, { leaseId: job.lease.id, seconds: Math.round(seconds() * 1000) / 1000, ...result });
  };
  try {
    await mkdir(workDir, { recursive: true });
    let built;
    try {
      const bad = unsafeFlag(job.spec);
      if (bad) throw refuse(`${bad.variable} flag ${bad.flag} is not accepted by this builder (it could run code or read files on it)`, job.spec.cpv);
      built = await opts.backend.build({ spec: job.spec, workDir, signal, onLog: (line) => emit({ event: 'log', job: job.id, line }) });
    } catch (e) {
      if (signal.aborted) throw e;
      if (isBinswarmError(e) && e.code === 'BUILD_REFUSED') {
        emit({ event: 'refused', job: job.id, cpv: job.spec.cpv, reason: e.message, seconds: seconds() });
        await report({ outcome: 'refused', reason: e.message });
        return { outcome: 'refused', reason: e.message };
      }
      throw e;
    }
    signal.throwIfAborted();
    const info = await inspectPackage(built.path, { listings: true, signal });
    const mismatch = configMismatch(job, info.buildConfig);
    if (mismatch) {
      // Never attest a build that is not the one asked for.
      const reason = `the backend built another configuration than the job's: ${mismatch}`;
      emit({ event: 'refused', job: job.id, cpv: job.spec.cpv, reason, seconds: seconds() });
      await report({ outcome: 'refused', reason });
      return { outcome: 'refused', reason };
    }
    const kind = job.kind === 'verify' ? 'verify' : 'build';
    const archive = { sha256: info.archive.sha256, size: info.archive.size, pieceRoot: await pieceRootOfFile(built.path, { signal }) };
    const envelope = signAttestation({ kind, buildConfig: info.buildConfig, outputDigest: info.outputDigest, archive, time: now() }, opts.key);
    signal.throwIfAborted();
    const accepted = await opts.client.submitAttestation(envelope);
    await opts.sink.store(built.path, { sha256: archive.sha256, size: archive.size });
    await opts.client.announceHolder(archive.sha256, opts.sink.publicUrl);
    if (info.listings) await opts.client.uploadListing(info.outputDigest, { ...info.listings, abi: abiOf(info.metadata) });
    // Lets gateways list this output before anyone downloads it; checked there against outputDigest.
    await opts.client.submitOutputMetadata(info.outputDigest, info.outputMetadata);
    emit({ event: 'built', job: job.id, cpv: info.cpv, kind, outputDigest: info.outputDigest, archive: archive.sha256, seconds: seconds(), ...(accepted.dispute ? { dispute: accepted.dispute.outputDigests } : {}) });
    await report({ outcome: 'built', attestation: accepted.id });
    return { outcome: 'built', outputDigest: info.outputDigest };
  } catch (e) {
    if (signal.aborted) {
      const reason = (signal.reason as Error | undefined)?.message ?? 'cancelled';
      if (lost.signal.aborted) emit({ event: 'lease-lost', job: job.id, cpv: job.spec.cpv, reason });
      // No report: a lost lease is no longer ours, and a stopping builder's
      // lease simply expires so that another builder takes the job.
      return { outcome: 'cancelled', reason };
    }
    const reason = (e as Error).message;
    emit({ event: 'failed', job: job.id, cpv: job.spec.cpv, reason, seconds: seconds() });
    await report({ outcome: 'failed', reason: reason.slice(0, 2000) }).catch((err) => emit({ event: 'error', message: `cannot report job ${job.id}: ${(err as Error).message}` }));
    return { outcome: 'failed', reason };
  } finally {
    stopBeating();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** SLOT and sonames for the coordinator's ABI-rebuild planning; Portage's PROVIDES/REQUIRES read `category: soname … [category: …]`. */
export function abiOf(md: { slot: string; subslot: string; provides: string; requires: string }): OutputAbi {
  return { slot: md.slot === md.subslot ? md.slot : `${md.slot}/${md.subslot}`, provides: linksFromRequires(md.provides), requires: linksFromRequires(md.requires) };
}

/** Leases and builds jobs, `slots` at a time, until `stopping` is aborted. */
export async function runBuilder(opts: BuilderOptions, stopping: AbortSignal, slots = 1): Promise<void> {
  const emit = opts.onEvent ?? (() => undefined);
  const worker = async () => {
    while (!stopping.aborted) {
      let job: Job | null;
      try {
        job = await opts.client.leaseJob({ backends: [opts.backend.name], chost: opts.backend.chost });
      } catch (e) {
        emit({ event: 'error', message: `lease: ${(e as Error).message}` });
        await abortableSleep(opts.pollMs ?? 5000, stopping);
        continue;
      }
      if (!job) {
        await abortableSleep(opts.pollMs ?? 5000, stopping);
        continue;
      }
      emit({ event: 'leased', job: job.id, kind: job.kind, cpv: job.spec.cpv, use: job.spec.use });
      try {
        await runJob(job, opts, stopping);
      } catch (e) {
        emit({ event: 'error', message: `job ${job.id}: ${(e as Error).message}` });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, slots) }, worker));
}
