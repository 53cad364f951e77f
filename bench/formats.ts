/**
 * `formats` case: `binswarm inspect` on a ~256 MiB-image gpkg (zstd) against
 * two baselines measured in the same run:
 *  - `zstd -dc image.tar.zst > /dev/null`: the floor for reading a package at
 *    all (decompressing its image). inspect does much more (outer tar,
 *    Manifest BLAKE2B+SHA512 of the compressed members, archive sha256,
 *    per-file sha256, the image entry rule), so the ratio says how much of
 *    that extra work overlaps with decompression (goal ≥ 0.6×);
 *  - `zstd -dc image.tar.zst | sha256sum`: decompress and hash once.
 * Runs are interleaved (zstd, pipeline, inspect, zstd, …) so a busy machine
 * slows all three alike, and the best of each is kept.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGpkg } from '../src/formats/gpkg-write.js';
import type { BenchResult } from './run.js';

const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/dist\/?$/, '');
const IMAGE_MIB = Number(process.env.BENCH_FORMATS_MIB ?? 256);

/** Text-like content that zstd shrinks about 2:1, like a real /usr tree; deterministic. */
function fileContent(i: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  let seed = createHash('sha256').update(`file ${i}`).digest();
  for (let off = 0; off < size; off += 32) {
    seed = createHash('sha256').update(seed).digest();
    // Hex halves the entropy per byte: compressible but not trivially.
    seed.toString('hex').slice(0, 32).split('').forEach((c, k) => off + k < size && (out[off + k] = c.charCodeAt(0)));
  }
  return out;
}

async function makePackage(dir: string): Promise<string> {
  const out = join(dir, `bench-${IMAGE_MIB}.gpkg.tar`);
  if (existsSync(out)) return out;
  const image = join(dir, 'image');
  rmSync(image, { recursive: true, force: true });
  mkdirSync(join(image, 'usr/lib/bench'), { recursive: true });
  const fileMib = 4;
  const block = fileContent(0, fileMib << 20);
  for (let i = 0; i < IMAGE_MIB / fileMib; i++) {
    // Vary each file's head so files differ; the bulk stays shared content.
    const head = fileContent(i + 1, 4096);
    head.copy(block, 0);
    writeFileSync(join(image, 'usr/lib/bench', `part-${String(i).padStart(3, '0')}.dat`), block);
  }
  const metadata = { CATEGORY: 'app-misc\n', PF: 'bench-1.0\n', SLOT: '0\n', EAPI: '8\n', USE: 'amd64\n', IUSE: '\n', CHOST: 'x86_64-pc-linux-gnu\n', 'bench-1.0.ebuild': 'EAPI=8\n' };
  await writeGpkg({ imageDir: image, metadata, out, basename: 'bench-1.0', compression: 'zstd' });
  rmSync(image, { recursive: true, force: true });
  return out;
}

function seconds(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export default async function formatsBench(): Promise<BenchResult> {
  const dir = join(root, '.bench', 'formats');
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`  preparing a ${IMAGE_MIB} MiB-image gpkg in ${dir} (cached)…\n`);
  const pkg = await makePackage(dir);
  // The baseline gets the image member as a plain file, which only helps it.
  const member = join(dir, 'image.tar.zst');
  if (!existsSync(member)) writeFileSync(member, execFileSync('tar', ['-xOf', pkg, 'bench-1.0/image.tar.zst'], { maxBuffer: 1 << 30 }));
  const cli = join(root, 'dist', 'src', 'cli', 'main.js');
  let json = '';
  const runs = Number(process.env.BENCH_FORMATS_RUNS ?? 5);
  const times = { zstd: Infinity, pipeline: Infinity, inspect: Infinity };
  for (let i = 0; i < runs; i++) {
    times.zstd = Math.min(times.zstd, seconds(() => {
      const r = spawnSync('sh', ['-c', `zstd -dc '${member}' > /dev/null`], { stdio: ['ignore', 'ignore', 'inherit'] });
      if (r.status !== 0) throw new Error('baseline zstd -dc failed');
    }));
    times.pipeline = Math.min(times.pipeline, seconds(() => {
      const r = spawnSync('sh', ['-c', `zstd -dc '${member}' | sha256sum`], { stdio: ['ignore', 'pipe', 'inherit'] });
      if (r.status !== 0) throw new Error('baseline pipeline failed');
    }));
    times.inspect = Math.min(times.inspect, seconds(() => {
      const r = spawnSync(process.execPath, [cli, 'inspect', '--json', pkg], { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
      if (r.status !== 0) throw new Error(`inspect failed (exit ${r.status})`);
      json = r.stdout.toString();
    }));
  }
  const { zstd, pipeline, inspect } = times;
  const info = JSON.parse(json) as { archive: { size: number }; outputDigest: string };
  const mib = IMAGE_MIB;
  return {
    name: 'formats',
    lines: [
      `package: ${(info.archive.size / 2 ** 20).toFixed(1)} MiB gpkg, ${mib} MiB image (zstd); best of ${runs}`,
      `zstd -dc image.tar.zst > /dev/null: ${zstd.toFixed(2)} s (${(mib / zstd).toFixed(0)} MiB/s of image)`,
      `zstd -dc image.tar.zst | sha256sum: ${pipeline.toFixed(2)} s (${(mib / pipeline).toFixed(0)} MiB/s of image)`,
      `binswarm inspect --json:            ${inspect.toFixed(2)} s (${(mib / inspect).toFixed(0)} MiB/s of image)`,
    ],
    ratios: {
      'inspect vs zstd -dc | sha256sum (throughput)': pipeline / inspect,
      'inspect vs zstd -dc alone (throughput)': zstd / inspect,
    },
  };
}
