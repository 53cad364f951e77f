/**
 * `abi` case: what planning the ABI rebuilds of one library build costs as
 * the network grows. Two SQLite stores hold the same library (libgreet-1.0
 * in SLOT 0/1, then 2.0 in 0/2) with the same reverse dependencies (10
 * `:=` dependents, 10 that only link libgreet.so.1), next to 10³ and 10⁵
 * unrelated attestations of the same CHOST (each with links and a `:=`
 * dependency of its own, indexed as ingest indexes them). Planning is
 * queueAbiRebuilds, rolled back after each run; the baseline, measured in
 * the same run, is the previous implementation: a scan of the CHOST's
 * attestations with one ABI lookup per configuration.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planAbiRebuilds, type AbiBuild } from '../src/coordinator/abi-rebuild.js';
import { queueAbiRebuilds } from '../src/coordinator/scheduler-abi.js';
import { refRowsOf, type AbiRefRow } from '../src/coordinator/store/abi-index.js';
import { openStore, type SqlStore } from '../src/coordinator/store/sql-store.js';
import type { AttestationRecord, BinrevRecord } from '../src/coordinator/store/types.js';
import { buildKeyOf, configKeyOf, type BuildConfig } from '../src/formats/build-config.js';
import type { BenchResult } from './run.js';

const SIZES = (process.env.BENCH_ABI_SIZES ?? '1000,100000').split(',').map(Number);
const CHOST = 'x86_64-pc-linux-gnu';
const DEPENDENTS = 10;

const cfg = (cpv: string, extra: Partial<BuildConfig> = {}): BuildConfig => ({
  v: 1, cpv, repo: 'gentoo', ebuild: 'e'.repeat(64), eclasses: ['toolchain-funcs'], eapi: '8', chost: CHOST, arch: 'amd64', use: ['nls'], cflags: '-O2 -pipe', cxxflags: '-O2 -pipe', ldflags: '-Wl,-O1', features: [], installMask: '', depAbi: [], ...extra,
});
const hex = (i: number, tag: string) => (tag + i.toString(16)).padStart(64, '0');
/** What queueAbiRebuilds reads of an envelope (the signature is checked on ingest, not here). */
const envelopeOf = (c: BuildConfig) => JSON.stringify({ payloadType: 'application/vnd.binswarm.attestation+json', payload: Buffer.from(JSON.stringify({ buildConfig: c })).toString('base64'), signatures: [{ keyid: 'k', sig: 's' }] });

interface Sized {
  n: number;
  store: SqlStore;
  dir: string;
  lib: AttestationRecord;
  setupS: number;
}

/** Bulk load (one transaction, multi-row inserts): the rows ingest writes for each attestation. */
async function populate(n: number): Promise<Sized> {
  const dir = mkdtempSync(join(tmpdir(), 'binswarm-bench-abi-'));
  const store = await openStore(join(dir, 'c.db'));
  const t0 = performance.now();
  let index = 0;
  let lib: AttestationRecord | undefined;
  const add = async (configs: BuildConfig[], abi?: (i: number) => { slot: string; provides: string[]; requires: string[] }) => {
    const atts: AttestationRecord[] = [];
    const binrevs: BinrevRecord[] = [];
    const refs: AbiRefRow[] = [];
    for (const c of configs) {
      const i = index++;
      const r: AttestationRecord = { id: hex(i, 'a'), signer: 's', kind: 'build', cpv: c.cpv, chost: CHOST, buildKey: buildKeyOf(c), configKey: configKeyOf(c), outputDigest: hex(i, 'o'), archiveSha256: hex(i, 'f'), archiveSize: 1, pieceRoot: hex(0, 'p'), time: i, logIndex: i, logTime: i, envelope: envelopeOf(c) };
      atts.push(r);
      binrevs.push({ configKey: r.configKey, buildKey: r.buildKey, binrev: 1, logIndex: i });
      refs.push(...refRowsOf(CHOST, r.configKey, r.buildKey, c));
      if (c.cpv === 'dev-libs/libgreet-2.0') lib = r;
    }
    await store.transaction(async (tx) => {
      await tx.insertAttestations(atts);
      await tx.insertBinrevs(binrevs);
      await tx.insertAbiRefs(refs);
    });
    if (abi) for (const [k, r] of atts.entries()) await store.scheduler.putAbi(r.outputDigest, abi(k));
  };
  await add([cfg('dev-libs/libgreet-1.0', { links: ['libc.so.6'] })], () => ({ slot: '0/1', provides: ['libgreet.so.1'], requires: ['libc.so.6'] }));
  await add(Array.from({ length: DEPENDENTS }, (_, i) => cfg(`app-misc/hello${i}-1.0`, { depAbi: ['dev-libs/libgreet:0/1'], links: ['libc.so.6', 'libgreet.so.1'] })));
  await add(Array.from({ length: DEPENDENTS }, (_, i) => cfg(`app-misc/tool${i}-1.0`, { links: ['libc.so.6', 'libgreet.so.1'] })));
  for (let at = 0; at < n; at += 5000) {
    const part = Array.from({ length: Math.min(5000, n - at) }, (_, k) => at + k);
    await add(part.map((i) => cfg(`cat-${i % 40}/pkg${i}-1.0`, { depAbi: [`dev-libs/other${i % 50}:0/1`], links: ['libc.so.6', `libother${i % 100}.so.1`] })));
  }
  await add([cfg('dev-libs/libgreet-2.0', { links: ['libc.so.6'] })], () => ({ slot: '0/2', provides: ['libgreet.so.2'], requires: ['libc.so.6'] }));
  return { n, store, dir, lib: lib!, setupS: (performance.now() - t0) / 1000 };
}

