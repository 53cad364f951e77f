/**
 * `builder` case: what the example backend costs on top of the compiler.
 * One build of app-misc/hello-demo (libdemo built into the sysroot first,
 * bash phases, metadata, environment.bz2, a deterministic gpkg, then the
 * formats library reading it back as the job loop does) against the bare
 * compiler commands of the same two packages in one shell script — the
 * least any builder must do. Median of several runs each.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExampleBackend } from '../src/builder/example-backend.js';
import { exampleRepoDir } from '../src/builder/example-repo.js';
import { inspectPackage } from '../src/formats/inspect.js';
import type { BenchResult } from './run.js';

const RUNS = Number(process.env.BENCH_BUILDER_RUNS ?? 7);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export default async function run(): Promise<BenchResult> {
  const repo = exampleRepoDir();
  const spec = { cpv: 'app-misc/hello-demo-1.0', repo: 'binswarm-example', chost: 'x86_64-pc-linux-gnu', arch: 'amd64', use: ['nls'], cflags: '-O2 -pipe', cxxflags: '-O2 -pipe', ldflags: '-Wl,-O1', features: [], installMask: '' };
  const script = `set -e; cd "$W"
cp ${repo}/dev-libs/libdemo/files/demo.[ch] ${repo}/app-misc/hello-demo/files/hello-demo.c .
cc -O2 -pipe -fPIC -c demo.c -o demo.o
cc -O2 -pipe -Wl,-O1 -shared -Wl,-soname,libdemo.so.1 -o libdemo.so.1.0.0 demo.o
ar rcsD libdemo.a demo.o
ln -s libdemo.so.1.0.0 libdemo.so
cc -O2 -pipe -DHELLO_NLS -I. -Wl,-O1 -o hello-demo hello-demo.c -L. -ldemo`;
  const backend = new ExampleBackend();
  const bare: number[] = [];
  const full: number[] = [];
  const digests = new Set<string>();
  for (let i = 0; i < RUNS; i++) {
    const w = mkdtempSync(join(tmpdir(), 'bench-builder-'));
    try {
      let t = performance.now();
      execFileSync('bash', ['-c', script], { env: { ...process.env, W: w } });
      bare.push(performance.now() - t);
      t = performance.now();
      const out = await backend.build({ spec, workDir: join(w, 'job'), signal: new AbortController().signal });
      digests.add((await inspectPackage(out.path)).outputDigest);
      full.push(performance.now() - t);
    } finally {
      rmSync(w, { recursive: true, force: true });
    }
  }
  const b = median(bare);
  const f = median(full);
  return {
    name: 'builder',
    lines: [`bare compiler commands: ${b.toFixed(0)} ms; example backend build + inspect: ${f.toFixed(0)} ms (median of ${RUNS}; ${digests.size} distinct outputDigest over the ${RUNS} builds)`],
    ratios: { 'example backend build+inspect vs bare cc commands (time ratio, <1 = slower)': b / f },
  };
}
