/** The Store over either SQL backend (see db.ts); one implementation, one test suite. */
import { BinswarmError } from '../../errors.js';
import { nodeMissing, type HashStore, type NodeKey } from '../../log/hash-store.js';
import { insertAbiRefs } from './abi-index.js';
import { migrate, PgDb, SqliteDb, type Db, type Row } from './db.js';
import { DashboardStore } from './dashboard-store.js';
import { DemandStore } from './demand-store.js';
import { SchedulerStore } from './scheduler-store.js';
import type { ArchiveRecord, AttestationContext, AttestationQuery, AttestationRecord, CertificateRecord, DisputeRecord, HolderRecord, PeerRecord, PlacementArchiveRow, RevocationRecord, Store, StoreTx } from './types.js';

const n = (v: unknown) => Number(v);
const s = (v: unknown) => (v === null || v === undefined ? null : String(v));

function attestation(r: Row): AttestationRecord {
  return {
    id: String(r.id), signer: String(r.signer), kind: String(r.kind), cpv: String(r.cpv), chost: String(r.chost), buildKey: String(r.build_key),
    configKey: String(r.config_key), outputDigest: String(r.output_digest), archiveSha256: String(r.archive_sha256), archiveSize: n(r.archive_size),
    pieceRoot: String(r.piece_root), time: n(r.time), logIndex: n(r.log_index), logTime: n(r.log_time), envelope: String(r.envelope),
  };
}

function certificate(r: Row): CertificateRecord {
  return { id: String(r.id), subject: String(r.subject), issuer: String(r.issuer), role: String(r.role), name: String(r.name), notBefore: n(r.not_before), notAfter: n(r.not_after), logIndex: n(r.log_index), logTime: n(r.log_time), envelope: String(r.envelope) };
}

function revocation(r: Row): RevocationRecord {
  return { id: String(r.id), subject: String(r.subject), issuer: String(r.issuer), time: n(r.time), logIndex: n(r.log_index), logTime: n(r.log_time), envelope: String(r.envelope) };
}

function dispute(r: Row): DisputeRecord {
  return { buildKey: String(r.build_key), cpv: String(r.cpv), outputDigests: JSON.parse(String(r.output_digests)) as string[], firstSeen: n(r.first_seen), logIndex: n(r.log_index) };
}

function peer(r: Row): PeerRecord {
  return { keyId: String(r.key_id), publicKey: String(r.public_key), roles: JSON.parse(String(r.roles)) as string[], url: s(r.url), capacity: n(r.capacity), failureDomain: s(r.failure_domain), firstSeen: n(r.first_seen), lastSeen: n(r.last_seen), probeFailures: n(r.probe_failures ?? 0), lastProbe: r.last_probe === null || r.last_probe === undefined ? null : n(r.last_probe), served: n(r.served ?? 0) };
}

/** The log's hashes in the log_nodes/log_meta tables. */
class SqlHashStore implements HashStore {
  constructor(private readonly db: Db) {}

  async size(): Promise<number> {
    return n((await this.db.all('SELECT size FROM log_meta WHERE id = 1'))[0]!.size);
  }

  /** One query for all keys (a proof or a right edge is O(log n) of them). */
  async getNodes(keys: NodeKey[]): Promise<Uint8Array[]> {
    const found = new Map<string, Uint8Array>();
    for (let at = 0; at < keys.length; at += 200) {
      const part = keys.slice(at, at + 200);
      const rows = await this.db.all(`SELECT level, idx, hash FROM log_nodes WHERE ${part.map(() => '(level = ? AND idx = ?)').join(' OR ')}`, part.flatMap((k) => [k.level, k.index]));
      for (const r of rows) found.set(`${n(r.level)}/${n(r.idx)}`, Buffer.from(r.hash as Uint8Array));
    }
    return keys.map((k) => {
      const h = found.get(`${k.level}/${k.index}`);
      if (!h) throw nodeMissing(k);
      return h;
    });
  }

