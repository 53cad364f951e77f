/** `binswarm demo --json` as a test sees it: the ready line, then summaries until the network is trusted. */
import { spawn, type ChildProcess } from 'node:child_process';
import { cliArgv } from './cli.js';
import { repoRoot } from './env.js';

export interface DemoReady {
  event: 'ready';
  coordinator: string;
  dashboard: string;
  gateway: string;
  dir: string;
  pids: number[];
  threshold: number;
}

export interface DemoRun {
  proc: ChildProcess;
  /** Every JSON line printed so far. */
  events: { event: string; [k: string]: unknown }[];
  stderr: () => string;
  /** Resolves with the first event `pred` accepts (rejects when the demo exits first or after `timeoutMs`). */
  until: <T = Record<string, unknown>>(pred: (e: Record<string, unknown>) => boolean, timeoutMs: number) => Promise<T>;
  exited: Promise<number | null>;
}

export function startDemo(args: string[], t: { after: (fn: () => unknown) => void }): DemoRun {
  const proc = spawn(process.execPath, [...cliArgv(), 'demo', '--json', '--coordinator-listen', '127.0.0.1:0', '--gateway-listen', '127.0.0.1:0', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: DemoRun['events'] = [];
  const waiters: (() => void)[] = [];
  let err = '';
  let buf = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-20_000)));
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      events.push(JSON.parse(buf.slice(0, nl)) as DemoRun['events'][number]);
      buf = buf.slice(nl + 1);
    }
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  void exited.then(() => { for (const w of waiters.splice(0)) w(); });
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  const until = <T>(pred: (e: Record<string, unknown>) => boolean, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const look = () => {
        const hit = events.find(pred);
        if (hit) return resolve(hit as T);
        if (proc.exitCode !== null || proc.signalCode !== null) return reject(new Error(`the demo exited (${proc.exitCode ?? proc.signalCode}):\n${err}`));
        if (Date.now() > deadline) return reject(new Error(`the demo did not get there in ${timeoutMs} ms; last: ${JSON.stringify(events.at(-1))}\n${err}`));
        waiters.push(look);
        setTimeout(look, 1000).unref();
      };
      look();
    });
  return { proc, events, stderr: () => err, until, exited };
}

export const allTrusted = (e: Record<string, unknown>) => e.event === 'summary' && e.allTrusted === true;

/** Whether a process id is still alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
