/**
 * The store-backed build queue: demand in, jobs out to builders under
 * leases, results back. Each operation is one store transaction; the clock
 * and the randomness are injected. Priorities live in the jobs_queue index
 * and change only when a job's own demand or its package's cost changes
 * (scheduler.ts explains why decay needs no recomputation), so taking the
 * next job is an index descent, not a scan.
 */
import { hash, randomBytes } from 'node:crypto';
import type { DemandReply, Job, JobKind, JobResult, JobResultReply, JobSpec, JobState, LeaseRequest, QueueItem, QueueReply, RequestReply } from '../api/v1.js';
import { BinswarmError } from '../errors.js';
import { configKeyOf, type BuildConfig } from '../formats/build-config.js';
import { canonicalJson } from '../formats/canonical-json.js';
import { requireBuilder } from './operators.js';
import { checkAttestationForJob } from './scheduler-result.js';
import { contribution, DEFAULT_DECAY, expectedCost, KIND_WEIGHT, logPriority, pkgOf, priorityAt, demandAt, rescore, whyOf, type DecayOptions } from './scheduler.js';
import { queueAbiRebuilds } from './scheduler-abi.js';
import { assignPending, ensureVerify, specOf, type VerifyContext } from './scheduler-verify.js';
import type { DemandConfigRow } from './store/demand-store.js';
import type { JobRow, NewJob } from './store/scheduler-store.js';
import type { Store } from './store/types.js';

export type SchedulerErrorCode = 'LEASE_LOST' | 'BAD_RESULT' | 'NOT_ALLOWED';

export interface SchedulerSettings {
  /** Distinct operators that must agree before verification stops (the highest threshold any policy asks). */
  verifyTarget: number;
  /** Builders heartbeat this often; a lease not renewed within 3× expires. */
  heartbeatMs: number;
  decay: DecayOptions;
  /** A builder that has not leased or heartbeated for this long is not assigned verify jobs. */
  activeWindowMs: number;
  /** Failed attempts before a job is given up. */
  maxAttempts: number;
}

export const DEFAULT_SCHEDULER: SchedulerSettings = { verifyTarget: 3, heartbeatMs: 30_000, decay: DEFAULT_DECAY, activeWindowMs: 10 * 60_000, maxAttempts: 3 };

interface DemandItem {
  key: string;
  spec: JobSpec;
  config: BuildConfig | null;
}

const normSpec = (s: JobSpec): JobSpec => ({ ...s, use: [...new Set(s.use)].sort(), features: [...new Set(s.features)].sort(), ...(s.eclasses ? { eclasses: [...new Set(s.eclasses)].sort() } : {}) });

export class SchedulerQueue {
  readonly settings: SchedulerSettings;

  constructor(
    private readonly store: Store,
    settings: Partial<SchedulerSettings> = {},
    private readonly clock: () => number = Date.now,
    private readonly rng: () => number = Math.random,
  ) {
    this.settings = { ...DEFAULT_SCHEDULER, ...settings };
  }

  private ctx(now: number): VerifyContext {
    return { store: this.store, now, verifyTarget: this.settings.verifyTarget, activeWindowMs: this.settings.activeWindowMs, rng: this.rng };
  }

  private get s() {
    return this.store.scheduler;
  }

  /** Census: one peer's installed configs. A peer counts once per config however often it submits. */
  async submitDemand(peer: string, configs: BuildConfig[]): Promise<DemandReply> {
    const items = new Map<string, DemandItem>();
    for (const c of configs) {
      const key = configKeyOf(c);
      items.set(key, { key, spec: specOf(c), config: c });
    }
    const now = this.clock();
    const created = await this.s.tx(() => this.demand(peer, [...items.values()], now));
    return { accepted: items.size, jobsCreated: created };
  }

