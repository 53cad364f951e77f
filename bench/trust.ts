/**
 * `trust` case: attestations fully opened per second (envelope + schema +
 * Ed25519 signature + buildKey/configKey recomputed) against raw node:crypto
 * Ed25519 verifies per second of same-size messages, in the same run.
 */
import { verify } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { pae } from '../src/trust/dsse.js';
import { generateKey, signBytes } from '../src/trust/keys.js';
import { ATTESTATION_TYPE, openAttestation, openAttestations, signAttestation } from '../src/trust/statements.js';
import { VerifyPool } from '../src/trust/verify-pool.js';
import type { BenchResult } from './run.js';

function rate(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 200); i++) fn(i); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

export default async function trustBench(): Promise<BenchResult> {
  const N = 4000;
  const builders = Array.from({ length: 20 }, () => generateKey());
  const envelopes = Array.from({ length: N }, (_, i) =>
    signAttestation(
      {
        kind: 'build',
        buildConfig: { v: 1, cpv: `app-misc/pkg${i}-1.0`, repo: 'gentoo', ebuild: 'e'.repeat(64), eclasses: ['toolchain-funcs'], eapi: '8', chost: 'x86_64-pc-linux-gnu', arch: 'amd64', use: ['nls', 'ssl'], cflags: '-O2 -pipe', cxxflags: '-O2 -pipe', ldflags: '-Wl,-O1', features: [], installMask: '', depAbi: ['dev-libs/openssl:0/3'] },
        outputDigest: (i % 16).toString(16).repeat(64),
        archive: { sha256: 'c'.repeat(64), size: 123456, pieceRoot: 'd'.repeat(64) },
        time: new Date(1_790_000_000_000 + i * 1000),
      },
      builders[i % builders.length]!,
    ),
  );
  const messages = envelopes.map((e) => pae(ATTESTATION_TYPE, Buffer.from(e.payload, 'base64')));
  const sigs = messages.map((m, i) => signBytes(builders[i % builders.length]!, m));
  const raw = rate(N, (i) => {
    if (!verify(null, messages[i]!, builders[i % builders.length]!.publicKey.object, sigs[i]!)) throw new Error('raw verify failed');
  });
  // Envelopes arrive as JSON text over the wire or from files: include the parse.
  const texts = envelopes.map((e) => JSON.stringify(e));
  const lib = rate(N, (i) => {
    openAttestation(JSON.parse(texts[i]!));
  });
  // The batch API (what the coordinator and gateways use for many at once):
  // the same checks, signatures verified on a worker pool.
  const pool = new VerifyPool();
  await openAttestations(texts.slice(0, 200).map((x) => JSON.parse(x)), pool); // start the workers
  const t0 = process.hrtime.bigint();
  for (let at = 0; at < N; at += 500) {
    for (const r of await openAttestations(texts.slice(at, at + 500).map((x) => JSON.parse(x)), pool)) if (r instanceof Error) throw r;
  }
  const batch = N / (Number(process.hrtime.bigint() - t0) / 1e9);
  await pool.close();
  return {
    name: 'trust',
    lines: [
      `raw Ed25519 verify (node:crypto, one thread): ${raw.toFixed(0)}/s`,
      `openAttestation (JSON + schema + signature + buildKey), one thread: ${lib.toFixed(0)}/s`,
      `openAttestations, batches of 500, signatures on ${availableParallelism() - 1 || 1} worker thread(s): ${batch.toFixed(0)}/s`,
      `payload ≈ ${messages[0]!.length} bytes`,
    ],
    ratios: { 'attestations verified vs raw Ed25519 verifies (one thread)': lib / raw, 'attestations verified in batches vs raw Ed25519 verifies': batch / raw },
  };
}
