/**
 * A real PostgreSQL server from the Debian package, in a temp dir, on a free
 * port: initdb + pg_ctl, stopped when the test file ends. initdb refuses to
 * run as root, so as root the server runs as the `postgres` user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort, need } from './env.js';

function binDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : undefined;
}

const BIN = binDir();
const asRoot = process.getuid?.() === 0;
const postgresUser = asRoot ? (spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim() || undefined) : undefined;

export const hasPostgres = BIN !== undefined && (!asRoot || postgresUser !== undefined);

function run(cmd: string, args: string[]): void {
  const argv = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const : [cmd, args] as const;
  execFileSync(argv[0], [...argv[1]], { stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface PostgresServer {
  url: string;
  stop(): void;
}

export async function startPostgres(t: { after: (fn: () => unknown) => void }): Promise<PostgresServer> {
  if (!BIN) throw new Error('PostgreSQL binaries not found');
  const dir = mkdtempSync(join(tmpdir(), 'binswarm-pg-'));
  if (asRoot) {
    const uid = Number(postgresUser);
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  const port = await freePort();
  run(join(BIN, 'initdb'), ['-D', data, '-U', 'binswarm', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  run(join(BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      run(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  t.after(stop);
  process.once('exit', stop);
  return { url: `postgres://binswarm@127.0.0.1:${port}/postgres`, stop };
}

let shared: Promise<PostgresServer> | undefined;
let databases = 0;

/**
 * A fresh, empty database on one PostgreSQL server shared by the whole test
 * file (started on first use, stopped at exit): the URL to open a store on,
 * or undefined when PostgreSQL is missing (the test was skipped with why).
 */
export async function freshPostgresDb(t: TestContext, prefix: string): Promise<string | undefined> {
  if (!need(t, hasPostgres, 'PostgreSQL server binaries (apt-get install postgresql)')) return undefined;
  shared ??= startPostgres({ after: (fn) => process.once('exit', fn as () => void) });
  const { url } = await shared;
  const admin = await import('pg');
  const client = new admin.default.Client({ connectionString: url });
  await client.connect();
  const name = `${prefix}${process.pid}_${databases++}`;
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  return url.replace(/\/postgres$/, `/${name}`);
}
