/**
 * The dashboard at the design's scale: one page (collect + render, lists of
 * 50) on a store of 10⁶ attestations, 10⁵ peers and 10⁵ jobs, against the
 * same page on a store of 10² of each — the page must not read everything.
 * Also timed: the network-wide counts a view shares (peers by role,
 * placement) and the sampler's full pass (configurations by trust level),
 * which runs once per sample interval, never per page view.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectDashboard, collectSlow } from '../src/coordinator/dashboard/collect.js';
import { sampleOnce } from '../src/coordinator/dashboard/sampler.js';
import { computePlacement, DEFAULT_TRACKER } from '../src/coordinator/mirrors.js';
import { openStore, type SqlStore } from '../src/coordinator/store/sql-store.js';
import type { AttestationRecord } from '../src/coordinator/store/types.js';
import { renderDashboard } from '../src/web/dashboard-page.js';
import type { BenchResult } from './run.js';

const OPERATORS = 10;

async function fill(store: SqlStore, attestations: number, peers: number, jobs: number): Promise<void> {
  const now = Date.now();
  const envelope = JSON.stringify({ payload: Buffer.from(JSON.stringify({ buildConfig: { use: ['nls', 'ssl'] } })).toString('base64') });
  await store.transaction(async (tx) => {
    let i = 10_000_000;
    for (let o = 0; o < OPERATORS; o++) {
      await tx.insertCertificate({ id: `co${o}`, subject: `op${o}`, issuer: 'root', role: 'operator', name: `operator-${o}`, notBefore: 0, notAfter: 1e15, logIndex: i++, logTime: 0, envelope: '{}' });
      await tx.insertCertificate({ id: `cb${o}`, subject: `b${o}`, issuer: `op${o}`, role: 'builder', name: `b${o}`, notBefore: 0, notAfter: 1e15, logIndex: i++, logTime: 0, envelope: '{}' });
    }
    // Three operators per build, as a verify target of 3 gives.
    for (let at = 0; at < attestations; at += 5000) {
      const rows: AttestationRecord[] = [];
      for (let j = at; j < Math.min(attestations, at + 5000); j++) {
        const build = Math.floor(j / 3);
        rows.push({ id: `a${j}`, signer: `b${(build + (j % 3)) % OPERATORS}`, kind: j % 3 ? 'verify' : 'build', cpv: `cat-${build % 500}/pkg-${build}-1.0`, chost: 'x86_64-pc-linux-gnu', buildKey: `bk${build}`, configKey: `ck${build}`, outputDigest: `o${build}`, archiveSha256: `s${j}`, archiveSize: 1000, pieceRoot: 'r', time: now, logIndex: j, logTime: now - (attestations - j), envelope });
      }
      await tx.insertAttestations(rows);
    }
  });
  for (let i = 0; i < peers; i++) {
    await store.upsertPeer({ keyId: i.toString(16).padStart(64, '0'), publicKey: 'x', roles: i % 10 ? ['contribute'] : ['mirror'], url: `http://127.0.0.1:${1000 + (i % 60000)}`, capacity: 0, failureDomain: null, firstSeen: now, lastSeen: now - (i % 1000) * 1000, served: i });
  }
  const base = { kind: 'build', demandKey: 'd', configKey: null, buildKey: null, targetOutput: null, pkg: 'a/b', spec: '{"use":["nls"]}', config: null, chost: 'x86_64-pc-linux-gnu', pool: '', weight: 1, note: 'waiting', createdAt: now };
  const all = Array.from({ length: jobs }, (_, j) => ({ ...base, cpv: `a/b-${j}`, state: j % 10 === 0 ? 'queued' : j % 97 === 0 ? 'leased' : 'done', priority: j % 1000 }));
  await store.scheduler.insertJobs(all);
}

async function perCall(fn: () => Promise<unknown>, rounds: number, warm = 1): Promise<number> {
  for (let i = 0; i < warm; i++) await fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6 / rounds;
}

async function measure(attestations: number, peers: number, jobs: number): Promise<{ page: number; sample: number; slow: number; setup: number; catchUp: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'binswarm-bench-dashboard-'));
  const store = await openStore(join(dir, 'c.db'));
  try {
    const t0 = Date.now();
    await fill(store, attestations, peers, jobs);
    const setup = (Date.now() - t0) / 1000;
    const placement = (now: number) => computePlacement(store, now, DEFAULT_TRACKER);
    const src = { store, origin: 'bench/log', tracker: DEFAULT_TRACKER, placement, checkpoint: async () => undefined, witnessesRequired: 0, sampleIntervalMs: 15_000, samplesShown: 960 };
    // Trust levels of the whole log taken in once (a coordinator upgraded with a big log does this over many ticks) …
    const c0 = process.hrtime.bigint();
    while ((await store.dashboard.updateLevels()).taken > 0);
    const catchUp = Number(process.hrtime.bigint() - c0) / 1e9;
    // … then each sample takes in what is new: 100 attestations (33 builds) per interval.
    let at = Date.now();
    let next = attestations;
    const sample = await perCall(async () => {
      const rows = Array.from({ length: 100 }, (_, k) => ({ id: `n${next + k}`, signer: `b${k % OPERATORS}`, kind: 'verify', cpv: 'x/y-1', chost: 'c', buildKey: `nb${Math.floor((next + k) / 3)}`, configKey: 'c', outputDigest: 'o', archiveSha256: 's', archiveSize: 1, pieceRoot: 'r', time: at, logIndex: next + k, logTime: at, envelope: '{}' }));
      next += 100;
      await store.transaction((tx) => tx.insertAttestations(rows));
      return sampleOnce(store, (at += 60_000), 15_000, 960);
    }, 5);
    // A view uses the shared network-wide counts (refreshed in the background every sample interval): timed apart.
    let facts = await collectSlow(src, Date.now());
    const slow = await perCall(async () => (facts = await collectSlow(src, Date.now())), 2);
    const page = await perCall(async () => renderDashboard(await collectDashboard(src, Date.now(), 50, facts)).html.length, 30, 10);
    return { page, sample, slow, setup, catchUp };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export default async function dashboardBench(): Promise<BenchResult> {
  const small = await measure(300, 100, 100);
  const n = Number(process.env.BENCH_DASHBOARD_N ?? 1_000_000);
  const large = await measure(n, n / 10, n / 10);
  return {
    name: 'dashboard',
    lines: [
      `page (collect + render, 50 rows per list): ${small.page.toFixed(1)} ms on 300 attestations / 100 peers / 100 jobs, ${large.page.toFixed(1)} ms on ${n} / ${n / 10} / ${n / 10} (filled in ${large.setup.toFixed(0)} s)`,
      `sampler pass with 100 new attestations (trust levels of their builds, queue, peers, served, histogram): ${small.sample.toFixed(1)} ms small, ${large.sample.toFixed(0)} ms large — once per --sample-interval, not per view`,
      `trust levels of the whole log taken in from scratch (10 000 attestations per tick): ${large.catchUp.toFixed(1)} s for ${n}`,
      `network-wide counts (peers by role, jobs by state, placement for replication): ${small.slow.toFixed(1)} ms small, ${large.slow.toFixed(0)} ms large — shared by all viewers, refreshed in the background at most once per interval while someone looks (the placement part is the computation mirrors already share)`,
    ],
    ratios: {
      [`dashboard page at ${n} attestations vs at 300 (1 = does not grow)`]: small.page / large.page,
      'sampler pass at large vs small store (levels follow what is new; the histogram and peer sums still scan)': small.sample / large.sample,
    },
  };
}
