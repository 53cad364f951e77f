/** Real binswarm processes for end-to-end tests: start, wait for the JSON "ready" line, stop. */
import { spawn, type ChildProcess } from 'node:child_process';
import { cliArgv } from './cli.js';
import { repoRoot } from './env.js';

export interface Running<T> {
  ready: T;
  proc: ChildProcess;
  stderr: () => string;
  /** Everything printed on stdout after the ready line (e.g. `--json` progress). */
  stdout: () => string;
  stop: () => Promise<void>;
}

export function startBinswarm<T = { listening: string }>(args: string[], t: { after: (fn: () => unknown) => void }, timeoutMs = 60_000, env?: NodeJS.ProcessEnv): Promise<Running<T>> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...cliArgv(), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) });
    let out = '';
    let err = '';
    const stop = () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return r();
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
      });
    t.after(stop);
    const timer = setTimeout(() => reject(new Error(`binswarm ${args[0]} not ready after ${timeoutMs} ms:\n${err}`)), timeoutMs);
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-50_000)));
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0 && timer) {
        clearTimeout(timer);
        try {
          resolve({ ready: JSON.parse(out.slice(0, nl)) as T, proc, stderr: () => err, stdout: () => out.slice(nl + 1), stop });
        } catch {
          reject(new Error(`unexpected first line from binswarm ${args[0]}: ${out.slice(0, nl)}`));
        }
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`binswarm ${args[0]} exited (${code}) before it was ready:\n${err}`));
    });
  });
}

/** Polls `probe` until it gives a value: the processes work on their own, a test only waits for them. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, explain: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}\n${explain()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
