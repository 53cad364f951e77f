/**
 * The demo's child processes: each role is a real `binswarm` process, as on
 * a real network. A child runs in its own process group (Ctrl-C reaches the
 * demo only, which stops the children in order) and gets a pipe as stdin
 * with BINSWARM_EXIT_WITH_STDIN=1: if the demo dies without stopping them
 * (kill -9), the pipe closes and each child stops itself — no orphans.
 * Children run the same entry point (and Node flags) as the demo itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { BinswarmError } from '../errors.js';

export const EXIT_WITH_STDIN_ENV = 'BINSWARM_EXIT_WITH_STDIN';

export interface Child<T> {
  name: string;
  ready: T;
  proc: ChildProcess;
  log: string;
}

export class Children {
  private readonly running: Child<unknown>[] = [];

  constructor(private readonly logDir: string, private readonly env: NodeJS.ProcessEnv) {}

  /** Starts `binswarm ARGS` and resolves with the JSON line it prints when ready. */
  start<T>(name: string, args: string[], timeoutMs = 60_000): Promise<Child<T>> {
    const log = join(this.logDir, `${name}.log`);
    const out = createWriteStream(log, { flags: 'a' });
    const proc = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...this.env, [EXIT_WITH_STDIN_ENV]: '1' } });
    let tail = '';
    proc.stderr!.on('data', (d: Buffer) => (tail = (tail + d.toString('utf8')).slice(-4000)));
    proc.stderr!.pipe(out, { end: false });
    return new Promise((resolve, reject) => {
      let buf = '';
      let done = false;
      const fail = (why: string) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        proc.kill('SIGKILL');
        // Its last words (e.g. "cannot listen on …: address already in use") say why.
        const last = tail.trim().split('\n').filter((l) => l.startsWith('binswarm:')).pop() ?? tail.trim().split('\n').pop() ?? '';
        reject(new BinswarmError('DEMO_CHILD', `${name} ${why}${last ? `: ${last.replace(/^binswarm: /, '')}` : ''} (log: ${log})`));
      };
      const timer = setTimeout(() => fail(`not ready after ${timeoutMs / 1000} s`), timeoutMs);
      proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
        if (done) return void out.write(d);
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        done = true;
        clearTimeout(timer);
        out.write(buf.slice(nl + 1));
        try {
          const child = { name, ready: JSON.parse(buf.slice(0, nl)) as T, proc, log };
          this.running.push(child);
          proc.stdout!.pipe(out, { end: false });
          resolve(child);
        } catch {
          proc.kill('SIGKILL');
          reject(new BinswarmError('DEMO_CHILD', `${name} printed '${buf.slice(0, nl)}' instead of its ready line (log: ${log})`));
        }
      });
      proc.once('exit', (code, signal) => fail(`exited (${code ?? signal}) before it was ready`));
    });
  }

  /** Children that died on their own: name and exit status. */
  dead(): { name: string; status: string }[] {
    return this.running.filter((c) => c.proc.exitCode !== null || c.proc.signalCode !== null).map((c) => ({ name: c.name, status: String(c.proc.exitCode ?? c.proc.signalCode) }));
  }

  /** Started children whose ready line gave an address (`listening`). */
  urls(): { name: string; url: string }[] {
    return this.running.flatMap((c) => {
      const url = (c.ready as { listening?: unknown }).listening;
      return typeof url === 'string' ? [{ name: c.name, url }] : [];
    });
  }

  pids(): number[] {
    return this.running.map((c) => c.proc.pid!).filter((p) => p !== undefined);
  }

  /** Stops every child, last started first: SIGTERM, then SIGKILL after `graceMs`. */
  async stopAll(graceMs = 10_000): Promise<void> {
    for (const c of this.running.splice(0).reverse()) {
      if (c.proc.exitCode !== null || c.proc.signalCode !== null) continue;
      const exited = new Promise<void>((r) => c.proc.once('exit', () => r()));
      c.proc.kill('SIGTERM');
      const timer = setTimeout(() => c.proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
  }
}