  /** One explicit configuration; a spec without ebuild/eclasses/eapi is keyed by the spec itself. */
  async submitRequest(peer: string, raw: JobSpec): Promise<RequestReply> {
    const now = this.clock();
    const spec = normSpec(raw);
    const complete = spec.ebuild !== undefined && spec.ebuild !== '' && spec.eclasses !== undefined && spec.eapi !== undefined;
    const config: BuildConfig | null = complete ? { v: 1, ...spec, ebuild: spec.ebuild!, eclasses: spec.eclasses!, eapi: spec.eapi!, depAbi: [] } : null;
    const key = config ? configKeyOf(config) : `request:${hash('sha256', canonicalJson(spec), 'hex')}`;
    return this.s.tx(async () => {
      await this.demand(peer, [{ key, spec, config }], now);
      const jobs = (await this.s.jobsFor(key, ['queued', 'leased', 'done', 'failed', 'refused'])).filter((j) => j.kind === 'build');
      const jobId = jobs.length ? String(jobs[jobs.length - 1]!.id) : null;
      return { ...(config ? { configKey: key } : {}), jobId, ...(jobId === null ? { attested: true } : {}) };
    });
  }

  /**
   * Records demand (inside the caller's transaction) with one batch read per
   * table, re-orders the jobs whose demand changed, queues build jobs for
   * configs nobody has built and verification for attested ones. Returns
   * the build jobs created.
   */
  private async demand(peer: string, items: DemandItem[], now: number): Promise<number> {
    const s = this.s;
    const keys = items.map((i) => i.key);
    const ds = this.store.demand;
    const [times, had, withJob] = [await ds.demandTimes(peer, keys), await ds.demandConfigs(keys), await ds.keysWithBuildJob(keys)];
    const costs = await ds.buildTimes([...new Set(items.map((i) => pkgOf(i.spec.cpv)))]);
    const attested = await ds.latestBuilds(items.filter((i) => i.config && !withJob.has(i.key)).map((i) => i.key));
    const logWeights = Object.fromEntries(Object.entries(KIND_WEIGHT).map(([k, w]) => [k, Math.log2(w)]));
    const verify = new Set<string>();
    const fresh: NewJob[] = [];
    const times2: [string, number][] = [];
    const rows: DemandConfigRow[] = [];
    const rescaled: [string, number][] = [];
    for (const item of items) {
      const pkg = pkgOf(item.spec.cpv);
      const cost = expectedCost(costs.get(pkg));
      const old = times.get(item.key);
      const d = had.get(item.key);
      let score = d?.score ?? -Infinity;
      if (old === undefined || old < now) {
        times2.push([item.key, now]);
        score = rescore(score, d && old !== undefined ? contribution(old, this.settings.decay) : undefined, contribution(now, this.settings.decay));
        rows.push({ configKey: item.key, cpv: item.spec.cpv, pkg, chost: item.spec.chost, spec: JSON.stringify(item.spec), config: item.config ? JSON.stringify(item.config) : null, score, peers: (d?.peers ?? 0) + (old === undefined ? 1 : 0), updatedAt: now });
        // This config's demand changed: re-order its open jobs, and only those.
        if (d) rescaled.push([item.key, score - Math.log2(cost)]);
      }
      if (withJob.has(item.key)) continue;
      const built = attested.get(item.key);
      if (built !== undefined) {
        verify.add(built);
        continue;
      }
      withJob.add(item.key);
      fresh.push({
        kind: 'build', demandKey: item.key, configKey: item.config ? item.key : null, buildKey: null, targetOutput: null, cpv: item.spec.cpv, pkg, chost: item.spec.chost,
        spec: JSON.stringify(item.spec), config: null, state: 'queued', pool: '', weight: KIND_WEIGHT.build, priority: logPriority(score, KIND_WEIGHT.build, cost), note: '', createdAt: now,
      });
    }
    await ds.upsertDemandTimes(peer, times2);
    await ds.upsertDemandConfigs(rows);
    await ds.reprioritiseMany(rescaled, logWeights);
    for (const b of verify) await ensureVerify(this.ctx(now), b);
    await s.insertJobs(fresh);
    return fresh.length;
  }

