/**
 * `gateway` case, on a synthetic log of BENCH_GATEWAY_N (default 10⁶)
 * statements served by nginx (see gateway-log.ts for how it is made):
 *  - first sync from tiles (download, tree check against the checkpoint,
 *    local index) vs `curl | sha256sum` of the same bundles;
 *  - trust evaluation of a sample of builds, leaves opened (schema,
 *    buildKey, signature) on the attestation pool, vs raw Ed25519 verifies
 *    of the same signatures on a verify pool of the same size (same cores);
 *  - a refresh after 1,000 new statements on the 10⁶ log vs the same 1,000
 *    on a log holding only the certificates, and its HTTP requests;
 *  - peak RSS of the gateway process during the 10⁶ sync;
 *  - the coordinator serving tiles to 1,000 simulated gateways polling at
 *    once vs nginx serving the same files.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TileClient } from '../src/api/tile-client.js';
import { openStore } from '../src/coordinator/store/sql-store.js';
import { MerkleLog } from '../src/log/log.js';
import { mirrorTiles } from '../src/log/mirror.js';
import { bundlesBetween, decodeBundle, tilePath, TILE_WIDTH } from '../src/log/tiles.js';
import { writeKeyPair } from '../src/trust/files.js';
import { generateKey, publicKeyToPem } from '../src/trust/keys.js';
import { hasNginx, startNginx } from '../test/helpers/nginx.js';
import { benchKeys, CHOST, NEW, ORIGIN, syntheticLog } from './gateway-log.js';
import type { BenchResult } from './run.js';

const N = Number(process.env.BENCH_GATEWAY_N ?? 1_000_000);
const SAMPLE = Number(process.env.BENCH_GATEWAY_SAMPLE ?? 10_000);
const GATEWAYS = Number(process.env.BENCH_GATEWAY_POLLERS ?? 1000);
const SERVED_LOG = 20_000;

const here = new URL('.', import.meta.url).pathname;

function child<T>(job: object): T {
  const r = spawnSync(process.execPath, [join(here, 'gateway-child.js'), JSON.stringify(job)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`gateway bench child failed: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

/** curl fetching the bundles one after another over one connection, piped to sha256sum. */
function curlBaseline(url: string, n: number, work: string): number {
  const list = join(work, 'curl.txt');
  writeFileSync(list, [`url = "${url}/checkpoint"`, ...bundlesBetween(0, n).map((r) => `url = "${url}/${tilePath(r)}"`)].join('\n') + '\n');
  const t0 = process.hrtime.bigint();
  execFileSync('bash', ['-c', `curl -sf -K '${list}' | sha256sum > /dev/null`], { stdio: ['ignore', 'ignore', 'inherit'] });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * `pollers` gateways at once, each asking for the checkpoint, the newest
 * partial bundle and one full bundle. The load comes from curl --parallel
 * (C, one event loop; curl caps it at 300 transfers in flight), so the
 * client is not what is measured.
 */
function poll(base: string, size: number, pollers: number, work: string): number {
  const full = Math.floor(size / TILE_WIDTH);
  const partial = size % TILE_WIDTH ? tilePath({ level: 'entries', index: full, width: size % TILE_WIDTH }) : tilePath({ level: 'entries', index: full - 1, width: TILE_WIDTH });
  const list = join(work, 'poll.txt');
  const urls = Array.from({ length: pollers }, (_, i) => ['checkpoint', partial, tilePath({ level: 'entries', index: i % full, width: TILE_WIDTH })]).flat();
  writeFileSync(list, urls.map((u) => `url = "${base}/${u}"\noutput = "/dev/null"`).join('\n') + '\n');
  const t0 = process.hrtime.bigint();
  const out = execFileSync('curl', ['-s', '--no-progress-meter', '--parallel', '--parallel-max', String(Math.min(pollers, 1000)), '-K', list, '-w', '%{http_code}\n'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const failed = out.split('\n').filter((c) => c !== '' && c !== '200').length;
  if (failed > 0) throw new Error(`${failed} of ${urls.length} tile requests to ${base} failed`);
  return urls.length / seconds;
}

async function servingRatio(bundleDir: string, work: string, lines: string[]): Promise<number> {
  const dataDir = join(work, 'coord');
  const store = await openStore(join(dataDir, 'coordinator.db'));
  await writeKeyPair(join(dataDir, 'coordinator.key'), generateKey());
  // The first SERVED_LOG leaves of the synthetic log, appended as the coordinator would.
  for (let b = 0; b * TILE_WIDTH < SERVED_LOG; b++) {
    const leaves = decodeBundle(readFileSync(join(bundleDir, tilePath({ level: 'entries', index: b, width: TILE_WIDTH }))), TILE_WIDTH).map((l) => Buffer.from(l));
    await store.transaction(async (tx) => {
      const first = await new MerkleLog(tx.log).appendLeaves(leaves);
      await tx.putLeaves(first, leaves);
    });
  }
  const size = await store.log.size();
  await store.close();
  const proc = spawn(process.execPath, [join(here, '..', 'src', 'cli', 'main.js'), 'coordinator', '--data', dataDir, '--listen', '127.0.0.1:0', '--log-level', 'fatal'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      proc.stdout.setEncoding('utf8').once('data', (d: string) => resolve((JSON.parse(d.split('\n')[0]!) as { listening: string }).listening));
      proc.once('exit', () => reject(new Error('coordinator exited')));
    });
    const client = new TileClient(`${url}/log`);
    const out = join(work, 'served');
    await mirrorTiles({ checkpoint: () => client.checkpoint(), tile: (t) => client.tile(t) }, out);
    const nginx = await startNginx(out, join(work, 'nginx-served'));
    try {
      poll(`${url}/log`, size, 100, work); // warm both: the coordinator's tile cache, nginx's page cache
      poll(nginx.url, size, 100, work);
      const coord = poll(`${url}/log`, size, GATEWAYS, work);
      const ng = poll(nginx.url, size, GATEWAYS, work);
      lines.push(`${GATEWAYS} gateways polling at once (checkpoint, newest partial bundle, one full bundle; log of ${size}): coordinator ${coord.toFixed(0)} req/s, nginx ${ng.toFixed(0)} req/s`);
      return coord / ng;
    } finally {
      await nginx.stop();
    }
  } finally {
    proc.kill('SIGTERM');
  }
}

export default async function gatewayBench(): Promise<BenchResult> {
  const lines: string[] = [];
  const ratios: Record<string, number> = {};
  if (!hasNginx || spawnSync('curl', ['--version']).error) return { name: 'gateway', lines: ['skipped: nginx and curl are needed'], ratios };
  const log = await syntheticLog(N, (l) => process.stderr.write(`  ${l}\n`));
  const keys = await benchKeys(log.dir);
  writeFileSync(join(log.dir, 'root.pub'), publicKeyToPem(keys.root.publicKey));
  writeFileSync(join(log.dir, 'log.pub'), publicKeyToPem(keys.log.publicKey));
  const policy = join(log.dir, 'policy.toml');
  writeFileSync(policy, `roots = ["root.pub"]\nthreshold = 2\n[log]\nname = "${ORIGIN}"\nkey = "log.pub"\n`);
  for (const d of [log.big, log.small]) copyFileSync(join(d, 'checkpoint.base'), join(d, 'checkpoint'));
  const work = mkdtempSync(join(tmpdir(), 'binswarm-bench-gw-'));
  const nginx = await startNginx(log.dir, join(work, 'nginx'));
  try {
    const big = `${nginx.url}/big`;
    const small = `${nginx.url}/small`;
    const mb = log.firstSyncBytes / 1e6;
    lines.push(`synthetic log: ${N} statements (${log.dir}), first sync downloads ${mb.toFixed(0)} MB of entry bundles`);
    curlBaseline(big, N, work); // warm the page cache for both
    const curlMs = curlBaseline(big, N, work);
    const first = child<{ ms: number; size: number; requests: number; maxRssMB: number }>({ mode: 'first', tiles: big, data: join(work, 'gw-big'), policy, chost: CHOST });
    lines.push(`first sync of ${first.size}: ${(first.ms / 1000).toFixed(1)} s (${(mb / (first.ms / 1000)).toFixed(0)} MB/s, ${first.requests} requests); curl | sha256sum of the same bytes: ${(curlMs / 1000).toFixed(1)} s`);
    ratios['first sync from tiles vs curl|sha256sum'] = curlMs / first.ms;
    lines.push(`peak RSS of the gateway during the ${N} sync: ${first.maxRssMB.toFixed(0)} MB (budget 300 MB)`);
    ratios['peak RSS budget (300 MB) / peak RSS'] = 300 / first.maxRssMB;

    copyFileSync(join(log.big, 'checkpoint.new'), join(log.big, 'checkpoint'));
    const rBig = child<{ ms: number; requests: number; reevaluated: number; verified: number }>({ mode: 'refresh', tiles: big, data: join(work, 'gw-big'), policy, chost: CHOST });
    child({ mode: 'first', tiles: small, data: join(work, 'gw-small'), policy, chost: CHOST });
    copyFileSync(join(log.small, 'checkpoint.new'), join(log.small, 'checkpoint'));
    const rSmall = child<{ ms: number; requests: number; reevaluated: number; verified: number }>({ mode: 'refresh', tiles: small, data: join(work, 'gw-small'), policy, chost: CHOST });
    lines.push(`refresh after ${NEW} new statements: on the ${N} log ${rBig.ms.toFixed(0)} ms (${rBig.requests} HTTP requests, ${rBig.reevaluated} builds re-evaluated, ${rBig.verified} signatures verified); on a log of only the certificates ${rSmall.ms.toFixed(0)} ms (${rSmall.requests} requests)`);
    ratios[`refresh of ${NEW} new: empty log / 10^6 log (≥ 0.5 means ≤ 2x)`] = rSmall.ms / rBig.ms;
    ratios[`HTTP requests per refresh of ${NEW} new: limit 20 / requests`] = 20 / rBig.requests;
    // After the refreshes, so the sample's decisions do not sit in the refreshed gateway's state.
    const v = child<{ statements: number; builds: number; trusted: number; evalMs: number; raw: number; rawMs: number }>({ mode: 'verify', tiles: big, data: join(work, 'gw-big'), policy, chost: CHOST, sample: SAMPLE });
    const ours = v.statements / (v.evalMs / 1000);
    const raw = v.raw / (v.rawMs / 1000);
    lines.push(`trust evaluation of ${v.builds} builds (${v.trusted} trusted): ${v.statements} statements verified at ${ours.toFixed(0)}/s; raw Ed25519 on a pool of the same threads: ${raw.toFixed(0)}/s`);
    ratios['statements verified/s vs raw Ed25519 (same cores)'] = ours / raw;

    ratios[`coordinator serving tiles to ${GATEWAYS} polling gateways vs nginx`] = await servingRatio(log.big, work, lines);
  } finally {
    await nginx.stop();
    for (const d of [log.big, log.small]) copyFileSync(join(d, 'checkpoint.base'), join(d, 'checkpoint'));
    rmSync(work, { recursive: true, force: true });
  }
  return { name: 'gateway', lines, ratios };
}
