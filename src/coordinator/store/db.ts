/**
 * The little SQL both backends share: `?` placeholders, rows as objects,
 * and serialised transactions. SQLite runs on one connection with every call
 * queued behind an async mutex, so a write outside a transaction can never
 * slip into someone else's. PostgreSQL runs each transaction on its own pool
 * client and takes an advisory lock so log appends stay linear even across
 * coordinator replicas.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { BinswarmError } from '../../errors.js';
import { dialect, MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

export type StoreErrorCode = 'STORE_SCHEMA_TOO_NEW' | 'STORE_UNAVAILABLE' | 'STORE_CONFLICT';

export type Row = Record<string, unknown>;

export interface Db {
  readonly kind: 'sqlite' | 'postgres';
  all(sql: string, params?: unknown[]): Promise<Row[]>;
  run(sql: string, params?: unknown[]): Promise<number>;
  tx<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /** Makes every committed transaction durable against power loss. */
  syncHard(): Promise<void>;
  close(): Promise<void>;
}

class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

export class SqliteDb implements Db {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly mutex = new Mutex();
  private readonly inTx: Db;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a killed process, and the database
    // stays consistent after power loss (the last commits may be lost). What
    // must never be lost is a leaf under a checkpoint someone has seen, so
    // checkpoint signing forces a full sync first (see syncHard).
    this.db.pragma('synchronous = NORMAL');
    // Checkpointing the WAL into the database costs an fsync each time; at the
    // default 1000 pages (4 MiB) a busy coordinator pays it every few commits.
    // 16384 pages (64 MiB) between automatic checkpoints, plus the explicit
    // ones before each signed log checkpoint (syncHard).
    this.db.pragma('wal_autocheckpoint = 16384');
    this.db.pragma('busy_timeout = 5000');
    // The default page cache is 2 MiB; the hot index pages of a large build
    // queue (and of the log) want more. Memory is only taken as pages are read.
    this.db.pragma('cache_size = -65536');
    const statements = new Map<string, Database.Statement>();
    const prepare = (sql: string) => {
      let st = statements.get(sql);
      if (!st) statements.set(sql, (st = this.db.prepare(sql)));
      return st;
    };
    const raw: Db = {
      kind: 'sqlite' as const,
      all: async (sql: string, params: unknown[] = []) => prepare(sql).all(...params.map(sqliteValue)) as Row[],
      run: async (sql: string, params: unknown[] = []) => prepare(sql).run(...params.map(sqliteValue)).changes,
      tx: <T>(fn: (db: Db) => Promise<T>): Promise<T> => fn(raw),
      syncHard: async () => void this.db.pragma('wal_checkpoint(FULL)'),
      close: async () => {},
    };
    this.inTx = raw;
  }

  // Code running inside a transaction (even through the Store's plain read
  // methods) must not queue behind that same transaction: it would deadlock.
  private readonly inside = new AsyncLocalStorage<boolean>();

  all(sql: string, params?: unknown[]): Promise<Row[]> {
    if (this.inside.getStore()) return this.inTx.all(sql, params);
    return this.mutex.run(() => this.inTx.all(sql, params));
  }

  run(sql: string, params?: unknown[]): Promise<number> {
    if (this.inside.getStore()) return this.inTx.run(sql, params);
    return this.mutex.run(() => this.inTx.run(sql, params));
  }

  tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    if (this.inside.getStore()) return fn(this.inTx);
    return this.mutex.run(() => this.inside.run(true, () => this.txBody(fn)));
  }

  private txBody<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    return (async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const r = await fn(this.inTx);
        this.db.exec('COMMIT');
        return r;
      } catch (e) {
        this.db.exec('ROLLBACK');
        throw e;
      }
    })();
  }

  syncHard(): Promise<void> {
    if (this.inside.getStore()) return this.inTx.syncHard();
    return this.mutex.run(() => this.inTx.syncHard());
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => this.db.close());
  }
}

function sqliteValue(v: unknown): unknown {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

function pgSql(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

// BIGINT columns come back as strings from pg; the values here fit in 2^53.
pg.types.setTypeParser(20, (v: string) => Number(v));

export class PgDb implements Db {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 8 });
    this.pool.on('error', () => {
      // An idle client died (server restart); the pool replaces it on next use.
    });
  }

  private static on(client: pg.PoolClient | pg.Pool): Omit<Db, 'tx' | 'close' | 'syncHard'> {
    return {
      kind: 'postgres',
      all: async (sql, params = []) => (await client.query(pgSql(sql), params)).rows as Row[],
      run: async (sql, params = []) => (await client.query(pgSql(sql), params)).rowCount ?? 0,
    };
  }

  // Reads made by code running inside a transaction (even through the Store's
  // plain methods) go to that transaction's client: taking another pool
  // client there deadlocks once every client holds an open transaction.
  private readonly current = new AsyncLocalStorage<Db>();

  all(sql: string, params?: unknown[]): Promise<Row[]> {
    const inner = this.current.getStore();
    if (inner) return inner.all(sql, params);
    return PgDb.on(this.pool).all(sql, params).catch(unavailable);
  }

  run(sql: string, params?: unknown[]): Promise<number> {
    const inner = this.current.getStore();
    if (inner) return inner.run(sql, params);
    return PgDb.on(this.pool).run(sql, params).catch(unavailable);
  }

  async tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const open = this.current.getStore();
    if (open) return fn(open);
    const client = await this.pool.connect().catch(unavailable);
    try {
      await client.query('BEGIN');
      // One writer at a time network-wide: the log is a single sequence.
      await client.query('SELECT pg_advisory_xact_lock(6962)');
      const inner: Db = { ...PgDb.on(client), tx: (f) => f(inner), syncHard: async () => {}, close: async () => {} };
      const r = await this.current.run(inner, () => fn(inner));
      await client.query('COMMIT');
      return r;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /** PostgreSQL commits are already durable (fsync on commit). */
  async syncHard(): Promise<void> {}

  close(): Promise<void> {
    return this.pool.end();
  }
}

function unavailable(e: unknown): never {
  const code = (e as { code?: string }).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === '57P01') {
    throw new BinswarmError<StoreErrorCode>('STORE_UNAVAILABLE', `database unavailable: ${(e as Error).message}`, { cause: e });
  }
  throw e;
}

export async function migrate(db: Db): Promise<void> {
  await db.tx(async (tx) => {
    await tx.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const rows = await tx.all('SELECT MAX(version) AS v FROM schema_migrations');
    const current = Number(rows[0]?.v ?? 0);
    if (current > SCHEMA_VERSION) {
      throw new BinswarmError<StoreErrorCode>('STORE_SCHEMA_TOO_NEW', `database schema is version ${current}, this binswarm knows up to ${SCHEMA_VERSION}; upgrade binswarm`);
    }
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      for (const stmt of dialect(m.sql, db.kind).split(';').map((s) => s.trim()).filter(Boolean)) await tx.run(stmt);
      await m.backfill?.(tx);
      await tx.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [m.version, Date.now()]);
    }
  });
}