  async append(newSize: number, nodes: (NodeKey & { hash: Uint8Array })[]): Promise<void> {
    await insertRows(this.db, 'log_nodes', ['level', 'idx', 'hash'], nodes.map((k) => [k.level, k.index, Buffer.from(k.hash)]));
    const changed = await this.db.run('UPDATE log_meta SET size = ? WHERE id = 1 AND size <= ?', [newSize, newSize]);
    if (changed !== 1) throw new BinswarmError('STORE_CONFLICT', 'log size would go backwards');
  }
}

/** Multi-row INSERT in chunks (one round trip per chunk on PostgreSQL). */
async function insertRows(db: Db, table: string, columns: string[], rows: unknown[][]): Promise<void> {
  const per = Math.max(1, Math.floor(900 / columns.length));
  const one = `(${columns.map(() => '?').join(', ')})`;
  for (let at = 0; at < rows.length; at += per) {
    const part = rows.slice(at, at + per);
    await db.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${part.map(() => one).join(', ')}`, part.flat());
  }
}

function txOf(db: Db): StoreTx {
  return {
    log: new SqlHashStore(db),
    putLeaves: (first, datas) => insertRows(db, 'log_leaves', ['idx', 'data'], datas.map((d, i) => [first + i, Buffer.from(d)])),
    lastLeaf: async () => {
      const r = (await db.all('SELECT data FROM log_leaves ORDER BY idx DESC LIMIT 1'))[0];
      return r ? Buffer.from(r.data as Uint8Array) : undefined;
    },
    insertCertificate: async (r) => {
      if ((await db.all('SELECT 1 FROM certificates WHERE id = ?', [r.id])).length > 0) return false;
      await db.run('INSERT INTO certificates (id, subject, issuer, role, name, not_before, not_after, log_index, log_time, envelope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [r.id, r.subject, r.issuer, r.role, r.name, r.notBefore, r.notAfter, r.logIndex, r.logTime, r.envelope]);
      return true;
    },
    insertRevocation: async (r) => {
      if ((await db.all('SELECT 1 FROM revocations WHERE id = ?', [r.id])).length > 0) return false;
      await db.run('INSERT INTO revocations (id, subject, issuer, time, log_index, log_time, envelope) VALUES (?, ?, ?, ?, ?, ?, ?)', [r.id, r.subject, r.issuer, r.time, r.logIndex, r.logTime, r.envelope]);
      return true;
    },
    upsertDispute: async (r) => {
      const rows = await db.all('SELECT output_digests FROM disputes WHERE build_key = ?', [r.buildKey]);
      const digests = JSON.stringify([...new Set(r.outputDigests)].sort());
      if (rows.length === 0) {
        await db.run('INSERT INTO disputes (build_key, cpv, output_digests, first_seen, log_index) VALUES (?, ?, ?, ?, ?)', [r.buildKey, r.cpv, digests, r.firstSeen, r.logIndex]);
        return 'new';
      }
      if (String(rows[0]!.output_digests) === digests) return 'same';
      await db.run('UPDATE disputes SET output_digests = ?, log_index = ? WHERE build_key = ?', [digests, r.logIndex, r.buildKey]);
      return 'updated';
    },
    putCheckpoint: async (size, text) => {
      await db.run('DELETE FROM checkpoints WHERE size = ?', [size]);
      await db.run('INSERT INTO checkpoints (size, text) VALUES (?, ?)', [size, text]);
    },
    attestationContext: async (q) => {
      const ctx: AttestationContext = { siblings: new Map(), archives: new Map(), binrevs: new Map(), disputes: new Map() };
      for (const k of q.buildKeys) ctx.siblings.set(k, []);
      for (const r of await selectIn(db, 'SELECT id, output_digest, log_index, log_time, build_key FROM attestations WHERE build_key IN', q.buildKeys, 'ORDER BY log_index')) {
        ctx.siblings.get(String(r.build_key))!.push({ id: String(r.id), outputDigest: String(r.output_digest), logIndex: n(r.log_index), logTime: n(r.log_time) });
      }
      for (const r of await selectIn(db, 'SELECT * FROM archives WHERE sha256 IN', q.archives)) ctx.archives.set(String(r.sha256), archive(r));
      for (const k of q.configKeys) ctx.binrevs.set(k, new Map());
      for (const r of await selectIn(db, 'SELECT config_key, build_key, binrev FROM binrevs WHERE config_key IN', q.configKeys)) ctx.binrevs.get(String(r.config_key))!.set(String(r.build_key), n(r.binrev));
      for (const r of await selectIn(db, 'SELECT * FROM disputes WHERE build_key IN', q.buildKeys)) ctx.disputes.set(String(r.build_key), dispute(r));
      return ctx;
    },
    insertAttestations: (rows) =>
      insertRows(db, 'attestations', ['id', 'signer', 'kind', 'cpv', 'chost', 'build_key', 'config_key', 'output_digest', 'archive_sha256', 'archive_size', 'piece_root', 'time', 'log_index', 'log_time', 'envelope'],
        rows.map((r) => [r.id, r.signer, r.kind, r.cpv, r.chost, r.buildKey, r.configKey, r.outputDigest, r.archiveSha256, r.archiveSize, r.pieceRoot, r.time, r.logIndex, r.logTime, r.envelope])),
    insertArchives: (rows) => insertRows(db, 'archives', ['sha256', 'size', 'piece_root', 'output_digest'], rows.map((r) => [r.sha256, r.size, r.pieceRoot, r.outputDigest])),
    insertBinrevs: (rows) => insertRows(db, 'binrevs', ['config_key', 'build_key', 'binrev', 'log_index'], rows.map((r) => [r.configKey, r.buildKey, r.binrev, r.logIndex])),
    insertAbiRefs: (rows) => insertAbiRefs(db, rows),
  };
}

/** `prefix (?, ?, …) suffix` over distinct values, in chunks of 500 parameters. */
async function selectIn(db: Db, prefix: string, values: string[], suffix = ''): Promise<Row[]> {
  const distinct = [...new Set(values)];
  const rows: Row[] = [];
  for (let at = 0; at < distinct.length; at += 500) {
    const part = distinct.slice(at, at + 500);
    rows.push(...(await db.all(`${prefix} (${part.map(() => '?').join(', ')}) ${suffix}`, part)));
  }
  return rows;
}

function holder(r: Row): HolderRecord {
  return { archiveSha256: String(r.archive_sha256), peer: String(r.peer), url: String(r.url), announcedAt: n(r.announced_at), failures: n(r.failures), partial: n(r.partial) === 1 };
}

function archive(r: Row): ArchiveRecord {
  return { sha256: String(r.sha256), size: n(r.size), pieceRoot: String(r.piece_root), outputDigest: String(r.output_digest) };
}

export class SqlStore implements Store {
  readonly log: HashStore;
  readonly scheduler: SchedulerStore;
  readonly demand: DemandStore;
  readonly dashboard: DashboardStore;

  private constructor(private readonly db: Db) {
    this.log = new SqlHashStore(db);
    this.dashboard = new DashboardStore(db);
    this.scheduler = new SchedulerStore(db);
    this.demand = new DemandStore(db);
  }

  get kind(): 'sqlite' | 'postgres' {
    return this.db.kind;
  }

  static async open(db: Db): Promise<SqlStore> {
    await migrate(db);
    return new SqlStore(db);
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.tx((db) => fn(txOf(db)));
  }

  close(): Promise<void> {
    return this.db.close();
  }

  syncHard(): Promise<void> {
    return this.db.syncHard();
  }

  async upsertPeer(p: PeerRecord): Promise<void> {
    await this.db.tx(async (db) => {
      const had = await db.all('SELECT first_seen FROM peers WHERE key_id = ?', [p.keyId]);
      if (had.length > 0) {
        await db.run('UPDATE peers SET roles = ?, url = ?, capacity = ?, failure_domain = ?, last_seen = ?, served = COALESCE(?, served) WHERE key_id = ?', [JSON.stringify(p.roles), p.url, p.capacity, p.failureDomain, p.lastSeen, p.served ?? null, p.keyId]);
      } else {
        await db.run('INSERT INTO peers (key_id, public_key, roles, url, capacity, failure_domain, first_seen, last_seen, served) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [p.keyId, p.publicKey, JSON.stringify(p.roles), p.url, p.capacity, p.failureDomain, p.firstSeen, p.lastSeen, p.served ?? 0]);
      }
    });
  }

  async getPeer(keyId: string): Promise<PeerRecord | undefined> {
    const rows = await this.db.all('SELECT * FROM peers WHERE key_id = ?', [keyId]);
    return rows[0] ? peer(rows[0]) : undefined;
  }

  async listPeers(): Promise<PeerRecord[]> {
    return (await this.db.all('SELECT * FROM peers ORDER BY key_id')).map(peer);
  }

  async listMirrorPeers(): Promise<PeerRecord[]> {
    // roles is a JSON array of role names: the quoted name matches exactly that
    // role. The condition is written out as in the partial index peers_mirrors
    // (migration 9), so both databases read the mirrors only.
    return (await this.db.all(`SELECT * FROM peers WHERE roles LIKE '%"mirror"%' ORDER BY key_id`)).map(peer);
  }

  async downPeerIds(minFailures: number): Promise<string[]> {
    return (await this.db.all('SELECT key_id FROM peers WHERE probe_failures >= ?', [minFailures])).map((r) => String(r.key_id));
  }

  async countPeers(): Promise<number> {
    return n((await this.db.all('SELECT COUNT(*) AS c FROM peers'))[0]!.c);
  }

  private noncesSincePrune = 0;

  async useNonce(keyId: string, nonce: string, expiresAt: number, now: number): Promise<boolean> {
    // One statement (one commit) per request; expired nonces are pruned now and then.
    if (++this.noncesSincePrune >= 256) {
      this.noncesSincePrune = 0;
      await this.db.run('DELETE FROM nonces WHERE expires_at < ?', [now]);
    }
    // A nonce that has expired may come back (the request's own time check rejects stale ones).
    const sql = 'INSERT INTO nonces (key_id, nonce, expires_at) VALUES (?, ?, ?) ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE nonces.expires_at < ?';
    return (await this.db.run(sql, [keyId, nonce, expiresAt, now])) === 1;
  }

  async queryAttestations(q: AttestationQuery): Promise<AttestationRecord[]> {
    const where: string[] = ['log_index > ?'];
    const params: unknown[] = [q.after ?? -1];
    for (const [col, v] of [['cpv', q.cpv], ['chost', q.chost], ['config_key', q.configKey], ['build_key', q.buildKey]] as const) {
      if (v !== undefined) {
        where.push(`${col} = ?`);
        params.push(v);
      }
    }
    params.push(Math.min(q.limit ?? 1000, 5000));
    return (await this.db.all(`SELECT * FROM attestations WHERE ${where.join(' AND ')} ORDER BY log_index LIMIT ?`, params)).map(attestation);
  }

  async listCertificates(after = -1, limit = 1000): Promise<CertificateRecord[]> {
    return (await this.db.all('SELECT * FROM certificates WHERE log_index > ? ORDER BY log_index LIMIT ?', [after, Math.min(limit, 5000)])).map(certificate);
  }

  async certificatesOf(subject: string): Promise<CertificateRecord[]> {
    return (await this.db.all('SELECT * FROM certificates WHERE subject = ? ORDER BY log_index', [subject])).map(certificate);
  }

  async revocationsOf(subject: string): Promise<RevocationRecord[]> {
    return (await this.db.all('SELECT * FROM revocations WHERE subject = ? ORDER BY log_index', [subject])).map(revocation);
  }

  async listRevocations(after = -1, limit = 1000): Promise<RevocationRecord[]> {
    return (await this.db.all('SELECT * FROM revocations WHERE log_index > ? ORDER BY log_index LIMIT ?', [after, Math.min(limit, 5000)])).map(revocation);
  }

  async listDisputes(buildKey?: string): Promise<DisputeRecord[]> {
    const rows = buildKey ? await this.db.all('SELECT * FROM disputes WHERE build_key = ?', [buildKey]) : await this.db.all('SELECT * FROM disputes ORDER BY log_index');
    return rows.map(dispute);
  }

  async getArchive(sha256: string): Promise<ArchiveRecord | undefined> {
    const r = (await this.db.all('SELECT * FROM archives WHERE sha256 = ?', [sha256]))[0];
    return r ? archive(r) : undefined;
  }

  async archivesWithOutput(outputDigest: string): Promise<ArchiveRecord[]> {
    return (await this.db.all('SELECT * FROM archives WHERE output_digest = ?', [outputDigest])).map(archive);
  }

  async addHolder(h: Omit<HolderRecord, 'failures' | 'partial'> & { partial?: boolean }): Promise<void> {
    const partial = h.partial ? 1 : 0;
    await this.db.tx(async (db) => {
      const had = await db.run('UPDATE holders SET url = ?, announced_at = ?, partial = ? WHERE archive_sha256 = ? AND peer = ?', [h.url, h.announcedAt, partial, h.archiveSha256, h.peer]);
      if (had === 0) await db.run('INSERT INTO holders (archive_sha256, peer, url, announced_at, failures, partial) VALUES (?, ?, ?, ?, 0, ?)', [h.archiveSha256, h.peer, h.url, h.announcedAt, partial]);
    });
  }

  async removeHolder(sha256: string, peerId: string): Promise<void> {
    await this.db.run('DELETE FROM holders WHERE archive_sha256 = ? AND peer = ?', [sha256, peerId]);
  }

  async holdersOf(sha256: string): Promise<HolderRecord[]> {
    return (await this.db.all('SELECT * FROM holders WHERE archive_sha256 = ? ORDER BY failures, partial, announced_at DESC', [sha256])).map(holder);
  }

  async allHolders(): Promise<HolderRecord[]> {
    return (await this.db.all('SELECT * FROM holders ORDER BY archive_sha256, peer')).map(holder);
  }

  async reportBadHolder(sha256: string, peerId: string, reporter = '', reason = '', time = 0): Promise<number> {
    return this.db.tx(async (db) => {
      const sql = 'INSERT INTO holder_reports (archive_sha256, peer, reporter, reason, time) VALUES (?, ?, ?, ?, ?) ON CONFLICT (archive_sha256, peer, reporter) DO NOTHING';
      await db.run(sql, [sha256, peerId, reporter, reason, time]);
      const c = n((await db.all('SELECT COUNT(*) AS c FROM holder_reports WHERE archive_sha256 = ? AND peer = ?', [sha256, peerId]))[0]!.c);
      await db.run('UPDATE holders SET failures = ? WHERE archive_sha256 = ? AND peer = ?', [c, sha256, peerId]);
      return c;
    });
  }

  async recordProbe(keyId: string, ok: boolean, time: number): Promise<void> {
    await this.db.run(ok ? 'UPDATE peers SET probe_failures = 0, last_probe = ? WHERE key_id = ?' : 'UPDATE peers SET probe_failures = probe_failures + 1, last_probe = ? WHERE key_id = ?', [time, keyId]);
  }

  async placementArchives(since: number): Promise<PlacementArchiveRow[]> {
    const rows = await this.db.all(
      `SELECT a.sha256, a.size, a.piece_root, (SELECT COUNT(DISTINCT d.peer) FROM demand d WHERE d.time >= ? AND d.config_key IN
         (SELECT t.config_key FROM attestations t WHERE t.archive_sha256 = a.sha256)) AS demand FROM archives a ORDER BY a.sha256`,
      [since],
    );
    return rows.map((r) => ({ sha256: String(r.sha256), size: n(r.size), pieceRoot: String(r.piece_root), demand: n(r.demand) }));
  }

  async getLeaves(from: number, to: number): Promise<Buffer[]> {
    return (await this.db.all('SELECT data FROM log_leaves WHERE idx >= ? AND idx < ? ORDER BY idx', [from, to])).map((r) => Buffer.from(r.data as Uint8Array));
  }

  async logNodeRange(level: number, from: number, to: number): Promise<Buffer[]> {
    const rows = await this.db.all('SELECT idx, hash FROM log_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx', [level, from, to]);
    const out: Buffer[] = [];
    for (const r of rows) {
      if (n(r.idx) !== from + out.length) break;
      out.push(Buffer.from(r.hash as Uint8Array));
    }
    return out;
  }

  async checkpointAt(size: number): Promise<string | undefined> {
    const r = (await this.db.all('SELECT text FROM checkpoints WHERE size = ?', [size]))[0];
    return r ? String(r.text) : undefined;
  }

  async latestCosigned(min: number): Promise<{ size: number; text: string } | undefined> {
    const r = (await this.db.all('SELECT c.size, c.text FROM checkpoints c WHERE (SELECT COUNT(*) FROM cosignatures w WHERE w.size = c.size) >= ? ORDER BY c.size DESC LIMIT 1', [min]))[0];
    return r ? { size: n(r.size), text: String(r.text) } : undefined;
  }

  async putCosignature(size: number, witness: string, line: string, time: number): Promise<void> {
    await this.db.tx(async (db) => {
      await db.run('DELETE FROM cosignatures WHERE size = ? AND witness = ?', [size, witness]);
      await db.run('INSERT INTO cosignatures (size, witness, line, time) VALUES (?, ?, ?, ?)', [size, witness, line, time]);
    });
  }

  async cosignaturesAt(size: number): Promise<string[]> {
    return (await this.db.all('SELECT line FROM cosignatures WHERE size = ? ORDER BY witness', [size])).map((r) => String(r.line));
  }

  async putOutputMetadata(outputDigest: string, body: string): Promise<boolean> {
    return this.db.tx(async (db) => {
      if ((await db.all('SELECT 1 FROM output_metadata WHERE output_digest = ?', [outputDigest])).length > 0) return false;
      await db.run('INSERT INTO output_metadata (output_digest, body) VALUES (?, ?)', [outputDigest, body]);
      return true;
    });
  }

  async getOutputMetadata(outputDigest: string): Promise<string | undefined> {
    const r = (await this.db.all('SELECT body FROM output_metadata WHERE output_digest = ?', [outputDigest]))[0];
    return r ? String(r.body) : undefined;
  }

  async latestCheckpoint(): Promise<{ size: number; text: string } | undefined> {
    const r = (await this.db.all('SELECT size, text FROM checkpoints ORDER BY size DESC LIMIT 1'))[0];
    return r ? { size: n(r.size), text: String(r.text) } : undefined;
  }

  async binrevOf(buildKey: string): Promise<number | undefined> {
    const r = (await this.db.all('SELECT binrev FROM binrevs WHERE build_key = ?', [buildKey]))[0];
    return r ? n(r.binrev) : undefined;
  }

  async recordDemand(peerId: string, configKey: string, time: number): Promise<void> {
    await this.db.tx(async (db) => {
      if ((await db.run('UPDATE demand SET time = ? WHERE peer = ? AND config_key = ?', [time, peerId, configKey])) === 0) {
        await db.run('INSERT INTO demand (peer, config_key, time) VALUES (?, ?, ?)', [peerId, configKey, time]);
      }
    });
  }

  async demandFor(configKey: string, since: number): Promise<number> {
    return n((await this.db.all('SELECT COUNT(DISTINCT peer) AS c FROM demand WHERE config_key = ? AND time >= ?', [configKey, since]))[0]!.c);
  }
}

/** `postgres://…` → PostgreSQL; anything else is a SQLite file path (or `:memory:`). */
export function openStore(location: string): Promise<SqlStore> {
  const db = /^postgres(ql)?:\/\//.test(location) ? new PgDb(location) : new SqliteDb(location);
  return SqlStore.open(db);
}