  /** Leases that ran out go back to the queue (verify jobs back to assignment). */
  private async expire(now: number): Promise<void> {
    for (const j of await this.s.expiredLeases(now)) {
      const note = `lease of builder ${j.holder?.slice(0, 12)} expired at ${new Date(j.leaseExpires ?? 0).toISOString()} (no heartbeat); back in the queue`;
      if (await this.s.updateJob(j.id, { state: 'queued', pool: j.kind === 'verify' ? '-' : '', holder: null, leaseId: null, leaseExpires: null, note, updatedAt: now }, 'leased')) {
        await this.s.endLease(j.leaseId!, now, 'expired');
      }
    }
  }

  /** The next job for this builder, or null. Only certified builders lease; verify jobs only reach the builder they were assigned to. */
  async lease(keyId: string, req: LeaseRequest): Promise<Job | null> {
    const now = this.clock();
    const id = await requireBuilder(this.store, keyId, now);
    return this.s.tx(async () => {
      await this.s.putBuilder({ keyId, operator: id.operator, chost: req.chost, backends: req.backends, lastSeen: now });
      await this.expire(now);
      await this.s.releaseStaleAssignments(now - this.settings.activeWindowMs, now);
      await assignPending(this.ctx(now), req.chost);
      const mine = await this.s.topQueued(keyId, req.chost);
      const open = await this.s.topQueued('', req.chost);
      const j = mine && (!open || mine.priority >= open.priority) ? mine : open;
      if (!j) return null;
      const leaseId = randomBytes(16).toString('hex');
      const expiresAt = now + 3 * this.settings.heartbeatMs;
      if (!(await this.s.updateJob(j.id, { state: 'leased', holder: keyId, leaseId, leaseExpires: expiresAt, attempts: j.attempts + 1, updatedAt: now }, 'queued'))) return null;
      await this.s.insertLease(leaseId, j.id, keyId, now);
      return {
        id: String(j.id), kind: j.kind as JobKind, spec: JSON.parse(j.spec) as JobSpec, ...(j.config ? { config: JSON.parse(j.config) as BuildConfig } : {}),
        ...(j.kind === 'verify' ? { target: { outputDigest: j.targetOutput!, buildKey: j.buildKey! } } : {}), ...(j.unlink ? { unlink: JSON.parse(j.unlink) as string[] } : {}), lease: { id: leaseId, expiresAt }, heartbeatMs: this.settings.heartbeatMs,
      };
    });
  }

  async heartbeat(keyId: string, jobId: number, leaseId: string): Promise<{ expiresAt: number }> {
    const now = this.clock();
    return this.s.tx(async () => {
      await this.expire(now);
      const j = await this.s.getJob(jobId);
      if (!j || j.state !== 'leased' || j.leaseId !== leaseId) throw new BinswarmError<SchedulerErrorCode>('LEASE_LOST', `job ${jobId}: this lease is gone (expired, or the job finished); stop working on it`);
      if (j.holder !== keyId) throw new BinswarmError<SchedulerErrorCode>('NOT_ALLOWED', 'this lease belongs to another builder');
      const expiresAt = now + 3 * this.settings.heartbeatMs;
      await this.s.updateJob(j.id, { leaseExpires: expiresAt, updatedAt: now });
      await this.s.touchBuilder(keyId, now);
      return { expiresAt };
    });
  }

