/**
 * A small swarm on loopback for transfer tests: an in-process coordinator
 * that knows some archives (real attestations with real sha256, size and
 * pieceRoot), holders that are real `binswarm node` processes (or nginx),
 * each with its own blob store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CoordinatorClient } from '../../src/api/client.js';
import { buildCoordinatorApp } from '../../src/coordinator/server.js';
import type { TrackerPolicy } from '../../src/coordinator/mirrors.js';
import { openStore } from '../../src/coordinator/store/sql-store.js';
import { BlobStore } from '../../src/transfer/blob-store.js';
import { pieceHashesOf, pieceRootOf } from '../../src/transfer/pieces.js';
import { writeKeyPair } from '../../src/trust/files.js';
import { generateKey, type PrivateKey } from '../../src/trust/keys.js';
import { signAttestation } from '../../src/trust/statements.js';
import { tempDir } from './env.js';
import { hasNginx, startNginx as startNginxIn } from './nginx.js';
import { startBinswarm, type Running } from './procs.js';
import { config, DAY, World } from './trust-world.js';

type T = { after: (fn: () => unknown) => void };

export interface Tracker {
  url: string;
  client: CoordinatorClient;
  builder: PrivateKey;
  dir: string;
}

export async function startTracker(t: T, opts: { tracker?: Partial<TrackerPolicy>; probeIntervalMs?: number } = {}): Promise<Tracker> {
  const dir = await tempDir(t, 'binswarm-swarm-');
  const store = await openStore(join(dir, 'c.db'));
  const w = new World();
  const op = w.operator('op', { from: new Date(Date.now() - DAY), to: new Date(Date.now() + 365 * DAY) });
  const { app } = await buildCoordinatorApp({ store, key: generateKey(), roots: [w.root.publicKey], tracker: opts.tracker, probeIntervalMs: opts.probeIntervalMs });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  const builder = op.builders[0]!.key;
  const client = new CoordinatorClient(url, builder);
  for (const c of w.certificates) await client.submitCertificate(c);
  return { url, client, builder, dir };
}

export interface Blob {
  data: Buffer;
  sha256: string;
  size: number;
  pieceRoot: string;
  file: string;
}

let serial = 0;

/** Random bytes made known to the coordinator by an attestation. */
export async function publishBlob(t: T, tr: Tracker, size: number): Promise<Blob> {
  const data = randomBytes(size);
  const dir = await tempDir(t, 'binswarm-blob-');
  const file = join(dir, 'blob');
  await writeFile(file, data);
  const sha256 = createHash('sha256').update(data).digest('hex');
  const pieceRoot = pieceRootOf(await pieceHashesOf(file));
  const env = signAttestation({ kind: 'build', buildConfig: config(`app-misc/swarm${process.pid}x${serial++}-1.0`), outputDigest: sha256, archive: { sha256, size, pieceRoot }, time: new Date() }, tr.builder);
  await tr.client.submitAttestation(env);
  return { data, sha256, size, pieceRoot, file };
}

export interface HolderProc {
  run: Running<{ listening: string; keyId: string }>;
  url: string;
  dir: string;
  keyId: string;
}

/** A `binswarm node` holding `blobs` (optionally with a few bytes of each flipped on disk: a lying holder). */
export async function startHolder(t: T, tr: Tracker, blobs: Blob[], opts: { uploadRate?: string; corrupt?: boolean; args?: string[] } = {}): Promise<HolderProc> {
  const dir = await tempDir(t, 'binswarm-holder-');
  const store = await BlobStore.open(dir);
  for (const b of blobs) await store.put(Readable.from([b.data]), { expectedSha256: b.sha256 });
  if (opts.corrupt) {
    const { open } = await import('node:fs/promises');
    for (const b of blobs) {
      const fh = await open(store.path(b.sha256), 'r+');
      // One flipped byte in every piece: whatever it serves is wrong (its .pieces list stays honest).
      for (let at = 100; at < b.size; at += 1 << 20) await fh.write(Buffer.from([b.data[at]! ^ 0xff]), 0, 1, at);
      await fh.close();
    }
  }
  const keyFile = join(dir, 'node.key');
  await writeKeyPair(keyFile, generateKey());
  // A holder contributes unless told otherwise (a node's default role, consume, runs a gateway instead).
  const roles = opts.args?.includes('--roles') ? [] : ['--roles', 'contribute'];
  const args = ['node', ...roles, '--coordinator', tr.url, '--data', dir, '--key', keyFile, '--listen', '127.0.0.1:0', ...(opts.uploadRate ? ['--upload-rate', opts.uploadRate] : []), ...(opts.args ?? [])];
  const run = await startBinswarm<{ listening: string; keyId: string }>(args, t);
  return { run, url: run.ready.listening, dir, keyId: run.ready.keyId };
}

export { hasNginx };

/** nginx serving `root` read-only on loopback (the blob layout as static files), stopped after the test. */
export async function startNginx(t: T, root: string, opts: { rate?: string } = {}): Promise<{ url: string; stop: () => Promise<void> }> {
  const n = await startNginxIn(root, await tempDir(t, 'binswarm-nginx-'), opts);
  t.after(n.stop);
  return n;
}

/** Polls `check` until it returns a value (not a timed assertion: the limit only bounds a hang). */
export async function waitFor<V>(what: string, check: () => Promise<V | undefined>, limitMs = 30_000): Promise<V> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
