/**
 * The scheduler's tables (migration 2): jobs with their leases, the builders
 * seen and output listings (demand and build times: demand-store.ts).
 * Plain SQL over either backend; the decisions are in scheduler.ts and
 * scheduler-queue.ts. Every call made inside `tx` joins that transaction.
 */
import type { OutputAbi } from '../../api/v1.js';
import { configsWithRefs, indexRequires, latestBuilds, type LatestBuild } from './abi-index.js';
import type { Db, Row } from './db.js';

export interface JobRow {
  id: number;
  kind: string;
  demandKey: string;
  configKey: string | null;
  buildKey: string | null;
  targetOutput: string | null;
  cpv: string;
  pkg: string;
  chost: string;
  spec: string;
  config: string | null;
  state: string;
  pool: string;
  weight: number;
  priority: number;
  holder: string | null;
  leaseId: string | null;
  leaseExpires: number | null;
  attempts: number;
  attestation: string | null;
  note: string;
  createdAt: number;
  updatedAt: number;
  /** abi-rebuild for a soname: JSON list of the sonames the rebuilt output must no longer link. */
  unlink: string | null;
}

export type NewJob = Omit<JobRow, 'id' | 'holder' | 'leaseId' | 'leaseExpires' | 'attempts' | 'attestation' | 'updatedAt' | 'unlink'> & { unlink?: string | null };

export interface BuilderRow {
  keyId: string;
  operator: string;
  chost: string;
  backends: string[];
  lastSeen: number;
}

export interface ListingRow {
  outputDigest: string;
  imageDigest: string;
  metadataDigest: string;
  image: string;
  metadata: string;
  uploader: string;
  time: number;
}

const n = (v: unknown) => Number(v);
const sn = (v: unknown) => (v === null || v === undefined ? null : String(v));
const nn = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function job(r: Row): JobRow {
  return {
    id: n(r.id), kind: String(r.kind), demandKey: String(r.demand_key), configKey: sn(r.config_key), buildKey: sn(r.build_key), targetOutput: sn(r.target_output),
    cpv: String(r.cpv), pkg: String(r.pkg), chost: String(r.chost), spec: String(r.spec), config: sn(r.config), state: String(r.state), pool: String(r.pool),
    weight: n(r.weight), priority: n(r.priority), holder: sn(r.holder), leaseId: sn(r.lease_id), leaseExpires: nn(r.lease_expires), attempts: n(r.attempts),
    attestation: sn(r.attestation), note: String(r.note), createdAt: n(r.created_at), updatedAt: n(r.updated_at), unlink: sn(r.unlink),
  };
}

const JOB_COLUMNS = ['kind', 'demand_key', 'config_key', 'build_key', 'target_output', 'cpv', 'pkg', 'chost', 'spec', 'config', 'state', 'pool', 'weight', 'priority', 'note', 'created_at', 'updated_at', 'unlink'];
const jobValues = (j: NewJob) => [j.kind, j.demandKey, j.configKey, j.buildKey, j.targetOutput, j.cpv, j.pkg, j.chost, j.spec, j.config, j.state, j.pool, j.weight, j.priority, j.note, j.createdAt, j.createdAt, j.unlink ?? null];

/** Columns a job update may set (camelCase → column). */
const SETTABLE: Record<string, string> = {
  state: 'state', pool: 'pool', priority: 'priority', holder: 'holder', leaseId: 'lease_id', leaseExpires: 'lease_expires', attempts: 'attempts',
  attestation: 'attestation', note: 'note', configKey: 'config_key', buildKey: 'build_key', updatedAt: 'updated_at',
};

export class SchedulerStore {
  constructor(private readonly db: Db) {}

