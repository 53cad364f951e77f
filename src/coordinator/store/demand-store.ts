/**
 * Demand and build times (migration 2): who asked for which config (one row
 * per peer and config: a peer counts once), the decayed score per config,
 * and past build seconds per package. Census-sized batches read each table
 * once and write with multi-row statements.
 */
import type { Db, Row } from './db.js';

export interface DemandConfigRow {
  configKey: string;
  cpv: string;
  pkg: string;
  chost: string;
  /** JobSpec JSON. */
  spec: string;
  /** BuildConfig JSON when the demander sent a full one (census). */
  config: string | null;
  /** log2 forward-decayed distinct-peer count (scheduler.ts). */
  score: number;
  peers: number;
  updatedAt: number;
}

const n = (v: unknown) => Number(v);
const sn = (v: unknown) => (v === null || v === undefined ? null : String(v));

/** Runs `query` over `keys` in chunks (bounded IN lists) and concatenates the rows. */
async function inChunks(db: Db, keys: readonly string[], query: (marks: string) => string, pre: unknown[] = []): Promise<Row[]> {
  const out: Row[] = [];
  for (let at = 0; at < keys.length; at += 500) {
    const part = keys.slice(at, at + 500);
    out.push(...(await db.all(query(part.map(() => '?').join(', ')), [...pre, ...part])));
  }
  return out;
}

function demandConfig(r: Row): DemandConfigRow {
  return { configKey: String(r.config_key), cpv: String(r.cpv), pkg: String(r.pkg), chost: String(r.chost), spec: String(r.spec), config: sn(r.config), score: n(r.score), peers: n(r.peers), updatedAt: n(r.updated_at) };
}

export class DemandStore {
  constructor(private readonly db: Db) {}

  async demandConfig(key: string): Promise<DemandConfigRow | undefined> {
    const r = (await this.db.all('SELECT * FROM demand_configs WHERE config_key = ?', [key]))[0];
    return r ? demandConfig(r) : undefined;
  }

  // Batch reads for a census (thousands of configs): one query per table, not one per config.
  async demandTimes(peer: string, keys: readonly string[]): Promise<Map<string, number>> {
    const rows = await inChunks(this.db, keys, (m) => `SELECT config_key, time FROM demand WHERE peer = ? AND config_key IN (${m})`, [peer]);
    return new Map(rows.map((r) => [String(r.config_key), n(r.time)]));
  }

  async demandConfigs(keys: readonly string[]): Promise<Map<string, DemandConfigRow>> {
    return new Map((await inChunks(this.db, keys, (m) => `SELECT * FROM demand_configs WHERE config_key IN (${m})`)).map((r) => [String(r.config_key), demandConfig(r)]));
  }

  async buildTimes(pkgs: readonly string[]): Promise<Map<string, { seconds: number; builds: number }>> {
    return new Map((await inChunks(this.db, pkgs, (m) => `SELECT pkg, seconds, builds FROM build_times WHERE pkg IN (${m})`)).map((r) => [String(r.pkg), { seconds: n(r.seconds), builds: n(r.builds) }]));
  }

  /** Demand keys that already have a build job (in any state). */
  async keysWithBuildJob(keys: readonly string[]): Promise<Set<string>> {
    return new Set((await inChunks(this.db, keys, (m) => `SELECT demand_key FROM jobs WHERE demand_key IN (${m}) AND kind = 'build'`)).map((r) => String(r.demand_key)));
  }

  /** Per configKey that has attestations: its latest buildKey (log order). */
  async latestBuilds(configKeys: readonly string[]): Promise<Map<string, string>> {
    const rows = await inChunks(this.db, configKeys, (m) => `SELECT config_key, build_key, log_index FROM attestations WHERE config_key IN (${m}) ORDER BY log_index`);
    return new Map(rows.map((r) => [String(r.config_key), String(r.build_key)]));
  }

  // Batch writes for a census: a few multi-row statements instead of several per config.
  async upsertDemandTimes(peer: string, rows: [key: string, time: number][]): Promise<void> {
    for (let at = 0; at < rows.length; at += 300) {
      const part = rows.slice(at, at + 300);
      await this.db.run(
        `INSERT INTO demand (peer, config_key, time) VALUES ${part.map(() => '(?, ?, ?)').join(', ')} ON CONFLICT (peer, config_key) DO UPDATE SET time = excluded.time`,
        part.flatMap(([k, t]) => [peer, k, t]),
      );
    }
  }

  async upsertDemandConfigs(rows: DemandConfigRow[]): Promise<void> {
    for (let at = 0; at < rows.length; at += 100) {
      const part = rows.slice(at, at + 100);
      await this.db.run(
        `INSERT INTO demand_configs (config_key, cpv, pkg, chost, spec, config, score, peers, updated_at) VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
         ON CONFLICT (config_key) DO UPDATE SET score = excluded.score, peers = excluded.peers, updated_at = excluded.updated_at, config = COALESCE(demand_configs.config, excluded.config)`,
        part.flatMap((d) => [d.configKey, d.cpv, d.pkg, d.chost, d.spec, d.config, d.score, d.peers, d.updatedAt]),
      );
    }
  }

  /** Re-prioritises the open jobs of demand keys whose demand changed: priority = logScale + log2(kind weight) (one statement per 200 keys). */
  async reprioritiseMany(rows: [key: string, logScale: number][], logWeights: Record<string, number>): Promise<void> {
    const kinds = Object.entries(logWeights);
    const kindCase = `CASE kind ${kinds.map(() => 'WHEN ? THEN CAST(? AS DOUBLE PRECISION)').join(' ')} ELSE 0 END`;
    // SQLite runs a cached one-row statement fastest (measured: 3-5x a CASE over 200 keys);
    // PostgreSQL pays a round trip per statement, so it gets 200 keys per statement.
    if (this.db.kind === 'sqlite') {
      const sql = `UPDATE jobs SET priority = CAST(? AS DOUBLE PRECISION) + ${kindCase} WHERE demand_key = ? AND state IN ('queued', 'leased')`;
      for (const [k, scale] of rows) await this.db.run(sql, [scale, ...kinds.flat(), k]);
      return;
    }
    for (let at = 0; at < rows.length; at += 200) {
      const part = rows.slice(at, at + 200);
      const scale = `CASE demand_key ${part.map(() => 'WHEN ? THEN CAST(? AS DOUBLE PRECISION)').join(' ')} END`;
      await this.db.run(
        `UPDATE jobs SET priority = ${scale} + ${kindCase} WHERE demand_key IN (${part.map(() => '?').join(', ')}) AND state IN ('queued', 'leased')`,
        [...part.flat(), ...kinds.flat(), ...part.map(([k]) => k)],
      );
    }
  }


  async buildTime(pkg: string): Promise<{ seconds: number; builds: number } | undefined> {
    const r = (await this.db.all('SELECT seconds, builds FROM build_times WHERE pkg = ?', [pkg]))[0];
    return r ? { seconds: n(r.seconds), builds: n(r.builds) } : undefined;
  }

  async addBuildTime(pkg: string, seconds: number): Promise<void> {
    if ((await this.db.run('UPDATE build_times SET seconds = seconds + ?, builds = builds + 1 WHERE pkg = ?', [seconds, pkg])) === 0) {
      await this.db.run('INSERT INTO build_times (pkg, seconds, builds) VALUES (?, ?, 1)', [pkg, seconds]);
    }
  }
}
