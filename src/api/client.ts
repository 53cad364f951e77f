/** A typed client for the coordinator API (api/v1.ts); signs every write with the caller's key. */
import { BinswarmError } from '../errors.js';
import type { OutputMetadata } from '../formats/output-metadata.js';
import type { Envelope } from '../trust/dsse.js';
import type { PrivateKey } from '../trust/keys.js';
import { signRequest } from '../trust/request-signing.js';
import type { BuildConfig } from '../formats/build-config.js';
import {
  MAX_BATCH,
  MAX_DEMAND,
  MAX_METADATA_BATCH,
  type ArchiveReply,
  type AssignmentsReply,
  type AttestationAccepted,
  type BatchResult,
  type DashboardReply,
  type DemandReply,
  type DisputeExplanation,
  type DisputeReply,
  type Info,
  type Job,
  type JobKind,
  type JobResult,
  type JobResultReply,
  type JobSpec,
  type JobState,
  type LeaseRequest,
  type ListingAccepted,
  type ListingUpload,
  type Logged,
  type PackagesReply,
  type Page,
  type PlacementReply,
  type QueueItem,
  type QueueReply,
  type RequestReply,
  type SignedEntry,
} from './v1.js';

export type ClientErrorCode = 'COORDINATOR_UNREACHABLE' | 'COORDINATOR_ERROR';

export class CoordinatorClient {
  readonly base: string;
  /** HTTP requests made (benchmarks and tests count them). */
  requests = 0;