  /** Runs fn in one transaction; store calls inside it join it. */
  tx<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.tx(() => fn());
  }

  // ---- jobs ----
  async insertJob(j: NewJob): Promise<number> {
    const rows = await this.db.all(`INSERT INTO jobs (${JOB_COLUMNS.join(', ')}) VALUES (${JOB_COLUMNS.map(() => '?').join(', ')}) RETURNING id`, jobValues(j));
    return n(rows[0]!.id);
  }

  /** Many jobs in multi-row inserts (census bursts, the benchmark's setup). */
  async insertJobs(jobs: NewJob[]): Promise<void> {
    const per = Math.floor(900 / JOB_COLUMNS.length);
    const one = `(${JOB_COLUMNS.map(() => '?').join(', ')})`;
    for (let at = 0; at < jobs.length; at += per) {
      const part = jobs.slice(at, at + per);
      await this.db.run(`INSERT INTO jobs (${JOB_COLUMNS.join(', ')}) VALUES ${part.map(() => one).join(', ')}`, part.flatMap(jobValues));
    }
  }

  async getJob(id: number): Promise<JobRow | undefined> {
    const r = (await this.db.all('SELECT * FROM jobs WHERE id = ?', [id]))[0];
    return r ? job(r) : undefined;
  }

  /** Sets fields of a job whose state is still `ifState` (when given); false if it was not. */
  async updateJob(id: number, set: Partial<JobRow>, ifState?: string): Promise<boolean> {
    const cols = Object.keys(set).filter((k) => SETTABLE[k]);
    const sql = `UPDATE jobs SET ${cols.map((k) => `${SETTABLE[k]} = ?`).join(', ')} WHERE id = ?${ifState ? ' AND state = ?' : ''}`;
    return (await this.db.run(sql, [...cols.map((k) => (set as Record<string, unknown>)[k]), id, ...(ifState ? [ifState] : [])])) === 1;
  }

  /** The highest-priority queued job in one pool for one CHOST: a descent of jobs_queue. */
  async topQueued(pool: string, chost: string): Promise<JobRow | undefined> {
    const r = (await this.db.all("SELECT * FROM jobs WHERE state = 'queued' AND pool = ? AND chost = ? ORDER BY priority DESC, id LIMIT 1", [pool, chost]))[0];
    return r ? job(r) : undefined;
  }

  /** Verify jobs for one CHOST waiting for assignment, best first (a jobs_queue descent). */
  async unassigned(chost: string, limit: number): Promise<JobRow[]> {
    return (await this.db.all("SELECT * FROM jobs WHERE state = 'queued' AND pool = '-' AND chost = ? ORDER BY priority DESC, id LIMIT ?", [chost, limit])).map(job);
  }

  async jobsFor(demandKey: string, states: string[]): Promise<JobRow[]> {
    return (await this.db.all(`SELECT * FROM jobs WHERE demand_key = ? AND state IN (${states.map(() => '?').join(', ')}) ORDER BY id`, [demandKey, ...states])).map(job);
  }

  async jobsOfBuild(buildKey: string, kind: string): Promise<JobRow[]> {
    return (await this.db.all('SELECT * FROM jobs WHERE build_key = ? AND kind = ? ORDER BY id', [buildKey, kind])).map(job);
  }

  /** Open jobs of one package with their demand scores (its expected cost changed). */
  async openJobsOfPkg(pkg: string): Promise<{ id: number; weight: number; score: number | null }[]> {
    const rows = await this.db.all("SELECT j.id, j.weight, d.score FROM jobs j LEFT JOIN demand_configs d ON d.config_key = j.demand_key WHERE j.pkg = ? AND j.state IN ('queued', 'leased')", [pkg]);
    return rows.map((r) => ({ id: n(r.id), weight: n(r.weight), score: nn(r.score) }));
  }

  async setPriority(id: number, priority: number): Promise<void> {
    await this.db.run('UPDATE jobs SET priority = ? WHERE id = ?', [priority, id]);
  }

  async expiredLeases(now: number, limit = 500): Promise<JobRow[]> {
    return (await this.db.all("SELECT * FROM jobs WHERE state = 'leased' AND lease_expires < ? ORDER BY lease_expires LIMIT ?", [now, limit])).map(job);
  }

  /** Queued jobs assigned to builders not seen since `since` go back to assignment. */
  async releaseStaleAssignments(since: number, now: number): Promise<number> {
    return this.db.run(
      "UPDATE jobs SET pool = '-', note = 'its assigned builder went quiet; reassigning', updated_at = ? WHERE state = 'queued' AND pool IN (SELECT key_id FROM builders WHERE last_seen < ?)",
      [now, since],
    );
  }

  async listJobs(q: { state?: string; kind?: string; cpv?: string; after?: number; limit?: number }): Promise<JobRow[]> {
    const where = ['id > ?'];
    const params: unknown[] = [q.after ?? 0];
    for (const [col, v] of [['state', q.state], ['kind', q.kind], ['cpv', q.cpv]] as const) {
      if (v !== undefined) {
        where.push(`${col} = ?`);
        params.push(v);
      }
    }
    params.push(Math.min(q.limit ?? 1000, 1000));
    return (await this.db.all(`SELECT * FROM jobs WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`, params)).map(job);
  }

  /** An attestation row by envelope id (with the envelope). */
  async attestation(id: string): Promise<{ id: string; signer: string; cpv: string; chost: string; buildKey: string; configKey: string; outputDigest: string; envelope: string } | undefined> {
    const r = (await this.db.all('SELECT id, signer, cpv, chost, build_key, config_key, output_digest, envelope FROM attestations WHERE id = ?', [id]))[0];
    return r ? { id: String(r.id), signer: String(r.signer), cpv: String(r.cpv), chost: String(r.chost), buildKey: String(r.build_key), configKey: String(r.config_key), outputDigest: String(r.output_digest), envelope: String(r.envelope) } : undefined;
  }

  // ---- leases ----
  async insertLease(id: string, jobId: number, holder: string, now: number): Promise<void> {
    await this.db.run('INSERT INTO leases (id, job_id, holder, started_at) VALUES (?, ?, ?, ?)', [id, jobId, holder, now]);
  }

  async getLease(id: string): Promise<{ id: string; jobId: number; holder: string; endedAt: number | null; outcome: string | null } | undefined> {
    const r = (await this.db.all('SELECT * FROM leases WHERE id = ?', [id]))[0];
    return r ? { id: String(r.id), jobId: n(r.job_id), holder: String(r.holder), endedAt: nn(r.ended_at), outcome: sn(r.outcome) } : undefined;
  }

  async endLease(id: string, now: number, outcome: string): Promise<void> {
    await this.db.run('UPDATE leases SET ended_at = ?, outcome = ? WHERE id = ? AND ended_at IS NULL', [now, outcome, id]);
  }

  // ---- builders ----
  async putBuilder(b: BuilderRow): Promise<void> {
    if ((await this.db.run('UPDATE builders SET operator = ?, chost = ?, backends = ?, last_seen = ? WHERE key_id = ?', [b.operator, b.chost, JSON.stringify(b.backends), b.lastSeen, b.keyId])) === 0) {
      await this.db.run('INSERT INTO builders (key_id, operator, chost, backends, last_seen) VALUES (?, ?, ?, ?, ?)', [b.keyId, b.operator, b.chost, JSON.stringify(b.backends), b.lastSeen]);
    }
  }

  async touchBuilder(keyId: string, now: number): Promise<void> {
    await this.db.run('UPDATE builders SET last_seen = ? WHERE key_id = ?', [now, keyId]);
  }

  /**
   * A random builder of `chost` seen since `since` whose operator is not
   * excluded: the first such key id at or after `pivot` (a random key id),
   * wrapping around. Key ids are hashes, so this is close to uniform, and it
   * costs an index descent plus the ineligible keys skipped — not a read of
   * every active builder.
   */
  async randomActiveBuilder(chost: string, since: number, excludedOperators: readonly string[], pivot: string): Promise<BuilderRow | undefined> {
    const notIn = excludedOperators.length ? ` AND operator NOT IN (${excludedOperators.map(() => '?').join(', ')})` : '';
    const pick = async (cmp: '>=' | '<') =>
      (await this.db.all(`SELECT * FROM builders WHERE chost = ? AND key_id ${cmp} ? AND last_seen >= ?${notIn} ORDER BY key_id LIMIT 1`, [chost, pivot, since, ...excludedOperators]))[0];
    const r = (await pick('>=')) ?? (await pick('<'));
    return r ? { keyId: String(r.key_id), operator: String(r.operator), chost: String(r.chost), backends: JSON.parse(String(r.backends)) as string[], lastSeen: n(r.last_seen) } : undefined;
  }

  async operatorOfBuilder(keyId: string): Promise<string | undefined> {
    const r = (await this.db.all('SELECT operator FROM builders WHERE key_id = ?', [keyId]))[0];
    return r ? String(r.operator) : undefined;
  }

  // ---- listings ----
  async putListing(l: ListingRow): Promise<boolean> {
    if ((await this.db.all('SELECT 1 FROM listings WHERE output_digest = ?', [l.outputDigest])).length > 0) return false;
    await this.db.run('INSERT INTO listings (output_digest, image_digest, metadata_digest, image, metadata, uploader, time) VALUES (?, ?, ?, ?, ?, ?, ?)', [l.outputDigest, l.imageDigest, l.metadataDigest, l.image, l.metadata, l.uploader, l.time]);
    return true;
  }

  async listing(outputDigest: string): Promise<ListingRow | undefined> {
    const r = (await this.db.all('SELECT * FROM listings WHERE output_digest = ?', [outputDigest]))[0];
    return r
      ? { outputDigest: String(r.output_digest), imageDigest: String(r.image_digest), metadataDigest: String(r.metadata_digest), image: String(r.image), metadata: String(r.metadata), uploader: String(r.uploader), time: n(r.time) }
      : undefined;
  }

  // ---- output ABI (issue 14) ----
  /** First upload wins; its REQUIRES go into the reverse-dependency index (abi-index.ts), in one transaction. */
  async putAbi(outputDigest: string, abi: OutputAbi): Promise<void> {
    await this.db.tx(async (db) => {
      if ((await db.all('SELECT 1 FROM output_abi WHERE output_digest = ?', [outputDigest])).length > 0) return;
      await db.run('INSERT INTO output_abi (output_digest, slot, provides, requires) VALUES (?, ?, ?, ?)', [outputDigest, abi.slot, JSON.stringify(abi.provides), JSON.stringify(abi.requires)]);
      await indexRequires(db, outputDigest, abi.requires);
    });
  }

  /** Configurations with a build indexed under any of these keys (abi-index.ts). */
  configsWithRefs(chost: string, refs: readonly string[]): Promise<string[]> {
    return configsWithRefs(this.db, chost, refs);
  }

  /** The latest build (highest binrev) of each configuration, with its ABI data. */
  latestBuilds(configKeys: readonly string[]): Promise<LatestBuild[]> {
    return latestBuilds(this.db, configKeys);
  }

  async abiOf(outputDigest: string): Promise<OutputAbi | undefined> {
    const r = (await this.db.all('SELECT * FROM output_abi WHERE output_digest = ?', [outputDigest]))[0];
    return r ? { slot: String(r.slot), provides: JSON.parse(String(r.provides)) as string[], requires: JSON.parse(String(r.requires)) as string[] } : undefined;
  }
}