class Rollback extends Error {}

/** Runs `fn` in a transaction that is rolled back (so every run plans the same jobs); returns its ms and result. */
async function timed(store: SqlStore, fn: () => Promise<number>): Promise<{ ms: number; jobs: number }> {
  let r = { ms: 0, jobs: 0 };
  await store
    .transaction(async () => {
      const t = performance.now();
      const jobs = await fn();
      r = { ms: performance.now() - t, jobs };
      throw new Rollback();
    })
    .catch((e) => {
      if (!(e instanceof Rollback)) throw e;
    });
  return r;
}

const configOf = (envelope: string) => (JSON.parse(Buffer.from((JSON.parse(envelope) as { payload: string }).payload, 'base64').toString('utf8')) as { buildConfig: BuildConfig }).buildConfig;

/** The previous implementation's gathering: every attestation of the CHOST, one ABI lookup per configuration. */
async function oldScan(store: SqlStore, lib: AttestationRecord): Promise<number> {
  const abi = (await store.scheduler.abiOf(lib.outputDigest))!;
  const libBuild: AbiBuild = { configKey: lib.configKey, buildKey: lib.buildKey, config: configOf(lib.envelope), ...abi };
  const latest = new Map<string, AttestationRecord>();
  for (let after: number | undefined; ; ) {
    const page = await store.queryAttestations({ chost: CHOST, ...(after !== undefined ? { after } : {}), limit: 1000 });
    if (page.length === 0) break;
    for (const a of page) latest.set(a.configKey, a);
    after = page[page.length - 1]!.logIndex;
  }
  const builds: AbiBuild[] = [];
  for (const [configKey, a] of latest) {
    const x = await store.scheduler.abiOf(a.outputDigest);
    builds.push({ configKey, buildKey: a.buildKey, config: configOf(a.envelope), ...(x ?? { provides: [], requires: [] }) });
  }
  return planAbiRebuilds(libBuild, builds).length;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function bench(): Promise<BenchResult> {
  const lines: string[] = [];
  const ratios: Record<string, number> = {};
  const sized: Sized[] = [];
  try {
    for (const n of SIZES) sized.push(await populate(n));
    const plan = (x: Sized) => timed(x.store, () => queueAbiRebuilds(x.store, { ...x.lib, chost: CHOST }, 0));
    // Rounds in turn over the sizes, the median round counts (a neighbour's burst on this shared machine does not land on one size only).
    for (const x of sized) await plan(x);
    const planMs = sized.map(() => [] as number[]);
    const rounds = 15;
    for (let round = 0; round < rounds; round++) {
      for (const [i, x] of sized.entries()) {
        const r = await plan(x);
        if (r.jobs !== 2 * DEPENDENTS) throw new Error(`planned ${r.jobs} rebuilds at ${x.n}, expected ${2 * DEPENDENTS}`);
        planMs[i]!.push(r.ms);
      }
    }
    const scanMs = await Promise.all(sized.map(async () => [] as number[]));
    for (const [i, x] of sized.entries()) {
      for (let k = 0; k < (x.n >= 100_000 ? 3 : 9); k++) {
        const r = await timed(x.store, () => oldScan(x.store, x.lib));
        if (r.jobs !== 2 * DEPENDENTS) throw new Error(`old scan found ${r.jobs} rebuilds at ${x.n}`);
        scanMs[i]!.push(r.ms);
      }
    }
    const p = planMs.map(median);
    const s = scanMs.map(median);
    sized.forEach((x, i) => {
      lines.push(`plan at ${x.n} unrelated attestations: ${p[i]!.toFixed(2)} ms for ${2 * DEPENDENTS} rebuilds (median of ${rounds}); old full scan of the CHOST: ${s[i]!.toFixed(1)} ms; setup ${x.setupS.toFixed(1)} s`);
    });
    const [a, b] = [0, sized.length - 1];
    const tag = (n: number) => `1e${Math.round(Math.log10(n))}`;
    ratios[`plan@${tag(sized[b]!.n)}/plan@${tag(sized[a]!.n)} (1 = independent of network size)`] = p[b]! / p[a]!;
    ratios[`old scan@${tag(sized[b]!.n)}/old scan@${tag(sized[a]!.n)} (baseline: grows with the CHOST)`] = s[b]! / s[a]!;
    ratios[`old scan/plan @${tag(sized[b]!.n)} (>1 = indexed planning faster)`] = s[b]! / p[b]!;
  } finally {
    for (const x of sized) {
      await x.store.close();
      rmSync(x.dir, { recursive: true, force: true });
    }
  }
  return { name: 'abi', lines, ratios };
}
