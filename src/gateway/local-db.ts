/**
 * The gateway's local state: one SQLite file (DIR/gateway.db) with the last
 * verified checkpoint and the tree's right edge at it, an index row per
 * statement it keeps (log index, kind, signer, buildKey, where its leaf
 * bytes are, the cached signature verdict), the trust decision per build,
 * the verified metadata sheets, BUILD_IDs and the archive cache's use
 * times; and DIR/leaves.dat, the kept leaves' bytes appended in log order
 * (a flat file: a 10⁶-statement sync writes it at disk speed, and SQLite
 * only holds small rows).
 */
import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BinswarmError } from '../errors.js';
import type { IndexedLeaf } from './leaf-index.js';

const INDEXES = `
CREATE INDEX IF NOT EXISTS statements_build ON statements (build_key) WHERE build_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS statements_signer ON statements (signer);
`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS statements (idx INTEGER PRIMARY KEY, kind INTEGER NOT NULL, signer TEXT NOT NULL, build_key TEXT, chost TEXT,
  subject TEXT, off INTEGER NOT NULL, len INTEGER NOT NULL, sig INTEGER);
${INDEXES}
CREATE TABLE IF NOT EXISTS builds (build_key TEXT PRIMARY KEY, chost TEXT NOT NULL, status TEXT NOT NULL, result TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS builds_status ON builds (status, chost);
CREATE TABLE IF NOT EXISTS metadata (output_digest TEXT PRIMARY KEY, sheet TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS build_ids (cpv TEXT NOT NULL, archive TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (cpv, archive));
CREATE TABLE IF NOT EXISTS cache (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, used INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS refused (sha256 TEXT PRIMARY KEY, cpv TEXT NOT NULL, build_key TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL);
`;

/** A trusted package whose archive this gateway will not serve, and why (shown in `/-/status`). */
export interface RefusedArchive {
  cpv: string;
  buildKey: string;
  archive: string;
  code: string;
  reason: string;
}

export interface StoredStatement {
  idx: number;
  kind: number;
  signer: string;
  buildKey: string | null;
  leaf: Buffer;
  sig: number | null;
}

export class LocalDb {
  private readonly fd: number;
  /** Bytes of leaves.dat that belong to committed rows (meta 'leavesBytes'); anything past it is a rolled-back sync's. */
  private end: number;
  private committedEnd: number;

  private constructor(readonly db: Database.Database, dir: string) {
    this.fd = openSync(join(dir, 'leaves.dat'), 'a+');
    this.committedEnd = this.end = Number(this.get('leavesBytes') ?? 0);
    const size = fstatSync(this.fd).size;
    // A crash or a refused sync may have left bytes past the committed end: cut them.
    if (size > this.end) ftruncateSync(this.fd, this.end);
    this.damaged = size < this.end ? `leaves.dat has ${size} bytes, the index points up to ${this.end}` : undefined;
  }

  /** Why the leaf file cannot back the index (found on open), if it cannot. */
  readonly damaged: string | undefined;

  static path(dir: string): string {
    return join(dir, 'gateway.db');
  }

  static open(dir: string): LocalDb {
    mkdirSync(dir, { recursive: true });
    const db = new Database(LocalDb.path(dir));
    // A crash loses at most the refresh in progress; the log has it all again.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    return new LocalDb(db, dir);
  }

  /** Throws the state away (it failed its own checks): the next refresh rebuilds it from the log. */
  static reset(dir: string): void {
    for (const p of [...['', '-wal', '-shm'].map((x) => LocalDb.path(dir) + x), join(dir, 'leaves.dat')]) {
      if (existsSync(p)) rmSync(p);
    }
  }

  private readonly prepared = new Map<string, Database.Statement>();
  /** Prepared once per SQL text: a refresh runs the same few statements thousands of times. */
  private sql(text: string): Database.Statement {
    let st = this.prepared.get(text);
    if (!st) this.prepared.set(text, (st = this.db.prepare(text)));
    return st;
  }

  close(): void {
    this.db.close();
    closeSync(this.fd);
  }

  get(k: string): string | undefined {
    return (this.sql('SELECT v FROM meta WHERE k = ?').get(k) as { v: string } | undefined)?.v;
  }

  set(k: string, v: string): void {
    this.sql('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v').run(k, v);
  }

  /**
   * BUILD_TIME inside an archive, learned when it was read and verified (the
   * archive's sha256 is attested, so its bytes are as trusted as it is).
   * Portage records the package's own BUILD_TIME and reinstalls whenever the
   * index says another (`--rebuilt-binaries`, implied by `-uD
   * --getbinpkgonly`), so the listing must say this one once it is known.
   * undefined: not read yet; null: read, it has none.
   */
  archiveBuildTime(sha256: string): number | null | undefined {
    const v = this.get(`buildTime:${sha256}`);
    return v === undefined ? undefined : v === '' ? null : Number(v);
  }

  setArchiveBuildTime(sha256: string, seconds: number | null): void {
    this.set(`buildTime:${sha256}`, seconds === null ? '' : String(seconds));
  }

  /** Runs fn in one transaction (sync work only between begin and commit, or use begin/commit directly). */
  begin(): void {
    this.db.exec('BEGIN');
  }
  commit(): void {
    if (this.end !== this.committedEnd) {
      // Leaf bytes reach the disk before the rows that point at them.
      fdatasyncSync(this.fd);
      this.set('leavesBytes', String(this.end));
    }
    this.db.exec('COMMIT');
    this.committedEnd = this.end;
  }
  rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
    if (this.end !== this.committedEnd) ftruncateSync(this.fd, (this.end = this.committedEnd));
  }

  /**
   * Inside a transaction, before a bulk load into an empty table: the
   * statement indexes are built once at the end (one sort) instead of row
   * by row (a random B-tree insert each).
   */
  deferIndexes(): void {
    this.db.exec('DROP INDEX IF EXISTS statements_build; DROP INDEX IF EXISTS statements_signer;');
  }

  restoreIndexes(): void {
    this.db.exec(INDEXES);
  }

  private insertStmt?: Database.Statement;
  /** Inside a transaction: appends the leaves to leaves.dat and their index rows. */
  insertStatements(rows: { idx: number; ix: IndexedLeaf; leaf: Uint8Array }[]): void {
    if (rows.length === 0) return;
    const st = (this.insertStmt ??= this.db.prepare('INSERT OR REPLACE INTO statements (idx, kind, signer, build_key, chost, subject, off, len, sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)'));
    const bytes = Buffer.concat(rows.map((r) => r.leaf));
    writeSync(this.fd, bytes, 0, bytes.length, this.end);
    let off = this.end;
    for (const r of rows) {
      st.run(r.idx, r.ix.kind, r.ix.signer, r.ix.buildKey ?? null, r.ix.chost ?? null, r.ix.subject ?? null, off, r.leaf.length);
      off += r.leaf.length;
    }
    this.end = off;
  }

  private withLeaves(rows: (Omit<StoredStatement, 'leaf'> & { off: number; len: number })[]): StoredStatement[] {
    return rows.map(({ off, len, ...r }) => {
      // Not zero-filled: every byte is read below, or the read fails.
      const leaf = Buffer.allocUnsafe(len);
      if (off + len > this.committedEnd || readSync(this.fd, leaf, 0, len, off) !== len) throw new BinswarmError('LOCAL_STATE_DAMAGED', `leaf ${r.idx} is missing from leaves.dat`);
      return { ...r, leaf };
    });
  }

  maxIndex(): number {
    return (this.sql('SELECT MAX(idx) AS m FROM statements').get() as { m: number | null }).m ?? -1;
  }

  attestationsOf(buildKeys: string[]): StoredStatement[] {
    const out: StoredStatement[] = [];
    const st = this.sql('SELECT idx, kind, signer, build_key AS buildKey, off, len, sig FROM statements WHERE build_key = ? ORDER BY idx');
    for (const k of buildKeys) out.push(...this.withLeaves(st.all(k) as never[]));
    return out;
  }

  /** Certificates and revocations (a few per key: small next to the attestations). */
  keyStatements(): StoredStatement[] {
    return this.withLeaves(this.sql('SELECT idx, kind, signer, build_key AS buildKey, off, len, sig FROM statements WHERE kind IN (2, 3) ORDER BY idx').all() as never[]);
  }

  /** Builds whose attestations are signed by `key` or by a key it certified (a certificate or revocation touches them). */
  buildsTouchedByKey(key: string): string[] {
    return (
      this.db
        .prepare('SELECT DISTINCT build_key AS k FROM statements WHERE kind = 1 AND signer IN (SELECT subject FROM statements WHERE kind = 2 AND signer = ? UNION SELECT ?)')
        .all(key, key) as { k: string }[]
    ).map((r) => r.k);
  }

  allBuildKeys(chost: string): string[] {
    return (this.sql('SELECT DISTINCT build_key AS k FROM statements WHERE kind = 1 AND chost = ?').all(chost) as { k: string }[]).map((r) => r.k);
  }

  setSignature(idx: number, ok: boolean): void {
    this.sql('UPDATE statements SET sig = ? WHERE idx = ?').run(ok ? 1 : 0, idx);
  }

  putBuild(buildKey: string, chost: string, status: string, result: string): void {
    this.sql('INSERT INTO builds (build_key, chost, status, result) VALUES (?, ?, ?, ?) ON CONFLICT (build_key) DO UPDATE SET chost = excluded.chost, status = excluded.status, result = excluded.result').run(buildKey, chost, status, result);
  }

  builds(chost: string): { buildKey: string; status: string; result: string }[] {
    return this.sql('SELECT build_key AS buildKey, status, result FROM builds WHERE chost = ? ORDER BY build_key').all(chost) as { buildKey: string; status: string; result: string }[];
  }

  buildsByKeys(keys: readonly string[]): { buildKey: string; status: string; result: string }[] {
    const st = this.sql('SELECT build_key AS buildKey, status, result FROM builds WHERE build_key = ?');
    return keys.map((k) => st.get(k) as { buildKey: string; status: string; result: string } | undefined).filter((r) => r !== undefined);
  }

  metadata(outputDigest: string): string | undefined {
    return (this.sql('SELECT sheet FROM metadata WHERE output_digest = ?').get(outputDigest) as { sheet: string } | undefined)?.sheet;
  }

  putMetadata(outputDigest: string, sheet: string): void {
    this.sql('INSERT OR REPLACE INTO metadata (output_digest, sheet) VALUES (?, ?)').run(outputDigest, sheet);
  }

  /** The BUILD_ID of an archive for its CPV: stable once given, new ones above every earlier one, so Portage sees rebuilds as newer. */
  buildId(cpv: string, archive: string): number {
    const have = this.sql('SELECT id FROM build_ids WHERE cpv = ? AND archive = ?').get(cpv, archive) as { id: number } | undefined;
    if (have) return have.id;
    const next = ((this.sql('SELECT MAX(id) AS m FROM build_ids WHERE cpv = ?').get(cpv) as { m: number | null }).m ?? 0) + 1;
    this.sql('INSERT INTO build_ids (cpv, archive, id) VALUES (?, ?, ?)').run(cpv, archive, next);
    return next;
  }

  /** An archive read completely and refused: the verdict on those bytes cannot change, so it is never fetched again. */
  refuse(r: RefusedArchive): void {
    this.sql('INSERT OR REPLACE INTO refused (sha256, cpv, build_key, code, reason) VALUES (?, ?, ?, ?, ?)').run(r.archive, r.cpv, r.buildKey, r.code, r.reason);
  }

  refusedOf(sha256: string): RefusedArchive | undefined {
    return this.sql('SELECT sha256 AS archive, cpv, build_key AS buildKey, code, reason FROM refused WHERE sha256 = ?').get(sha256) as RefusedArchive | undefined;
  }

  refusedList(): RefusedArchive[] {
    return this.sql('SELECT sha256 AS archive, cpv, build_key AS buildKey, code, reason FROM refused ORDER BY cpv, sha256').all() as RefusedArchive[];
  }

  touchCache(sha256: string, size: number, now: number): void {
    this.sql('INSERT INTO cache (sha256, size, used) VALUES (?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET used = excluded.used').run(sha256, size, now);
  }

  dropCache(sha256: string): void {
    this.sql('DELETE FROM cache WHERE sha256 = ?').run(sha256);
  }

  /** Cached archives, least recently used first. */
  cacheEntries(): { sha256: string; size: number; used: number }[] {
    return this.sql('SELECT sha256, size, used FROM cache ORDER BY used, sha256').all() as { sha256: string; size: number; used: number }[];
  }
}