  /** A builder's result. Idempotent: a repeated or late result is answered with the job's state and counted once. */
  async result(keyId: string, jobId: number, r: JobResult): Promise<JobResultReply> {
    const now = this.clock();
    return this.s.tx(async () => {
      await this.expire(now);
      const lease = await this.s.getLease(r.leaseId);
      if (!lease || lease.jobId !== jobId) throw new BinswarmError<SchedulerErrorCode>('LEASE_LOST', `job ${jobId} has no lease ${r.leaseId}`);
      if (lease.holder !== keyId) throw new BinswarmError<SchedulerErrorCode>('NOT_ALLOWED', 'this lease belongs to another builder');
      const j = (await this.s.getJob(jobId))!;
      const reply = (dup: boolean, job: JobRow): JobResultReply => ({ state: job.state as JobState, duplicate: dup, why: job.note || job.state });
      if (j.state === 'done' || j.state === 'failed' || j.state === 'refused') return reply(true, j);
      const current = j.state === 'leased' && j.leaseId === r.leaseId;
      // A late success still counts (the work is done and attested); a late failure says nothing new.
      if (!current && r.outcome !== 'built') return reply(true, j);
      const who = keyId.slice(0, 12);
      if (r.outcome === 'built') {
        const att = await checkAttestationForJob(this.store, j, keyId, r.attestation);
        const verdict = j.kind === 'verify' ? (att.outputDigest === j.targetOutput ? `verified by ${who}: same output` : `verified by ${who}: DIFFERENT output ${att.outputDigest.slice(0, 12)}`) : `built by ${who}: output ${att.outputDigest.slice(0, 12)}`;
        await this.s.updateJob(j.id, { state: 'done', holder: keyId, leaseId: r.leaseId, leaseExpires: null, attestation: att.id, configKey: att.configKey, buildKey: att.buildKey, note: verdict, updatedAt: now });
        if (j.leaseId && j.leaseId !== r.leaseId) await this.s.endLease(j.leaseId, now, 'superseded');
        await this.store.demand.addBuildTime(j.pkg, r.seconds);
        await this.reprice(j.pkg);
        await ensureVerify(this.ctx(now), att.buildKey);
        if (j.kind !== 'verify') await queueAbiRebuilds(this.store, { ...att, chost: j.chost, envelope: att.envelope }, now);
      } else if (r.outcome === 'refused') {
        await this.s.updateJob(j.id, { state: 'refused', leaseExpires: null, note: `refused by builder ${who}: ${r.reason ?? 'no reason given'}`, updatedAt: now });
      } else if (j.attempts < this.settings.maxAttempts) {
        await this.s.updateJob(j.id, { state: 'queued', pool: j.kind === 'verify' ? '-' : '', holder: null, leaseId: null, leaseExpires: null, note: `attempt ${j.attempts} failed on builder ${who}: ${r.reason ?? 'no reason given'}`, updatedAt: now });
      } else {
        await this.s.updateJob(j.id, { state: 'failed', leaseExpires: null, note: `failed ${j.attempts} times; last on builder ${who}: ${r.reason ?? 'no reason given'}`, updatedAt: now });
      }
      await this.s.endLease(r.leaseId, now, r.outcome);
      return reply(false, (await this.s.getJob(jobId))!);
    });
  }

  /** A package's expected cost changed: re-order its open jobs. */
  private async reprice(pkg: string): Promise<void> {
    const cost = expectedCost(await this.store.demand.buildTime(pkg));
    for (const j of await this.s.openJobsOfPkg(pkg)) await this.s.setPriority(j.id, logPriority(j.score ?? 0, j.weight, cost));
  }

  async queue(q: { state?: JobState; kind?: JobKind; cpv?: string; after?: number; limit?: number }): Promise<QueueReply> {
    const now = this.clock();
    await this.s.tx(() => this.expire(now));
    const limit = q.limit ?? 1000;
    const rows = await this.s.listJobs({ ...q, limit });
    const scores = new Map<string, number>();
    for (const j of rows) if (!scores.has(j.demandKey)) scores.set(j.demandKey, (await this.store.demand.demandConfig(j.demandKey))?.score ?? -Infinity);
    const d = this.settings.decay;
    const jobs = rows.map((j): QueueItem => {
      const demand = demandAt(scores.get(j.demandKey)!, now, d);
      return {
        id: String(j.id), kind: j.kind as JobKind, cpv: j.cpv, configKey: j.configKey, spec: JSON.parse(j.spec) as JobSpec, target: j.targetOutput ? { outputDigest: j.targetOutput, buildKey: j.buildKey! } : null,
        state: j.state as JobState, priority: priorityAt(j.priority, now, d), holder: j.holder, leaseExpiresAt: j.leaseExpires, attempts: j.attempts,
        why: whyOf({ kind: j.kind as JobKind, state: j.state as JobState, pool: j.pool, chost: j.chost, holder: j.holder, leaseExpiresAt: j.leaseExpires, note: j.note, demand }), createdAt: j.createdAt, updatedAt: j.updatedAt,
      };
    });
    return { jobs, next: rows.length === limit ? rows[rows.length - 1]!.id : null };
  }
}
