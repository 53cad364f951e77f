/** Runs the real `binswarm` CLI as a child process (compiled JS from dist/, or the TS source under tsx). */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fromDist, repoRoot } from './env.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cliArgv(): string[] {
  return fromDist
    ? ['--enable-source-maps', join(repoRoot, 'dist', 'src', 'cli', 'main.js')]
    : ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts')];
}

export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliArgv(), ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
