/**
 * The real Portage client from ../shared/tools/portage (see its README):
 * `setup.sh` unpacks Portage's source once per machine; `getbinpkg.py` runs a
 * real `emerge --getbinpkgonly` against a binhost URL and checks every
 * installed file. Tests use it to prove Portage accepts what we write/serve.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';
import { hasPortageTools, portageToolsDir, repoRoot } from './env.js';

let portageSrc: string | undefined;

/** Path of the unpacked Portage tree (runs setup.sh once; it caches under ~/.cache). */
export function portageSource(): string {
  if (portageSrc) return portageSrc;
  if (process.env.PORTAGE_SRC) return (portageSrc = process.env.PORTAGE_SRC);
  const r = spawnSync(join(portageToolsDir, 'setup.sh'), [], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`portage setup.sh failed: ${r.stderr.slice(-500)}`);
  portageSrc = r.stdout.trim().split('\n').pop()!;
  return portageSrc;
}

/** Tools present and the programs the harness needs (python3, gcc for builds, wget or curl). */
export const portageAvailable =
  hasPortageTools &&
  ['zstd', 'bzip2', 'tar'].every((p) => spawnSync(p, ['--version'], { stdio: 'ignore' }).error === undefined) &&
  ['wget', 'curl'].some((p) => spawnSync(p, ['--version'], { stdio: 'ignore' }).error === undefined);

export interface GetbinpkgResult {
  ok: boolean;
  emerge_rc: number;
  merged: string[];
  fetched: { path: string; size: number; sha256: string }[];
  fetched_urls?: string[];
  error?: string | null;
  emerge_errors?: string[];
  run_check?: unknown;
  [k: string]: unknown;
}

/** Runs the real client against `binhost`; resolves with its JSON report and the tail of emerge's output. */
export function runGetbinpkg(binhost: string, atoms: string[], extra: string[] = [], timeoutMs = 300_000): Promise<{ code: number | null; report: GetbinpkgResult; log: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [join(portageToolsDir, 'getbinpkg.py'), binhost, ...atoms, ...extra], {
      env: { ...process.env, PORTAGE_SRC: portageSource() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      try {
        resolve({ code, report: JSON.parse(last) as GetbinpkgResult, log: err });
      } catch {
        reject(new Error(`getbinpkg.py printed no JSON (exit ${code}): ${err.slice(-2000)}`));
      }
    });
  });
}

/** A plain static file server over `dir` (what a dumb binhost is), for tests. */
export async function serveDir(dir: string): Promise<{ url: string; server: Server; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url.pathname);
    const path = normalize(join(dir, decodeURIComponent(url.pathname)));
    if (!path.startsWith(dir + sep)) {
      res.writeHead(403).end();
      return;
    }
    stat(path).then(
      (st) => {
        if (!st.isFile()) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream' });
        if (req.method === 'HEAD') return void res.end();
        createReadStream(path).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** What test/helpers/portage-upgrade.py reports after each phase. */
export interface ConsumerPhase {
  phase: 'install' | 'upgrade' | 'error';
  emerge_rc: number;
  emerge_args: string[];
  installed: { cpv: string; slot: string | null; build_id: string | null; build_time: string | null; use: string[] }[];
  hello: { rc: number; stdout: string; stderr: string } | null;
  merged_binary: string[];
  built_from_source: string[];
  errors: string[];
  log_tail: string;
  error?: string;
  [k: string]: unknown;
}

/**
 * A Portage consumer that keeps its prefix between emerges
 * (test/helpers/portage-upgrade.py): it installs `atoms` from `binhost`
 * at once; `upgrade()` syncs the repository (libgreet-2.0 appears) and runs
 * the upgrade emerge in the same prefix. Its temp dirs go under `tmp`.
 */
export function startPortageConsumer(binhost: string, atoms: string[], tmp: string, upgradeArgs: string[] = []) {
  const child = spawn('python3', [join(repoRoot, 'test/helpers/portage-upgrade.py'), binhost, ...atoms, ...upgradeArgs.map((a) => `--upgrade-arg=${a}`)], {
    env: { ...process.env, PORTAGE_SRC: portageSource(), PORTAGE_TOOLS: portageToolsDir, TMPDIR: tmp },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  const waiting: ((line: string | undefined) => void)[] = [];
  const lines: string[] = [];
  const push = (l: string | undefined) => (waiting.length ? waiting.shift()!(l) : l !== undefined && lines.push(l));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-30_000)));
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      push(out.slice(0, nl));
      out = out.slice(nl + 1);
    }
  });
  child.on('close', () => {
    while (waiting.length) waiting.shift()!(undefined);
  });
  const next = (): Promise<ConsumerPhase> =>
    new Promise((resolve, reject) => {
      const take = (l: string | undefined) => {
        if (l === undefined) return reject(new Error(`portage-upgrade.py ended without a report:\n${err.slice(-3000)}`));
        resolve(JSON.parse(l) as ConsumerPhase);
      };
      if (lines.length) take(lines.shift());
      else if (child.exitCode !== null) take(undefined);
      else waiting.push(take);
    });
  return {
    installed: next(),
    /** Syncs the repository (once) and runs the upgrade emerge; call again to see whether Portage has settled. */
    upgrade: (): Promise<ConsumerPhase> => {
      child.stdin.write('upgrade\n');
      return next();
    },
    stderr: () => err,
    /** Ends it (EOF: it removes its prefix and exits). */
    stop: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null || child.signalCode !== null) return r();
        child.once('close', () => r());
        child.stdin.end();
        setTimeout(() => child.kill('SIGTERM'), 30_000).unref();
      }),
  };
}
