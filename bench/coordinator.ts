/**
 * `coordinator` case: attestations ingested per second over real HTTP
 * (request signature + attestation signature + schema + store + log append),
 * on SQLite and on PostgreSQL, against raw Ed25519 verifies per second in
 * the same run. Client and server share this machine's cores, as they would
 * on a small coordinator.
 */
import { verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinatorClient } from '../src/api/client.js';
import { buildCoordinatorApp } from '../src/coordinator/server.js';
import { openStore } from '../src/coordinator/store/sql-store.js';
import { pae } from '../src/trust/dsse.js';
import { generateKey, signBytes } from '../src/trust/keys.js';
import { ATTESTATION_TYPE, signAttestation, signCertificate } from '../src/trust/statements.js';
import { hasPostgres, startPostgres } from '../test/helpers/postgres.js';
import type { BenchResult } from './run.js';

const N = Number(process.env.BENCH_COORDINATOR_N ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_COORDINATOR_CONCURRENCY ?? 8);
/** Attestations per batch request (a contributor's PKGDIR, a builder's queue). */
const BATCH = Number(process.env.BENCH_COORDINATOR_BATCH ?? 250);

interface Rates {
  /** One attestation per request, CONCURRENCY requests in flight. */
  single: number;
  /** BATCH attestations per request, two requests in flight. */
  batch: number;
}

function rawVerifyRate(): number {
  const k = generateKey();
  const msgs = Array.from({ length: 2000 }, (_, i) => pae(ATTESTATION_TYPE, Buffer.alloc(1100, i)));
  const sigs = msgs.map((m) => signBytes(k, m));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < msgs.length; i++) if (!verify(null, msgs[i]!, k.publicKey.object, sigs[i]!)) throw new Error('verify');
  return msgs.length / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function ingestRates(location: string): Promise<Rates> {
  const store = await openStore(location);
  const root = generateKey();
  const { app } = await buildCoordinatorApp({ store, key: generateKey(), roots: [root.publicKey], ratePerMinute: 1_000_000, logLevel: process.env.BENCH_LOG });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const from = new Date(Date.now() - 86_400_000);
  const to = new Date(Date.now() + 86_400_000);
  const builders = Array.from({ length: 4 }, (_, i) => {
    const op = generateKey();
    const b = generateKey();
    return { b, certs: [signCertificate({ role: 'operator', name: `op${i}`, subject: op.publicKey, notBefore: from, notAfter: to }, root), signCertificate({ role: 'builder', name: `b${i}`, subject: b.publicKey, notBefore: from, notAfter: to }, op)] };
  });
  const setup = new CoordinatorClient(url, builders[0]!.b);
  for (const x of builders) for (const c of x.certs) await setup.submitCertificate(c);
  const all = Array.from({ length: N }, (_, i) => {
    const x = builders[i % builders.length]!;
    return {
      key: x.b,
      env: signAttestation(
        {
          kind: 'build',
          buildConfig: { v: 1, cpv: `app-misc/pkg${Math.floor(i / 4)}-1.0`, repo: 'gentoo', ebuild: 'e'.repeat(64), eclasses: [], eapi: '8', chost: 'x86_64-pc-linux-gnu', arch: 'amd64', use: [], cflags: '-O2', cxxflags: '-O2', ldflags: '', features: [], installMask: '', depAbi: [] },
          outputDigest: 'a'.repeat(64),
          archive: { sha256: (Math.floor(i / 4) % 256).toString(16).padStart(2, '0').repeat(32), size: 1, pieceRoot: 'd'.repeat(64) },
          time: new Date(),
        },
        x.b,
      ),
    };
  });
  // Distinct archives per package: one archive sha per cpv.
  const clients = builders.map((x) => new CoordinatorClient(url, x.b));
  const timed = async (envs: typeof all, run: (part: typeof all) => Promise<void>): Promise<number> => {
    const t0 = process.hrtime.bigint();
    await run(envs);
    return envs.length / (Number(process.hrtime.bigint() - t0) / 1e9);
  };
  const singles = all.slice(0, Math.min(1500, Math.floor(N / 3)));
  const single = await timed(singles, async (part) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < part.length) {
          const i = next++;
          await clients[i % clients.length]!.submitAttestation(part[i]!.env);
        }
      }),
    );
  });
  const batch = await timed(all.slice(singles.length), async (part) => {
    const chunks = Array.from({ length: Math.ceil(part.length / BATCH) }, (_, i) => part.slice(i * BATCH, (i + 1) * BATCH).map((x) => x.env));
    let next = 0;
    await Promise.all(
      Array.from({ length: 2 }, async () => {
        while (next < chunks.length) {
          const i = next++;
          const results = await clients[i % clients.length]!.submitAttestations(chunks[i]!);
          const refused = results.find((r) => 'error' in r);
          if (refused) throw new Error(`bench attestation refused: ${JSON.stringify(refused)}`);
        }
      }),
    );
  });
  await app.close();
  await store.close();
  return { single, batch };
}

export default async function coordinatorBench(): Promise<BenchResult> {
  const raw = rawVerifyRate();
  const dir = mkdtempSync(join(tmpdir(), 'binswarm-bench-'));
  const lines: string[] = [`raw Ed25519 verify: ${raw.toFixed(0)}/s`];
  const ratios: Record<string, number> = {};
  try {
    const report = (name: string, r: Rates) => {
      lines.push(`${name}: one per request ${r.single.toFixed(0)}/s (${CONCURRENCY} in flight); batches of ${BATCH}: ${r.batch.toFixed(0)}/s`);
      ratios[`ingest (${name}, batches) vs raw Ed25519 verify`] = r.batch / raw;
      ratios[`ingest (${name}, one per request) vs raw Ed25519 verify`] = r.single / raw;
    };
    report('SQLite', await ingestRates(join(dir, 'c.db')));
    if (hasPostgres && !process.env.BENCH_SKIP_PG) {
      const cleanup: (() => unknown)[] = [];
      const pg = await startPostgres({ after: (fn) => cleanup.push(fn) });
      try {
        report('PostgreSQL', await ingestRates(pg.url));
      } finally {
        for (const f of cleanup) await f();
      }
    } else lines.push(`PostgreSQL: skipped (${hasPostgres ? 'BENCH_SKIP_PG is set' : 'server binaries not installed'})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { name: 'coordinator', lines, ratios };
}
