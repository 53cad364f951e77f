/**
 * `swarm` case.
 * P2 — one holder on loopback: the swarm downloader (parallel ranges, every
 *   piece verified, whole sha256, fsync, install) against curl fetching the
 *   same file from the same nginx (no verification). Target ≥ 0.8×.
 * P3 — 8 holders each capped at C bytes/s (the node's blob server and token
 *   bucket): aggregate against 8C (target ≥ 0.9) and against aria2c
 *   downloading the same file from the same 8 servers (target ≥ 1.0×).
 * P6 — churn: mirrors up with probability p, r replicas placed by the real
 *   placement function: measured availability against 1−(1−p)^r (target:
 *   within 1 point), and the share of archives back at r after repair.
 * Sizes: SWARM_BENCH_MIB (P2, default 1024), SWARM_BENCH_P3_MIB (default 256),
 * SWARM_BENCH_RATE_MIB (C, default 20).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { place, type PlacementMirror } from '../src/coordinator/placement.js';
import { BlobStore } from '../src/transfer/blob-store.js';
import { PartialFile } from '../src/transfer/partial-file.js';
import { pieceRootOf, pieceHashesOf } from '../src/transfer/pieces.js';
import { swarmDownload } from '../src/transfer/swarm.js';
import { startNginx } from '../test/helpers/swarm.js';
import type { BenchResult } from './run.js';

const MiB = 1 << 20;
const here = fileURLToPath(new URL('.', import.meta.url));

/** Incompressible-looking, deterministic, fast to make: a random MiB with its index stamped in. */
function makeFile(path: string, mib: number): void {
  const block = Buffer.from(createHash('sha512').update('seed').digest());
  const chunk = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i += 64) createHash('sha512').update(block).update(String(i)).digest().copy(chunk, i);
  const fd = openSync(path, 'w');
  for (let i = 0; i < mib; i++) {
    chunk.writeUInt32BE(i, 0);
    writeSync(fd, chunk);
  }
  closeSync(fd);
}

async function timed<T>(fn: () => Promise<T> | T): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function prepare(dir: string, mib: number) {
  mkdirSync(dir, { recursive: true });
  const src = join(dir, 'src');
  makeFile(src, mib);
  const store = await BlobStore.open(join(dir, 'store'));
  const { sha256, size } = await store.importFile(src);
  rmSync(src);
  const pieceRoot = pieceRootOf(await pieceHashesOf(store.path(sha256)));
  spawnSync('chmod', ['-R', 'a+rX', dir]);
  return { store, archive: { sha256, size, pieceRoot } };
}

async function download(archive: { sha256: string; size: number; pieceRoot: string }, urls: string[], out: string): Promise<number> {
  const secs = await timed(() => swarmDownload(archive, urls.map((url, i) => ({ url, peer: `h${i}` })), out));
  await PartialFile.discard(out);
  return secs;
}

function p6(): { lines: string[]; ratios: Record<string, number> } {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const mirrors: PlacementMirror[] = Array.from({ length: 40 }, (_, i) => ({ id: `m${i}`, capacity: 1e12, domain: `d${i % 10}` }));
  const archives = Array.from({ length: 2000 }, (_, i) => ({ sha256: createHash('sha256').update(`a${i}`).digest('hex'), size: 1, demand: 0 }));
  const lines: string[] = [];
  const ratios: Record<string, number> = {};
  for (const [p, r] of [[0.9, 2], [0.8, 3], [0.7, 3]] as const) {
    const placed = place(archives, mirrors, { minReplicas: r, spare: false });
    let avail = 0;
    let total = 0;
    let atTarget = 0;
    const trials = 50;
    for (let trial = 0; trial < trials; trial++) {
      const up = new Set(mirrors.filter(() => rand() < p).map((m) => m.id));
      for (const ids of placed.values()) {
        total++;
        if (ids.some((id) => up.has(id))) avail++;
      }
      // Repair: place again over the mirrors that are up.
      const repaired = place(archives, mirrors.filter((m) => up.has(m.id)), { minReplicas: r, spare: false });
      atTarget += [...repaired.values()].filter((ids) => ids.length >= r).length / archives.length;
    }
    const measured = avail / total;
    const expected = 1 - (1 - p) ** r;
    lines.push(`P6 p=${p} r=${r}: availability ${(measured * 100).toFixed(2)}% vs 1-(1-p)^r ${(expected * 100).toFixed(2)}% (${(Math.abs(measured - expected) * 100).toFixed(2)} points); after repair ${((atTarget / trials) * 100).toFixed(1)}% of archives at r`);
    ratios[`P6 p=${p} r=${r} availability measured/expected`] = measured / expected;
    ratios[`P6 p=${p} r=${r} at target after repair`] = atTarget / trials;
  }
  return { lines, ratios };
}

