/**
 * Where the tests find things, and how they skip when a system dependency is
 * missing. Under BINSWARM_REQUIRE_ALL=1 (set by .ci/run) a missing dependency
 * fails the test instead, so CI cannot pass by skipping.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith(`${'/'}dist`)) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + start);
    dir = up;
  }
  return dir;
}

/** The repository root (works from test/ under tsx and from dist/test/). */
export const repoRoot = findRoot(dirname(fileURLToPath(import.meta.url)));
/** True when running compiled JS from dist/. */
export const fromDist = fileURLToPath(import.meta.url).includes(`${'/'}dist${'/'}`);
/** `../shared` beside the repository (override with BINSWARM_SHARED). */
export const sharedDir = resolve(process.env.BINSWARM_SHARED ?? join(repoRoot, '..', 'shared'));
export const fixturesDir = join(sharedDir, 'fixtures', 'portage');
export const portageToolsDir = join(sharedDir, 'tools', 'portage');
export const requireAll = process.env.BINSWARM_REQUIRE_ALL === '1';

/**
 * Skip the test with a visible reason when `available` is false — or fail it
 * under BINSWARM_REQUIRE_ALL=1. Returns true when the test may go on.
 * Usage: `if (!need(t, existsSync(fixturesDir), 'shared fixtures')) return;`
 */
export function need(t: TestContext, available: boolean, what: string): boolean {
  if (available) return true;
  const reason = `missing system dependency: ${what}`;
  if (requireAll) throw new Error(`${reason} (BINSWARM_REQUIRE_ALL=1 forbids skipping)`);
  t.skip(reason);
  return false;
}

/** True when `cmd --version` (or the given args) runs. */
export function hasProgram(cmd: string, args: string[] = ['--version']): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.error === undefined;
}

export const hasFixtures = existsSync(join(fixturesDir, 'zstd', 'Packages'));
export const hasPortageTools = existsSync(join(portageToolsDir, 'getbinpkg.py')) && hasProgram('python3');

/** A fresh temp dir, removed when the test ends. */
export async function tempDir(t: TestContext | { after: (fn: () => unknown) => void }, prefix = 'binswarm-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Reads a JSON data file from test/fixtures/<area>/ (it stays in the source tree; tsc does not copy it). */
export function loadTestFixture<T = unknown>(area: string, name: string): T {
  return JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', area, name), 'utf8')) as T;
}

/** A free port from the kernel, for servers that cannot listen on port 0 themselves (nginx, PostgreSQL). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
