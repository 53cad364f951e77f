/**
 * `binswarm demo` (= `npm start`) as a newcomer runs it: real processes for
 * every role, the example packages built and cross-verified by three
 * operators until every one is trusted, the real `emerge --getbinpkgonly`
 * installing from its gateway, Ctrl-C stopping every process, the data kept
 * for the next start, no orphans after a kill -9, and `--reset`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli } from '../helpers/cli.js';
import { alive, allTrusted, startDemo, type DemoReady } from '../helpers/demo.js';
import { hasChromium, openBrowser } from '../helpers/browser.js';
import { hasProgram, need, repoRoot, tempDir } from '../helpers/env.js';
import { portageAvailable, runGetbinpkg } from '../helpers/portage.js';

interface Summary {
  packages: { cpv: string; use: string[]; level: number; operators: string[]; verdict: string; listed: boolean }[];
  queue: Record<string, number>;
  gateway: { listed: number; checkpointSize: number | null };
}

async function gone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  while (pids.some(alive) && Date.now() < deadline) await sleep(100);
  return pids.filter(alive);
}

test('binswarm demo: builders make every example package trusted, emerge installs from the gateway, Ctrl-C stops all, restart keeps the data', { timeout: 400_000 }, async (t) => {
  if (!need(t, hasProgram('cc'), 'a C compiler (cc)')) return;
  const dir = join(await tempDir(t), 'demo');

  const first = startDemo(['--dir', dir], t);
  const ready = await first.until<DemoReady>((e) => e.event === 'ready', 120_000);
  assert.equal(ready.pids.length, 8, 'coordinator, three builders, two mirrors, a witness, a gateway');
  const done = await first.until<Summary>(allTrusted, 240_000);
  assert.deepEqual(done.packages.map((p) => `${p.cpv} ${p.use.join(',')}`).sort(), [
    'app-misc/hello-demo-1.0 debug,nls', 'app-misc/hello-demo-1.0 nls', 'dev-libs/libdemo-1.0 ', 'dev-libs/libdemo-1.0 static-libs',
  ]);
  for (const p of done.packages) {
    assert.ok(p.level >= ready.threshold, `${p.cpv}: ${p.level} operators agree`);
    assert.equal(new Set(p.operators).size, p.level);
    assert.equal(p.verdict, 'trusted');
    assert.equal(p.listed, true);
  }
  const index = await (await fetch(`${ready.gateway}/Packages`)).text();
  assert.equal(index.match(/^CPV: /gm)?.length, 4, 'the gateway lists the four configurations');

  if (need(t, portageAvailable, 'the real Portage client (../shared/tools/portage)')) {
    const install = await runGetbinpkg(ready.gateway, ['app-misc/hello-demo'], ['--keep']);
    const eprefix = install.report.eprefix as string | undefined;
    t.after(() => eprefix && rmSync(eprefix, { recursive: true, force: true }));
    assert.equal(install.report.ok, true, `emerge from the demo gateway failed: ${install.report.error}\n${install.log.slice(-3000)}`);
    assert.deepEqual([...install.report.merged].sort(), ['app-misc/hello-demo-1.0', 'dev-libs/libdemo-1.0']);
    const run = spawnSync(join(eprefix!, 'usr/bin/hello-demo'), ['demo'], { env: { LD_LIBRARY_PATH: join(eprefix!, 'usr/lib64') }, encoding: 'utf8' });
    assert.match(run.stdout, /Hello, demo! \(libdemo ABI 1\)/, run.stderr);
  }

  // The demo's dashboard, in a real browser: the four configurations at their level, by the three operators.
  if (need(t, hasChromium, 'Chromium (/usr/bin/chromium)')) {
    const page = (await openBrowser(t)).pages()[0]!;
    const res = await page.goto(`${ready.dashboard}?refresh=0`, { waitUntil: 'load' });
    assert.equal(res?.status(), 200);
    const rows = page.locator('#packages tr[data-cpv]');
    assert.equal(await rows.count(), 4);
    for (let i = 0; i < 4; i++) {
      assert.equal(await rows.nth(i).getAttribute('data-level'), '3');
      assert.deepEqual((await rows.nth(i).locator('.operator').allInnerTexts()).sort(), ['alice', 'bob', 'carol']);
    }
    assert.deepEqual(await page.locator('#peers tr[data-role="build"] td').allInnerTexts().then((c) => c.slice(1).map(Number)), [3, 3]);
    assert.deepEqual(await page.locator('#peers tr[data-role="mirror"] td').allInnerTexts().then((c) => c.slice(1).map(Number)), [2, 2]);
    assert.deepEqual(await page.locator('#checkpoint tr.witness td:first-child').allInnerTexts(), ['demo-witness']);
    mkdirSync(join(repoRoot, 'test-artifacts', 'demo'), { recursive: true });
    await page.screenshot({ path: join(repoRoot, 'test-artifacts', 'demo', 'dashboard.png'), fullPage: true });
  }

  // Ctrl-C: the demo stops every process it started and says where the data is.
  first.proc.kill('SIGINT');
  assert.equal(await first.exited, 0, first.stderr());
  assert.equal(first.events.at(-1)?.event, 'stopped');
  assert.deepEqual(await gone(ready.pids, 5000), [], 'no process left behind');

  // Started again: the same network (same log, nothing rebuilt), trusted at once.
  const again = startDemo(['--dir', dir], t);
  const ready2 = await again.until<DemoReady>((e) => e.event === 'ready', 120_000);
  const resumed = await again.until<Summary>(allTrusted, 60_000);
  assert.equal(resumed.queue.done, done.queue.done, 'no job was run again');
  assert.ok((resumed.gateway.checkpointSize ?? 0) >= (done.gateway.checkpointSize ?? 0));
  // kill -9 of the demo itself: its children notice their stdin closing and stop.
  again.proc.kill('SIGKILL');
  await again.exited;
  assert.deepEqual(await gone(ready2.pids, 20_000), [], 'children stop when the demo is killed');

  // --reset: a new network (new trust root), built from scratch.
  const rootBefore = readFileSync(join(dir, 'keys', 'root.key.pub'), 'utf8');
  const reset = await runCli(['demo', '--dir', dir, '--reset', '--once', '--json', '--coordinator-listen', '127.0.0.1:0', '--gateway-listen', '127.0.0.1:0'], { timeoutMs: 300_000 });
  assert.equal(reset.code, 0, reset.stderr);
  assert.notEqual(readFileSync(join(dir, 'keys', 'root.key.pub'), 'utf8'), rootBefore);
  const last = reset.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(last.some(allTrusted));
  assert.equal(last.at(-1)?.event, 'stopped');
});

test('binswarm demo on a port already taken: one clear line naming the process and its log, nothing left running', { timeout: 60_000 }, async (t) => {
  const dir = join(await tempDir(t), 'demo');
  const taken = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => taken.once('listening', r));
  t.after(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  const r = await runCli(['demo', '--dir', dir, '--coordinator-listen', `127.0.0.1:${port}`, '--gateway-listen', '127.0.0.1:0', '--once']);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`coordinator exited \\(2\\) before it was ready: cannot listen on 127\\.0\\.0\\.1:${port}: .*address already in use.*\\(log: .*coordinator\\.log\\)`));
  assert.match(readFileSync(join(dir, 'logs', 'coordinator.log'), 'utf8'), /address already in use/);
});