export default async function bench(): Promise<BenchResult> {
  const lines: string[] = [];
  const ratios: Record<string, number> = {};
  const cleanups: (() => unknown)[] = [];
  const t = { after: (fn: () => unknown) => void cleanups.push(fn) };
  const work = mkdtempSync(join(tmpdir(), 'binswarm-bench-swarm-'));
  chmodSync(work, 0o755); // nginx's workers run unprivileged
  try {
    // ---- P2
    const mib = Number(process.env.SWARM_BENCH_MIB ?? 1024);
    const p2 = await prepare(join(work, 'p2'), mib);
    const nginx = await startNginx(t, join(work, 'p2', 'store'));
    const url = `${nginx.url}/${BlobStore.relPath(p2.archive.sha256)}`;
    const out = join(work, 'out');
    let curl = Infinity;
    let ours = Infinity;
    for (let i = 0; i < 3; i++) {
      curl = Math.min(curl, await timed(() => spawnSync('curl', ['-sf', '-o', out, url]).status === 0 || Promise.reject(new Error('curl failed'))));
      if (statSync(out).size !== p2.archive.size) throw new Error('curl got a short file');
      rmSync(out);
      ours = Math.min(ours, await download(p2.archive, [nginx.url], out));
    }
    lines.push(`P2 ${mib} MiB, one holder (nginx) on loopback: curl ${((mib / curl)).toFixed(0)} MiB/s, swarm ${(mib / ours).toFixed(0)} MiB/s (piece + whole sha256 verified, fsynced); best of 3`);
    ratios['P2 swarm vs curl (one holder, verified)'] = curl / ours;
    await nginx.stop();
    rmSync(join(work, 'p2'), { recursive: true, force: true });

    // ---- P3
    const p3mib = Number(process.env.SWARM_BENCH_P3_MIB ?? 256);
    const c = Number(process.env.SWARM_BENCH_RATE_MIB ?? 20) * MiB;
    const p3 = await prepare(join(work, 'p3'), p3mib);
    const child = spawn(process.execPath, [join(here, 'swarm-holders.js'), join(work, 'p3', 'store'), '8', String(c)], { stdio: ['pipe', 'pipe', 'inherit'] });
    cleanups.push(() => child.stdin.end());
    const urls = await new Promise<string[]>((resolve, reject) => {
      let buf = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        if (buf.includes('\n')) resolve((JSON.parse(buf.slice(0, buf.indexOf('\n'))) as { urls: string[] }).urls);
      });
      child.on('exit', () => reject(new Error('holders exited')));
    });
    const swarmSecs = await download(p3.archive, urls, out);
    rmSync(out, { force: true });
    const ariaSecs = await timed(() => {
      const r = spawnSync('aria2c', ['-q', '-x8', '-s8', '--file-allocation=none', '--allow-overwrite=true', '--auto-file-renaming=false', '-d', work, '-o', 'aria.out', ...urls.map((u) => `${u}/${BlobStore.relPath(p3.archive.sha256)}`)]);
      if (r.status !== 0) throw new Error(`aria2c failed: ${r.stderr}`);
    });
    if (statSync(join(work, 'aria.out')).size !== p3.archive.size) throw new Error('aria2c got a short file');
    const agg = (p3mib * MiB) / swarmSecs;
    lines.push(`P3 ${p3mib} MiB from 8 holders capped at ${c / MiB} MiB/s each (8C = ${(8 * c) / MiB} MiB/s): swarm ${(agg / MiB).toFixed(1)} MiB/s, aria2c -x8 -s8 ${((p3mib * MiB) / ariaSecs / MiB).toFixed(1)} MiB/s`);
    ratios['P3 swarm aggregate vs 8C'] = agg / (8 * c);
    ratios['P3 swarm vs aria2c (same 8 servers)'] = ariaSecs / swarmSecs;

    // ---- P6
    const churn = p6();
    lines.push(...churn.lines);
    Object.assign(ratios, churn.ratios);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
    rmSync(work, { recursive: true, force: true });
  }
  return { name: 'swarm', lines, ratios };
}