  constructor(base: string, private readonly key?: PrivateKey, private readonly timeoutMs = 30_000) {
    this.base = base.replace(/\/+$/, '');
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown, accept: 'json' | 'text' = 'json'): Promise<T> {
    const bytes = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = {};
    if (method === 'POST') {
      if (!this.key) throw new BinswarmError('UNSIGNED', 'a key is needed to change state on the coordinator');
      Object.assign(headers, signRequest(this.key, method, path, bytes), { 'content-type': 'application/json' });
    }
    let res: Response;
    this.requests += 1;
    try {
      res = await fetch(this.base + path, { method, headers, body: method === 'POST' ? bytes : undefined, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      throw new BinswarmError<ClientErrorCode>('COORDINATOR_UNREACHABLE', `cannot reach the coordinator at ${this.base}: ${(e as Error).message}`, { cause: e });
    }
    if (!res.ok) {
      const err = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
      throw new BinswarmError(err?.error?.code ?? 'COORDINATOR_ERROR', `${method} ${path}: ${res.status} ${err?.error?.message ?? res.statusText}`);
    }
    return (accept === 'text' ? await res.text() : await res.json()) as T;
  }

  info(): Promise<Info> {
    return this.request('GET', '/v1/info');
  }
  /** Registers or refreshes this peer; `served` is its served-bytes counter (the dashboard sums the latest of each peer). */
  registerPeer(p: { roles: string[]; url?: string; capacity?: number; failureDomain?: string; served?: number }): Promise<{ keyId: string }> {
    return this.request('POST', '/v1/peers', p);
  }
  dashboard(limit?: number): Promise<DashboardReply> {
    return this.request('GET', `/v1/dashboard${limit ? `?limit=${limit}` : ''}`);
  }
  submitCertificate(env: Envelope): Promise<Logged> {
    return this.request('POST', '/v1/certificates', env);
  }
  submitRevocation(env: Envelope): Promise<Logged> {
    return this.request('POST', '/v1/revocations', env);
  }
  submitAttestation(env: Envelope): Promise<AttestationAccepted> {
    return this.request('POST', '/v1/attestations', env);
  }
  /** Any number of attestations, MAX_BATCH per request; results in the same order. */
  async submitAttestations(envs: readonly Envelope[]): Promise<BatchResult[]> {
    const out: BatchResult[] = [];
    for (let at = 0; at < envs.length; at += MAX_BATCH) {
      const r = await this.request<{ results: BatchResult[] }>('POST', '/v1/attestations/batch', { envelopes: envs.slice(at, at + MAX_BATCH) });
      out.push(...r.results);
    }
    return out;
  }
  /** I hold this archive (partial: still downloading; gone: not any more). */
  announceHolder(sha256: string, url: string, opts: { partial?: boolean; gone?: boolean } = {}): Promise<unknown> {
    return this.request('POST', `/v1/archives/${sha256}/holders`, { url, ...(opts.partial ? { partial: true } : {}), ...(opts.gone ? { gone: true } : {}) });
  }
  placement(): Promise<PlacementReply> {
    return this.request('GET', '/v1/placement');
  }
  assignments(peer: string): Promise<AssignmentsReply> {
    return this.request('GET', `/v1/mirrors/${peer}/assignments`);
  }
  reportHolder(sha256: string, peer: string, reason: string): Promise<unknown> {
    return this.request('POST', `/v1/archives/${sha256}/reports`, { peer, reason: reason.slice(0, 500) });
  }
  async archive(sha256: string): Promise<ArchiveReply | undefined> {
    try {
      return await this.request<ArchiveReply>('GET', `/v1/archives/${sha256}`);
    } catch (e) {
      if ((e as BinswarmError).code === 'NOT_FOUND') return undefined;
      throw e;
    }
  }
  async packages(q: { cpv?: string; chost?: string; configKey?: string }): Promise<PackagesReply['packages']> {
    const out: PackagesReply['packages'] = [];
    let after = -1;
    for (;;) {
      const qs = new URLSearchParams({ ...Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)), after: String(after), limit: '1000' });
      const page = await this.request<PackagesReply>('GET', `/v1/packages?${qs}`);
      // Groups may span pages: merge by buildKey.
      for (const g of page.packages) {
        const have = out.find((o) => o.buildKey === g.buildKey);
        if (have) have.attestations.push(...g.attestations);
        else out.push(g);
      }
      if (page.next === null) return out;
      after = page.next;
    }
  }
  private async all(path: string): Promise<SignedEntry[]> {
    const out: SignedEntry[] = [];
    let after = -1;
    for (;;) {
      const page = await this.request<Page<SignedEntry>>('GET', `${path}?after=${after}&limit=1000`);
      out.push(...page.items);
      if (page.next === null) return out;
      after = page.next;
    }
  }
  certificates(): Promise<SignedEntry[]> {
    return this.all('/v1/certificates');
  }
  revocations(): Promise<SignedEntry[]> {
    return this.all('/v1/revocations');
  }
  async disputes(): Promise<DisputeReply[]> {
    return (await this.request<{ items: DisputeReply[] }>('GET', '/v1/disputes')).items;
  }
  submitCosignature(size: number, name: string, cosignature: string): Promise<{ size: number; witnesses: number }> {
    return this.request('POST', '/v1/log/cosignatures', { size, name, cosignature });
  }
  submitOutputMetadata(outputDigest: string, sheet: OutputMetadata): Promise<{ stored: boolean }> {
    return this.request('POST', `/v1/outputs/${outputDigest}/metadata`, sheet);
  }
  async outputMetadata(outputDigest: string): Promise<unknown | undefined> {
    try {
      return await this.request<unknown>('GET', `/v1/outputs/${outputDigest}/metadata`);
    } catch (e) {
      if ((e as BinswarmError).code === 'NOT_FOUND') return undefined;
      throw e;
    }
  }
  /** Sheets of many outputs (MAX_METADATA_BATCH per request); unverified: check each against its outputDigest. */
  async outputMetadataBatch(digests: readonly string[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    for (let at = 0; at < digests.length; at += MAX_METADATA_BATCH) {
      const part = digests.slice(at, at + MAX_METADATA_BATCH);
      const r = await this.request<{ items: Record<string, unknown> }>('GET', `/v1/outputs/metadata?digests=${part.join(',')}`).catch((e: BinswarmError): { items: Record<string, unknown> } => {
        if (e.code === 'NOT_FOUND') return { items: {} };
        throw e;
      });
      for (const d of part) if (r.items && Object.hasOwn(r.items, d)) out.set(d, r.items[d]);
    }
    return out;
  }
  /** Census: any number of configs, MAX_DEMAND per request. */
  async submitDemand(configs: readonly BuildConfig[]): Promise<DemandReply> {
    const total: DemandReply = { accepted: 0, jobsCreated: 0 };
    for (let at = 0; at < configs.length; at += MAX_DEMAND) {
      const r = await this.request<DemandReply>('POST', '/v1/demand', { configs: configs.slice(at, at + MAX_DEMAND) });
      total.accepted += r.accepted;
      total.jobsCreated += r.jobsCreated;
    }
    return total;
  }
  submitRequest(spec: JobSpec): Promise<RequestReply> {
    return this.request('POST', '/v1/requests', { spec });
  }
  /** The next job for this builder, or null when there is none it may do. */
  async leaseJob(req: LeaseRequest): Promise<Job | null> {
    return (await this.request<{ job: Job | null }>('POST', '/v1/jobs/lease', req)).job;
  }
  /** Throws BinswarmError LEASE_LOST when the lease is gone (stop working on the job). */
  heartbeat(jobId: string, leaseId: string): Promise<{ expiresAt: number }> {
    return this.request('POST', `/v1/jobs/${jobId}/heartbeat`, { leaseId });
  }
  reportResult(jobId: string, result: JobResult): Promise<JobResultReply> {
    return this.request('POST', `/v1/jobs/${jobId}/result`, result);
  }
  /** All jobs matching the filter (paged through). */
  async queue(q: { state?: JobState; kind?: JobKind; cpv?: string } = {}): Promise<QueueItem[]> {
    const out: QueueItem[] = [];
    let after: number | null = 0;
    while (after !== null) {
      const qs = new URLSearchParams({ ...Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)), after: String(after), limit: '1000' });
      const page: QueueReply = await this.request<QueueReply>('GET', `/v1/queue?${qs}`);
      out.push(...page.jobs);
      after = page.next;
    }
    return out;
  }
  uploadListing(outputDigest: string, listing: ListingUpload): Promise<ListingAccepted> {
    return this.request('POST', `/v1/outputs/${outputDigest}/listing`, listing);
  }
  explainDispute(buildKey: string): Promise<DisputeExplanation> {
    return this.request('GET', `/v1/disputes/${buildKey}/explain`);
  }
  checkpoint(): Promise<string> {
    return this.request('GET', '/v1/log/checkpoint', undefined, 'text');
  }
  async inclusionProof(index: number, size: number): Promise<Buffer[]> {
    return (await this.request<{ proof: string[] }>('GET', `/v1/log/inclusion?index=${index}&size=${size}`)).proof.map((h) => Buffer.from(h, 'hex'));
  }
  async consistencyProof(from: number, to: number): Promise<Buffer[]> {
    return (await this.request<{ proof: string[] }>('GET', `/v1/log/consistency?from=${from}&to=${to}`)).proof.map((h) => Buffer.from(h, 'hex'));
  }
}
