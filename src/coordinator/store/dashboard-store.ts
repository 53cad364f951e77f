/**
 * The dashboard's reads (migration 7): bounded lists (most recent first,
 * `LIMIT`ed, over an index) and counts by aggregate queries, so a page costs
 * about the same with 10⁶ log entries and 10⁵ peers as with ten. Trust
 * levels per build are kept in their own table, updated from what is new in
 * the log by the sampler, never per page view. Plain SQL over either backend.
 */
import type { DashboardSample } from '../../api/v1.js';
import type { Db, Row } from './db.js';
import type { AttestationRecord } from './types.js';

const n = (v: unknown) => Number(v);
const sn = (v: unknown) => (v === null || v === undefined ? null : String(v));

export type DashboardAttestationRow = Pick<AttestationRecord, 'signer' | 'kind' | 'cpv' | 'chost' | 'buildKey' | 'configKey' | 'outputDigest' | 'logIndex' | 'logTime' | 'envelope'>;

/** A builder key's chain as the log has it: its operator key and name, and the earliest revocation time of either key. */
export interface SignerChain {
  operator: string;
  operatorName: string;
  /** Revocation time (ms) of the builder key or its operator; statements logged from then on count for nothing. */
  revokedAt: number | null;
}

export interface DashboardJobRow {
  id: number;
  kind: string;
  cpv: string;
  spec: string;
  state: string;
  priority: number;
  holder: string | null;
  note: string;
  updatedAt: number;
}

/** A stored sample is the sample the API serves. */
export type SampleRow = DashboardSample;

async function inChunks(db: Pick<Db, 'all'>, keys: readonly string[], query: (marks: string) => string): Promise<Row[]> {
  const distinct = [...new Set(keys)];
  const out: Row[] = [];
  for (let at = 0; at < distinct.length; at += 500) {
    const part = distinct.slice(at, at + 500);
    out.push(...(await db.all(query(part.map(() => '?').join(', ')), part)));
  }
  return out;
}

export class DashboardStore {
  constructor(private readonly db: Db) {}

  /** The buildKeys of the newest attestations, newest first, looking at no more than `scan` log entries. */
  async recentBuildKeys(limit: number, scan = limit * 8): Promise<string[]> {
    const rows = await this.db.all('SELECT build_key FROM attestations ORDER BY log_index DESC LIMIT ?', [scan]);
    const out: string[] = [];
    for (const r of rows) {
      const k = String(r.build_key);
      if (!out.includes(k)) out.push(k);
      if (out.length === limit) break;
    }
    return out;
  }

  async attestationsOf(buildKeys: readonly string[]): Promise<DashboardAttestationRow[]> {
    const rows = await inChunks(this.db, buildKeys, (m) => `SELECT signer, kind, cpv, chost, build_key, config_key, output_digest, log_index, log_time, envelope FROM attestations WHERE build_key IN (${m}) ORDER BY log_index`);
    return rows.map((r) => ({ signer: String(r.signer), kind: String(r.kind), cpv: String(r.cpv), chost: String(r.chost), buildKey: String(r.build_key), configKey: String(r.config_key), outputDigest: String(r.output_digest), logIndex: n(r.log_index), logTime: n(r.log_time), envelope: String(r.envelope) }));
  }

  async binrevs(buildKeys: readonly string[]): Promise<Map<string, number>> {
    return new Map((await inChunks(this.db, buildKeys, (m) => `SELECT build_key, binrev FROM binrevs WHERE build_key IN (${m})`)).map((r) => [String(r.build_key), n(r.binrev)]));
  }

  /** Builder key → operator (key, certified name, revocation), for the keys asked about; keys without a certified chain are left out. */
  async signerChains(signers: readonly string[]): Promise<Map<string, SignerChain>> {
    const builderCerts = await inChunks(this.db, signers, (m) => `SELECT subject, issuer FROM certificates WHERE role = 'builder' AND subject IN (${m}) ORDER BY log_index`);
    const issuers = [...new Set(builderCerts.map((r) => String(r.issuer)))];
    const names = new Map((await this.operatorNames(issuers)).entries());
    const revoked = new Map<string, number>();
    for (const r of await inChunks(this.db, [...signers, ...issuers], (m) => `SELECT subject, MIN(time) AS t FROM revocations WHERE subject IN (${m}) GROUP BY subject`)) revoked.set(String(r.subject), n(r.t));
    const out = new Map<string, SignerChain>();
    for (const r of builderCerts) {
      const signer = String(r.subject);
      const operator = String(r.issuer);
      const name = names.get(operator);
      if (name === undefined || out.has(signer)) continue;
      const times = [revoked.get(signer), revoked.get(operator)].filter((t): t is number => t !== undefined);
      out.set(signer, { operator, operatorName: name, revokedAt: times.length ? Math.min(...times) : null });
    }
    return out;
  }

