/**
 * A running demo network with real processes, for tests that look at it
 * from outside (the dashboard in a browser): a coordinator sampling every
 * second, three example-backend builders of three operators, a mirror, the
 * example packages requested (one with a USE flag the ebuild lacks, so the
 * queue shows a refusal), and a witness once the log has entries.
 * ONE function, so it can become `binswarm demo --dir D --port 0 --json`
 * (whose first line gives the same `coordinator`/`dashboard` URLs).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { TestContext } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import type { DashboardReply } from '../../src/api/v1.js';
import { generateKey, privateKeyToPem } from '../../src/trust/keys.js';
import { runCli } from './cli.js';
import { repoRoot } from './env.js';
import { operatorWorld } from './operators.js';
import { startBinswarm, until, type Running } from './procs.js';

export interface DemoNetwork {
  coordinator: string;
  dashboard: string;
  /** Operator names of the three builders. */
  operators: string[];
  /** CPVs requested, each expected at trust level 3. */
  packages: string[];
  witness: string;
  /** The dashboard JSON once everything has settled. */
  settled: DashboardReply;
  logs: () => string;
}

function keyFile(dir: string, name: string): string {
  const path = join(dir, `${name}.key`);
  writeFileSync(path, privateKeyToPem(generateKey()), { mode: 0o600 });
  return path;
}

export async function startDemoNetwork(t: TestContext, dir: string): Promise<DemoNetwork> {
  const operators = ['alice', 'bob', 'carol'];
  const w = operatorWorld(dir, operators);
  const procs: Running<unknown>[] = [];
  const logs = () => procs.map((p) => `--- stderr\n${p.stderr().slice(-2000)}`).join('\n');
  const coord = await startBinswarm<{ listening: string; dashboard: string }>(
    ['coordinator', '--data', join(dir, 'coord'), '--listen', '127.0.0.1:0', '--roots', w.rootPub, '--verify-target', '3', '--heartbeat', '5', '--sample-interval', '1', '--probe-interval', '2'],
    t,
  );
  procs.push(coord);
  const C = coord.ready.listening;
  const node = (name: string, key: string, args: string[]) =>
    // A relative --data (so a relative default --build-dir), as test/e2e/builders.test.ts does.
    startBinswarm(['node', '--coordinator', C, '--data', relative(repoRoot, join(dir, `node-${name}`)), '--key', key, '--listen', '127.0.0.1:0', '--report-interval', '1', ...args], t, 60_000);
  procs.push(...(await Promise.all(w.people.map((p) => node(p.name, p.key, ['--roles', 'build', ...p.certs.flatMap((c) => ['--cert', c]), '--poll', '0.2', '--backend', 'example'])))));
  procs.push(await node('mirror', keyFile(dir, 'mirror'), ['--roles', 'mirror', '--quota', '1G', '--domain', 'lab', '--sync-interval', '1']));

  const request = async (atom: string, use: string) => {
    const r = await runCli(['request', atom, '--coordinator', C, '--key', w.consumer, '--json', '--repo', 'binswarm-example', '--use', use]);
    assert.equal(r.code, 0, `request ${atom}: ${r.stderr}`);
  };
  await request('=dev-libs/libdemo-1.0', 'static-libs');
  await request('=app-misc/hello-demo-1.0', 'nls');
  await request('=app-misc/hello-demo-1.0', 'nls gtk');
  const packages = ['dev-libs/libdemo-1.0', 'app-misc/hello-demo-1.0'];

  const client = new CoordinatorClient(C);
  await until('both packages at trust level 3', async () => {
    const d = await client.dashboard();
    return packages.every((cpv) => d.packages.shown.some((p) => p.cpv === cpv && p.level === 3)) && d.queue.counts.queued + d.queue.counts.leased === 0;
  }, 180_000, logs);
  const witness = 'witness-lab';
  procs.push(await startBinswarm(['witness', '--coordinator', C, '--data', join(dir, 'witness'), '--key', keyFile(dir, 'witness'), '--name', witness, '--interval', '1'], t, 60_000));
  const settled = await until('the mirror replicas, bytes served, a cosigned checkpoint and samples of it all', async () => {
    const d = await client.dashboard();
    const last = d.samples.items[d.samples.items.length - 1];
    const ok = d.replication.archives > 0 && d.replication.belowTarget < d.replication.archives && d.peers.served > 0 && (d.checkpoint?.witnesses.length ?? 0) > 0 && last && last.served > 0 && (last.levels['3'] ?? 0) === packages.length && d.samples.items.length >= 3;
    return ok && d;
  }, 120_000, logs);
  return { coordinator: C, dashboard: coord.ready.dashboard, operators, packages, witness, settled, logs };
}
