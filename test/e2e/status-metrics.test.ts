/**
 * A user's machine, with real processes: a coordinator, a contributing node,
 * a gateway. `binswarm status` reads the gateway's and the node's status
 * endpoints; Prometheus `/metrics` is scraped over HTTP from all three and
 * its figures agree with what happened.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StatusReport } from '../../src/cli/status.js';
import { runCli } from '../helpers/cli.js';
import { fixturesDir, hasFixtures, need, tempDir } from '../helpers/env.js';
import { operatorWorld } from '../helpers/operators.js';
import { startBinswarm } from '../helpers/procs.js';

/** One sample of a Prometheus text exposition: `name{labels} value`, labels given as a subset. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

async function scrape(url: string): Promise<string> {
  const r = await fetch(`${url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return r.text();
}

test('binswarm status and /metrics on a running coordinator, node and gateway', { timeout: 180_000 }, async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  const dir = await tempDir(t);
  const alice = operatorWorld(dir, ['alice']).people[0]!;
  const builderKey = alice.key;
  writeFileSync(join(dir, 'policy.toml'), 'roots = ["root.key.pub"]\nthreshold = 1\n[overrides]\n"app-doc/*" = "never"\n');

  const coord = await startBinswarm(['coordinator', '--data', join(dir, 'coord'), '--listen', '127.0.0.1:0', '--roots', join(dir, 'root.key.pub')], t);
  const C = coord.ready.listening;
  const node = await startBinswarm<{ listening: string; roles: string[] }>(['node', '--roles', 'contribute', '--coordinator', C, '--data', join(dir, 'node'), '--key', builderKey, '--listen', '127.0.0.1:0'], t);
  assert.deepEqual(node.ready.roles, ['contribute']);
  const pub = await runCli(['publish', join(fixturesDir, 'zstd'), '--coordinator', C, '--key', builderKey, ...alice.certs.flatMap((c) => ['--cert', c]), '--data', join(dir, 'node'), '--public-url', node.ready.listening, '--json']);
  assert.equal(pub.code, 0, pub.stderr);
  const gw = await startBinswarm<{ listening: string; served: number }>(['gateway', '--coordinator', C, '--data', join(dir, 'gw'), '--policy', join(dir, 'policy.toml'), '--listen', '127.0.0.1:0', '--interval', '3600', '--no-sign'], t, 120_000);
  const G = gw.ready.listening;
  assert.equal(gw.ready.served, 2, gw.stderr()); // greet-doc opted out
  const index = await (await fetch(`${G}/Packages`)).text();
  const path = /^PATH: (app-misc\/hello\/\S+)$/m.exec(index)![1]!;
  const pkg = Buffer.from(await (await fetch(`${G}/${path}`)).arrayBuffer());

  // status, as JSON and for people
  const s = await runCli(['status', '--gateway', G, '--node', node.ready.listening, '--json']);
  assert.equal(s.code, 0, s.stderr);
  const report = JSON.parse(s.stdout) as StatusReport;
  assert.deepEqual(report.roles, ['contribute']);
  assert.deepEqual(report.gateway, { url: G, reachable: true, listed: 2 });
  assert.deepEqual(report.trust, { trusted: 2, untrusted: 1 });
  const coordMetrics = await scrape(C);
  const logSize = sample(coordMetrics, 'binswarm_log_size')!;
  assert.ok(logSize >= 5, 'two certificates and three attestations logged');
  assert.equal(report.checkpoint?.size, logSize);
  assert.ok(report.checkpoint!.ageSeconds < 3600);
  assert.equal(report.node.reachable, true);
  // The gateway lists lazily: it fetched the one archive Portage asked for from this node (in one request, or in pieces).
  assert.ok(report.contribution.node!.blobsServed >= 1, JSON.stringify(report.contribution));
  assert.ok(report.contribution.node!.bytesServed >= pkg.length, JSON.stringify(report.contribution));
  assert.equal(report.contribution.gateway?.packagesServed, 1);
  assert.equal(report.contribution.gateway?.bytesServed, pkg.length);
  assert.equal(report.contribution.gateway?.fetched, 1);
  const human = await runCli(['status', '--gateway', G, '--node', node.ready.listening]);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /^roles +contribute$/m);
  assert.match(human.stdout, /^trust +2 build\(s\) trusted · 1 not trusted by your policy$/m);
  assert.match(human.stdout, new RegExp(`^checkpoint +size ${logSize} · verified `, 'm'));

  // metrics: the coordinator
  assert.equal(sample(coordMetrics, 'binswarm_attestations_accepted_total'), 3);
  assert.equal(sample(coordMetrics, 'binswarm_http_requests_total', { component: 'coordinator', route: '/v1/attestations/batch', method: 'POST', status: '200' }), 1);
  assert.equal(sample(coordMetrics, 'binswarm_build_queue_length'), 0);
  assert.ok(sample(coordMetrics, 'binswarm_process_resident_memory_bytes')! > 0);
  // the gateway: listing, trust, bytes served to Portage by route
  const gwMetrics = await scrape(G);
  assert.equal(sample(gwMetrics, 'binswarm_gateway_packages_listed'), 2);
  assert.equal(sample(gwMetrics, 'binswarm_gateway_builds_untrusted'), 1);
  assert.equal(sample(gwMetrics, 'binswarm_http_response_bytes_total', { route: '/:cat/:pn/:file' }), pkg.length);
  assert.equal(sample(gwMetrics, 'binswarm_http_requests_total', { route: '/Packages', status: '200' }), 1);
  assert.equal(sample(gwMetrics, 'binswarm_gateway_fetches'), 1);
  // the node: blobs served to peers
  const nodeMetrics = await scrape(node.ready.listening);
  // Sum over the blob routes, whatever their patterns are called.
  const blobBytes = nodeMetrics.split('\n').filter((l) => l.startsWith('binswarm_http_response_bytes_total{') && /route="\/blobs\//.test(l)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  assert.equal(blobBytes, report.contribution.node!.bytesServed, 'status and metrics count the same bytes');

  // Structured logs: stderr is a pipe here, so every line is a JSON record.
  const records = gw.stderr().trim().split('\n').map((l) => JSON.parse(l) as { component: string; level: number; msg: string; time: number });
  assert.ok(records.some((r) => r.component === 'gateway' && r.level === 30 && /^refreshed: checkpoint 0 → \d+, 3 build\(s\) re-evaluated, \d+ signature\(s\) verified, 2 listed$/.test(r.msg)), gw.stderr());
  assert.deepEqual(coord.stderr().trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg), [`coordinator on ${C}`]);

  // A gateway that is down: exit 1, said plainly.
  await gw.stop();
  const down = await runCli(['status', '--gateway', G, '--node', node.ready.listening]);
  assert.equal(down.code, 1);
  assert.match(down.stdout, new RegExp(`^gateway +${G.replace(/[.]/g, '\\.')} NOT reachable \\(ECONNREFUSED\\)$`, 'm'));
});
