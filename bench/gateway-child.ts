/**
 * The measured side of the `gateway` bench, in its own process so its peak
 * RSS is the gateway's alone. argv[2] is a JSON job; one JSON line out.
 */
import { TileClient } from '../src/api/tile-client.js';
import { AttestationPool } from '../src/gateway/attestation-pool.js';
import { evaluateBuilds, loadKeyStatements } from '../src/gateway/evaluate-builds.js';
import { Gateway } from '../src/gateway/gateway.js';
import { LocalDb } from '../src/gateway/local-db.js';
import { syncLog } from '../src/gateway/sync.js';
import { ATTESTATION_TYPE } from '../src/trust/statements.js';
import { pae, type Envelope } from '../src/trust/dsse.js';
import { publicKeyOfRefUnchecked } from './gateway-keys.js';
import { loadPolicy } from '../src/trust/policy.js';
import { VerifyPool, type VerifyJob } from '../src/trust/verify-pool.js';

interface Job {
  mode: 'first' | 'refresh' | 'verify';
  tiles: string;
  data: string;
  policy: string;
  chost: string;
  sample?: number;
}

const job = JSON.parse(process.argv[2]!) as Job;
const policy = loadPolicy(job.policy);
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function main(): Promise<unknown> {
  if (job.mode === 'first') {
    const db = LocalDb.open(job.data);
    const tiles = new TileClient(job.tiles);
    const t0 = process.hrtime.bigint();
    const r = await syncLog(db, tiles, { log: policy.log!, witnesses: { witnesses: [], required: 0 }, chost: job.chost, now: Date.now });
    const took = ms(t0);
    db.close();
    return { ms: took, size: r.size, requests: tiles.requests, maxRssMB: process.resourceUsage().maxRSS / 1024 };
  }
  if (job.mode === 'refresh') {
    const gw = await Gateway.open({ coordinator: job.tiles, logUrl: job.tiles, dataDir: job.data, policy, chost: job.chost });
    const before = gw.tiles.requests + gw.client.requests;
    const t0 = process.hrtime.bigint();
    await gw.refresh();
    const took = ms(t0);
    const out = { ms: took, requests: gw.tiles.requests + gw.client.requests - before, ...gw.lastRefresh, trusted: gw.results().filter((r) => r.status === 'trusted').length };
    await gw.close();
    return out;
  }
  // verify: evaluate a sample of builds from scratch (signatures unverified), then raw Ed25519 over the same signatures.
  const db = LocalDb.open(job.data);
  db.db.exec('UPDATE statements SET sig = NULL');
  const keys = db.allBuildKeys(job.chost).slice(0, job.sample ?? 10_000);
  const rows = db.attestationsOf(keys);
  // Two pools of the same size (one thread per core but this one, which shares): one opens attestations, one verifies raw.
  const opener = new AttestationPool();
  const pool = new VerifyPool();
  const t0 = process.hrtime.bigint();
  const { verified, evaluated, trusted } = await evaluateBuilds(db, keys, { policy, chost: job.chost, pool: opener, now: new Date(), keys: loadKeyStatements(db) });
  const evalMs = ms(t0);
  await opener.close();
  const jobs: VerifyJob[] = rows.map((r) => {
    const env = (JSON.parse(r.leaf.toString('utf8')) as { envelope: Envelope }).envelope;
    const payload = Buffer.from(env.payload, 'base64');
    const p = JSON.parse(payload.toString('utf8')) as { builder: { keyId: string; publicKey: string } };
    return { key: publicKeyOfRefUnchecked(p.builder), message: pae(ATTESTATION_TYPE, payload), signature: Buffer.from(env.signatures[0]!.sig, 'base64') };
  });
  const t1 = process.hrtime.bigint();
  const ok = await pool.verify(jobs);
  const rawMs = ms(t1);
  await pool.close();
  db.close();
  return { statements: verified, builds: evaluated, trusted, evalMs, raw: ok.filter(Boolean).length, rawMs };
}

main().then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exitCode = 1;
  },
);