  /** Operator key → the name in its (first) operator certificate. */
  async operatorNames(operators: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const r of await inChunks(this.db, operators, (m) => `SELECT subject, name FROM certificates WHERE role = 'operator' AND subject IN (${m}) ORDER BY log_index`)) {
      if (!out.has(String(r.subject))) out.set(String(r.subject), String(r.name));
    }
    return out;
  }

  /** Builder key → operator key, as recorded when the builder leased (builders table). */
  async buildersOperators(keys: readonly string[]): Promise<Map<string, string>> {
    return new Map((await inChunks(this.db, keys, (m) => `SELECT key_id, operator FROM builders WHERE key_id IN (${m})`)).map((r) => [String(r.key_id), String(r.operator)]));
  }

  async recentDisputes(limit: number): Promise<{ total: number; rows: { buildKey: string; cpv: string; logIndex: number; firstSeen: number }[] }> {
    const total = n((await this.db.all('SELECT COUNT(*) AS c FROM disputes'))[0]!.c);
    const rows = await this.db.all('SELECT build_key, cpv, log_index, first_seen FROM disputes ORDER BY log_index DESC LIMIT ?', [limit]);
    return { total, rows: rows.map((r) => ({ buildKey: String(r.build_key), cpv: String(r.cpv), logIndex: n(r.log_index), firstSeen: n(r.first_seen) })) };
  }

  async jobCounts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const r of await this.db.all('SELECT state, COUNT(*) AS c FROM jobs GROUP BY state')) out[String(r.state)] = n(r.c);
    return out;
  }

  /** Running jobs (newest lease first), then waiting ones (highest priority first), then up to 10 of the latest finished: `limit` rows in all. */
  async shownJobs(limit: number): Promise<DashboardJobRow[]> {
    const cols = 'id, kind, cpv, spec, state, priority, holder, note, updated_at';
    const leased = await this.db.all(`SELECT ${cols} FROM jobs WHERE state = 'leased' ORDER BY updated_at DESC LIMIT ?`, [limit]);
    const queued = await this.db.all(`SELECT ${cols} FROM jobs WHERE state = 'queued' ORDER BY priority DESC, id LIMIT ?`, [Math.max(0, limit - leased.length)]);
    const left = Math.max(0, limit - leased.length - queued.length);
    // Newest first along the primary key: stops after the first matches, however many jobs are done.
    const finished = left ? await this.db.all(`SELECT ${cols} FROM jobs WHERE state IN ('done', 'failed', 'refused') ORDER BY id DESC LIMIT ?`, [Math.min(left, 10)]) : [];
    return [...leased, ...queued, ...finished].map((r) => ({ id: n(r.id), kind: String(r.kind), cpv: String(r.cpv), spec: String(r.spec), state: String(r.state), priority: n(r.priority), holder: sn(r.holder), note: String(r.note), updatedAt: n(r.updated_at) }));
  }

  /** Peers by role: how many, how many healthy (seen since `since`, fewer than `downAfter` failed probes); and the served bytes they report. */
  async peerStats(roles: readonly string[], since: number, downAfter: number): Promise<{ total: number; served: number; roles: { role: string; total: number; healthy: number }[] }> {
    const healthy = 'CASE WHEN last_seen >= ? AND probe_failures < ? THEN 1 ELSE 0 END';
    // roles is a JSON array of known words (the schema allows only those), so a quoted LIKE matches exactly one role.
    const perRole = roles.map((_, i) => `SUM(CASE WHEN roles LIKE ? THEN 1 ELSE 0 END) AS t${i}, SUM(CASE WHEN roles LIKE ? THEN ${healthy} ELSE 0 END) AS h${i}`).join(', ');
    const params = roles.flatMap((r) => [`%"${r}"%`, `%"${r}"%`, since, downAfter]);
    const r = (await this.db.all(`SELECT COUNT(*) AS total, COALESCE(SUM(served), 0) AS served${perRole ? `, ${perRole}` : ''} FROM peers`, params))[0]!;
    return { total: n(r.total), served: n(r.served), roles: roles.map((role, i) => ({ role, total: n(r[`t${i}`] ?? 0), healthy: n(r[`h${i}`] ?? 0) })) };
  }

  async recentPeers(limit: number): Promise<{ keyId: string; roles: string[]; url: string | null; lastSeen: number; probeFailures: number; served: number }[]> {
    const rows = await this.db.all('SELECT key_id, roles, url, last_seen, probe_failures, served FROM peers ORDER BY last_seen DESC LIMIT ?', [limit]);
    return rows.map((r) => ({ keyId: String(r.key_id), roles: JSON.parse(String(r.roles)) as string[], url: sn(r.url), lastSeen: n(r.last_seen), probeFailures: n(r.probe_failures), served: n(r.served) }));
  }

  /**
   * Brings dashboard_levels up to date with what the log gained since the
   * last call: the builds of up to `maxNew` new attestations, and every
   * build attested by a key a new revocation touches (the key, or the
   * builders its operator certified), get their level recomputed — distinct
   * operators (builder certificate issuers) per output, best output per
   * build, leaving out statements logged at or after a revocation of the
   * builder or its operator. The cost follows what is new, not the log.
   * Returns the attestations taken in and the builds recomputed (a big log is caught up over several calls).
   */
  async updateLevels(maxNew = 10_000): Promise<{ taken: number; builds: number }> {
    return this.db.tx(async (db) => {
      const cur = (await db.all('SELECT attestations, revocations FROM dashboard_cursor WHERE id = 1'))[0]!;
      const fresh = await db.all('SELECT build_key, log_index FROM attestations WHERE log_index > ? ORDER BY log_index LIMIT ?', [n(cur.attestations), maxNew]);
      const keys = new Set(fresh.map((r) => String(r.build_key)));
      const revs = await db.all('SELECT subject, log_index FROM revocations WHERE log_index > ? ORDER BY log_index', [n(cur.revocations)]);
      if (revs.length) {
        const subjects = revs.map((r) => String(r.subject));
        const builders = await inChunks(db, subjects, (m) => `SELECT subject FROM certificates WHERE role = 'builder' AND issuer IN (${m})`);
        const signers = [...subjects, ...builders.map((r) => String(r.subject))];
        for (const r of await inChunks(db, signers, (m) => `SELECT DISTINCT build_key FROM attestations WHERE signer IN (${m})`)) keys.add(String(r.build_key));
      }
      const all = [...keys];
      for (let at = 0; at < all.length; at += 500) {
        const part = all.slice(at, at + 500);
        const marks = part.map(() => '?').join(', ');
        const rows = await db.all(
          `SELECT build_key, MAX(lvl) AS lvl FROM (
             SELECT a.build_key, a.output_digest, COUNT(DISTINCT c.issuer) AS lvl
             FROM attestations a JOIN certificates c ON c.subject = a.signer AND c.role = 'builder'
             WHERE a.build_key IN (${marks})
               AND NOT EXISTS (SELECT 1 FROM revocations r WHERE (r.subject = a.signer OR r.subject = c.issuer) AND r.time <= a.log_time)
             GROUP BY a.build_key, a.output_digest
           ) o GROUP BY build_key`,
          part,
        );
        const level = new Map(rows.map((r) => [String(r.build_key), n(r.lvl)]));
        await db.run(`DELETE FROM dashboard_levels WHERE build_key IN (${marks})`, part);
        // A build whose signers have no certified chain stays listed, at level 0: it is still a configuration with attestations.
        await db.run(`INSERT INTO dashboard_levels (build_key, level) VALUES ${part.map(() => '(?, ?)').join(', ')}`, part.flatMap((k) => [k, level.get(k) ?? 0]));
      }
      const lastAtt = fresh.length ? n(fresh[fresh.length - 1]!.log_index) : n(cur.attestations);
      const lastRev = revs.length ? n(revs[revs.length - 1]!.log_index) : n(cur.revocations);
      await db.run('UPDATE dashboard_cursor SET attestations = ?, revocations = ? WHERE id = 1', [lastAtt, lastRev]);
      return { taken: fresh.length, builds: all.length };
    });
  }

  /** Configurations by trust level of their best output (levels above 0), from dashboard_levels (see updateLevels). */
  async trustHistogram(): Promise<{ configs: number; levels: Record<string, number> }> {
    const levels: Record<string, number> = {};
    let configs = 0;
    for (const r of await this.db.all('SELECT level, COUNT(*) AS c FROM dashboard_levels GROUP BY level')) {
      configs += n(r.c);
      if (n(r.level) > 0) levels[String(n(r.level))] = n(r.c);
    }
    return { configs, levels };
  }

  async insertSample(s: SampleRow, keepSince: number): Promise<void> {
    await this.db.tx(async (db) => {
      await db.run('DELETE FROM dashboard_samples WHERE time = ? OR time < ?', [s.time, keepSince]);
      await db.run('INSERT INTO dashboard_samples (time, queued, leased, peers, served, configs, levels) VALUES (?, ?, ?, ?, ?, ?, ?)', [s.time, s.queued, s.leased, s.peers, s.served, s.configs, JSON.stringify(s.levels)]);
    });
  }

  async latestSampleTime(): Promise<number | null> {
    const r = (await this.db.all('SELECT MAX(time) AS t FROM dashboard_samples'))[0];
    return r && r.t !== null && r.t !== undefined ? n(r.t) : null;
  }

  /** The newest `limit` samples, oldest first. */
  async samples(limit: number): Promise<SampleRow[]> {
    const rows = await this.db.all('SELECT * FROM dashboard_samples ORDER BY time DESC LIMIT ?', [limit]);
    return rows.reverse().map((r) => ({ time: n(r.time), queued: n(r.queued), leased: n(r.leased), peers: n(r.peers), served: n(r.served), configs: n(r.configs), levels: JSON.parse(String(r.levels)) as Record<string, number> }));
  }
}
