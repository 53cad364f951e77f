/**
 * The dashboard in a real browser: Debian's Chromium driven by
 * playwright-core loads `/` of a running demo network (real processes,
 * test/helpers/demo-network.ts) and checks what a person would see —
 * packages with trust level 3 and the three operators, the queue with its
 * refusal, peers by role, the checkpoint and its witness, charts with data
 * — that nothing was requested from another origin and nothing logged an
 * error (a CSP violation would), and that the page refreshes itself.
 * Full-page screenshots go to test-artifacts/dashboard/.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { hasChromium, openBrowser } from '../helpers/browser.js';
import { hasProgram, need, repoRoot, tempDir } from '../helpers/env.js';
import { startDemoNetwork } from '../helpers/demo-network.js';

const ARTIFACTS = join(repoRoot, 'test-artifacts', 'dashboard');

test('dashboard of a running network in Chromium: trust levels with operators, queue, peers, checkpoint, charts; same origin only, no errors', { timeout: 420_000 }, async (t) => {
  if (!need(t, hasChromium, 'Chromium (/usr/bin/chromium)')) return;
  if (!need(t, hasProgram('cc'), 'a C compiler (cc)')) return;
  const dir = await tempDir(t);
  const net = await startDemoNetwork(t, dir);
  const origin = new URL(net.dashboard).origin;

  const browser = await openBrowser(t);
  const page = browser.pages()[0] ?? (await browser.newPage());
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => void ((m.type() === 'error' || m.type() === 'warning') && problems.push(`console ${m.type()}: ${m.text()}`)));
  page.on('pageerror', (e) => void problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => void problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('request', (r) => void requests.push(r.url()));

  const res = await page.goto(net.dashboard, { waitUntil: 'load' });
  assert.equal(res?.status(), 200);
  assert.match(res!.headers()['content-security-policy'] ?? '', /default-src 'none'/);

  // Packages: each requested configuration at trust level 3, attested by the three operators.
  for (const cpv of net.packages) {
    const row = page.locator(`#packages tr[data-cpv="${cpv}"]`);
    assert.equal(await row.count(), 1, `${cpv} listed once`);
    assert.equal(await row.getAttribute('data-level'), '3');
    assert.equal((await row.locator('.level').innerText()).trim(), '3');
    assert.deepEqual((await row.locator('.operator').allInnerTexts()).sort(), net.operators);
    assert.doesNotMatch(await row.innerText(), /disputed/);
  }
  assert.match(await page.locator('#packages h2').innerText(), /showing 2 of 2 configurations/);
  assert.match(await page.locator('#disputes').innerText(), /no disputes/);

  // Queue: everything done but the configuration with a USE flag the ebuild lacks, refused with the reason.
  const s = net.settled;
  assert.equal(await page.locator('#queue .counts [data-state="done"] b').innerText(), String(s.queue.counts.done));
  const doneBy = new Set(await page.locator('#queue tr.job[data-state="done"] .operator').allInnerTexts());
  assert.deepEqual([...doneBy].sort(), net.operators, 'finished jobs name the operator of their builder');
  assert.ok(s.queue.counts.done >= 6, `a build and two verifies per package: ${JSON.stringify(s.queue.counts)}`);
  assert.match(await page.locator('#queue tr.job[data-state="refused"]').innerText(), /USE flag gtk not in IUSE/);

  // Peers by role with health.
  const role = async (r: string) => (await page.locator(`#peers tr[data-role="${r}"] td`).allInnerTexts()).slice(1).map(Number);
  assert.deepEqual(await role('build'), [3, 3]);
  assert.deepEqual(await role('mirror'), [1, 1]);
  assert.ok((await page.locator('#peers tr.peer').count()) >= 4);

  // Replication, checkpoint and its witness.
  assert.ok((await page.locator('#replication tr.archive').count()) >= 1);
  const size = Number((await page.locator('#checkpoint .checkpoint-size').innerText()).replace(/,/g, ''));
  assert.ok(size >= s.checkpoint!.size, `checkpoint size ${size} shown`);
  assert.deepEqual(await page.locator('#checkpoint tr.witness td:first-child').allInnerTexts(), [net.witness]);

  // Charts: drawn, with data points.
  for (const id of ['chart-trust', 'chart-queue', 'chart-served']) assert.equal(await page.locator(`#${id} svg`).count(), 1, `${id} rendered`);
  const points = async (id: string, series: string) => Number(await page.locator(`#${id} polyline[data-series="${series}"]`).getAttribute('data-points'));
  assert.ok((await points('chart-trust', 'level ≥ 3')) >= 3);
  assert.ok((await points('chart-served', 'served (sum of peer counters)')) >= 3);
  assert.ok((await page.locator('#chart-trust circle.pt').count()) >= 9, 'dots on the trust chart');
  assert.notEqual(await page.locator('#tile-served b').innerText(), '0 B');

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-full.png'), fullPage: true });
  await page.setViewportSize({ width: 420, height: 900 });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-narrow.png'), fullPage: true });

  // The inline script refreshes the page by itself (it may run: the CSP admits it by hash).
  const again = page.waitForRequest((r) => r.url() === net.dashboard && r.resourceType() === 'fetch', { timeout: 30_000 });
  await again;
  await page.waitForLoadState('networkidle');
  assert.equal(await page.locator(`#packages tr[data-cpv="${net.packages[0]}"]`).count(), 1, 'still there after a refresh');

  const foreign = requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'));
  assert.deepEqual(foreign, [], 'no request to another origin');
  assert.deepEqual(problems, [], 'no console errors or failed requests');
  process.stdout.write(`# dashboard screenshots: ${join(ARTIFACTS, 'dashboard-full.png')}, ${join(ARTIFACTS, 'dashboard-narrow.png')}\n`);
});
