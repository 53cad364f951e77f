/** The piece swarm over real HTTP between real processes: several holders, a liar, holders leaving, nginx, a full disk. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import { CoordinatorClient } from '../../src/api/client.js';
import { registerBlobRoutes } from '../../src/node/blob-server.js';
import { BlobStore } from '../../src/transfer/blob-store.js';
import { generateKey } from '../../src/trust/keys.js';
import { swarmDownload } from '../../src/transfer/swarm.js';
import { SwarmFetcher, trackerHolders } from '../../src/transfer/swarm-fetcher.js';
import { need, tempDir } from '../helpers/env.js';
import { hasNginx, publishBlob, startHolder, startNginx, startTracker, waitFor } from '../helpers/swarm.js';

const MiB = 1 << 20;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('swarm: pieces come from several holders; a holder serving wrong pieces is banned, reported and no longer handed out', async (t) => {
  const tr = await startTracker(t, { tracker: { banAfterReports: 1 } });
  const blob = await publishBlob(t, tr, 9 * MiB + 12345);
  const honest = await Promise.all([startHolder(t, tr, [blob], { uploadRate: '8M' }), startHolder(t, tr, [blob], { uploadRate: '8M' })]);
  const liar = await startHolder(t, tr, [blob], { corrupt: true });
  const holders = await trackerHolders(tr.client, blob.sha256);
  assert.equal(holders.length, 3);

  const store = await BlobStore.open(await tempDir(t));
  const fetcher = new SwarmFetcher(store, { client: tr.client, report: true, perHolder: 2 });
  const r = await fetcher.fetch(blob.sha256, blob.size, holders);
  assert.equal(sha(readFileSync(store.path(blob.sha256))), blob.sha256);
  assert.deepEqual(r.badHolders.map((b) => b.holder.url), [liar.url]);
  assert.match(r.badHolders[0]!.reason, /bad piece/);
  for (const h of honest) assert.ok((r.swarm.servedBy[h.url] ?? 0) > 0, `pieces came from ${h.url}`);
  assert.equal(r.swarm.servedBy[liar.url], undefined, 'nothing from the liar was kept');
  // The store serves the piece list too, and nothing partial is left.
  assert.equal((await store.pieceList(blob.sha256))!.length, 10 * 32);
  assert.deepEqual(readdirSync(join(store.dir, 'blobs', 'partial')), []);
  // The report reached the coordinator, which stops handing the liar out.
  const after = await waitFor('the ban', async () => {
    const hs = await trackerHolders(tr.client, blob.sha256);
    return hs.length === 2 ? hs : undefined;
  });
  assert.ok(!after.some((h) => h.url === liar.url));
});

test('swarm: holders leaving mid-download — the rest complete it; a download that loses everyone keeps its progress', async (t) => {
  const tr = await startTracker(t);
  const blob = await publishBlob(t, tr, 7 * MiB);
  const hs = await Promise.all([0, 1, 2].map(() => startHolder(t, tr, [blob], { uploadRate: '2M' })));
  const dir = await tempDir(t);
  let killed = false;
  const r = await swarmDownload(blob, await trackerHolders(tr.client, blob.sha256), join(dir, 'out'), {
    perHolder: 2,
    stallMs: 3000,
    onProgress: (p) => {
      if (!killed && p.have >= 3) {
        killed = true;
        hs[0]!.run.proc.kill('SIGKILL');
        hs[1]!.run.proc.kill('SIGKILL');
      }
    },
  });
  assert.ok(killed);
  assert.equal(sha(readFileSync(join(dir, 'out'))), blob.sha256);
  assert.deepEqual(r.badHolders.map((b) => b.holder.url).sort(), [hs[0]!.url, hs[1]!.url].sort());
  assert.ok(r.servedBy[hs[2]!.url]! >= 3 * MiB, 'the survivor served the rest');

  // Now everyone leaves mid-download: a typed error, and progress kept on disk for a resume.
  const blob2 = await publishBlob(t, tr, 4 * MiB);
  const only = await startHolder(t, tr, [blob2], { uploadRate: '2M' });
  const out2 = join(dir, 'out2');
  let gone = false;
  await assert.rejects(
    swarmDownload(blob2, await trackerHolders(tr.client, blob2.sha256), out2, {
      stallMs: 2000,
      onProgress: (p) => {
        if (!gone && p.have >= 1) {
          gone = true;
          only.run.proc.kill('SIGKILL');
        }
      },
    }),
    { code: 'BLOB_UNAVAILABLE' },
  );
  assert.ok(existsSync(`${out2}.have`) && existsSync(`${out2}.pieces`), 'progress kept for resume');
});

test('swarm: kill -9 mid-download, then `binswarm fetch` again fetches only the missing pieces', async (t) => {
  const tr = await startTracker(t);
  const blob = await publishBlob(t, tr, 10 * MiB + 7);
  await Promise.all([startHolder(t, tr, [blob]), startHolder(t, tr, [blob])]);
  const dir = await tempDir(t);
  const out = join(dir, 'hello.gpkg.tar');
  const { spawn } = await import('node:child_process');
  const { cliArgv } = await import('../helpers/cli.js');
  const first = spawn(process.execPath, [...cliArgv(), 'fetch', blob.sha256, '--coordinator', tr.url, '--out', out, '--download-rate', '2M', '--connections', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    first.stderr.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (const line of buf.split('\n').slice(0, -1)) {
        let ev: { event?: string; have?: number } = {};
        try {
          ev = JSON.parse(line) as typeof ev;
        } catch {
          continue; // not a progress line
        }
        if (ev.event === 'progress' && ev.have! >= 3 && seen === 0) {
          seen = ev.have!;
          first.kill('SIGKILL');
        }
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
    first.on('exit', () => (seen ? resolve() : reject(new Error('fetch ended before it was killed'))));
  });
  assert.equal(existsSync(out), false, 'nothing under the final name after a kill');
  assert.ok(existsSync(`${out}.part`));
  const { runCli } = await import('../helpers/cli.js');
  const again = await runCli(['fetch', blob.sha256, '--coordinator', tr.url, '--out', out, '--json']);
  assert.equal(again.code, 0, again.stderr);
  const r = JSON.parse(again.stdout) as { resumedPieces: number; fetchedPieces: number; fetchedBytes: number };
  // The bitmap is written behind the pieces (coalesced), so it may lag what progress showed by a write or two.
  assert.ok(r.resumedPieces >= 1 && r.resumedPieces >= seen - 2, `resumed ${r.resumedPieces} (progress had shown ${seen})`);
  assert.equal(r.resumedPieces + r.fetchedPieces, 11, 'only the missing pieces were fetched');
  // Bytes: the missing pieces, plus at most one endgame duplicate per request slot (2 holders × 4).
  assert.ok(r.fetchedBytes <= (11 - r.resumedPieces + 8) * MiB && r.fetchedBytes < blob.size + 8 * MiB);
  assert.equal(sha(readFileSync(out)), blob.sha256);
  assert.deepEqual(readdirSync(dir), ['hello.gpkg.tar'], 'no partial state left');
  // Bad input: one line on stderr, exit 2.
  const bad = await runCli(['fetch', 'nothex', '--coordinator', tr.url, '--out', out]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /BAD_DIGEST/);
});

test('swarm: nginx serving a blob directory is a read-only holder', async (t) => {
  if (!need(t, hasNginx, 'nginx')) return;
  const tr = await startTracker(t);
  const blob = await publishBlob(t, tr, 3 * MiB + 1);
  const root = await tempDir(t);
  await chmod(root, 0o755); // nginx's workers run unprivileged
  const static_ = await BlobStore.open(root);
  await static_.importFile(blob.file, { expectedSha256: blob.sha256 });
  const nginx = await startNginx(t, root);
  await tr.client.announceHolder(blob.sha256, nginx.url);
  const holders = await trackerHolders(tr.client, blob.sha256);
  assert.deepEqual(holders.map((h) => h.url), [nginx.url]);
  const store = await BlobStore.open(await tempDir(t));
  const r = await new SwarmFetcher(store, { client: tr.client }).fetch(blob.sha256, blob.size, holders);
  assert.equal(r.swarm.servedBy[nginx.url], blob.size);
  assert.equal(sha(readFileSync(store.path(blob.sha256))), blob.sha256);
});

test('swarm: a full disk gives DISK_FULL and leaves no partial blob visible', async (t) => {
  const tr = await startTracker(t);
  const blob = await publishBlob(t, tr, 6 * MiB);
  const holder = await startHolder(t, tr, [blob]);
  const mnt = await mkdtemp(join(tmpdir(), 'binswarm-tmpfs-'));
  const mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]).status === 0;
  t.after(async () => {
    if (mounted) spawnSync('umount', [mnt]);
    await rm(mnt, { recursive: true, force: true });
  });
  if (!need(t, mounted, 'mount -t tmpfs (root)')) return;
  const store = await BlobStore.open(mnt);
  await assert.rejects(new SwarmFetcher(store, { client: tr.client }).fetch(blob.sha256, blob.size, [{ url: holder.url, peer: holder.keyId }]), { code: 'DISK_FULL' });
  assert.equal(await store.has(blob.sha256), false);
  assert.deepEqual(readdirSync(join(mnt, 'blobs', 'partial')), []);
  // Writes that run out of space half-way say the same (the space check passed, then something else filled the disk).
  const small = await publishBlob(t, tr, 3 * MiB);
  const h2 = await startHolder(t, tr, [small], { uploadRate: '1M' });
  const { writeFile } = await import('node:fs/promises');
  let filled = false;
  await assert.rejects(
    swarmDownload(small, [{ url: h2.url, peer: h2.keyId }], store.partialPath(small.sha256), {
      perHolder: 1,
      onProgress: async (p) => {
        if (!filled && p.have >= 1) {
          filled = true;
          await writeFile(join(mnt, 'filler'), Buffer.alloc(3 * MiB)).catch(() => undefined);
        }
      },
    }),
    { code: 'DISK_FULL' },
  );
  assert.ok(filled);
  assert.deepEqual(readdirSync(join(mnt, 'blobs', 'partial')), []);
  assert.equal(await store.has(small.sha256), false);
});

test('swarm: a node still downloading announces itself as a partial holder and already serves its verified pieces', async (t) => {
  const tr = await startTracker(t);
  const blob = await publishBlob(t, tr, 4 * MiB);
  const seed = await startHolder(t, tr, [blob], { uploadRate: '1M' });
  // Node A: a blob server over its store, downloading through the swarm.
  const storeA = await BlobStore.open(await tempDir(t));
  const app = Fastify({ logger: false, forceCloseConnections: true });
  registerBlobRoutes(app, storeA);
  const urlA = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const clientA = new CoordinatorClient(tr.url, generateKey());
  const fetchA = new SwarmFetcher(storeA, { client: clientA, announceUrl: urlA, perHolder: 1 }).fetch(blob.sha256, blob.size, [{ url: seed.url, peer: seed.keyId }]);
  fetchA.catch(() => undefined);
  const listed = await waitFor('A listed as a partial holder with pieces', async () => {
    const hs = await trackerHolders(tr.client, blob.sha256);
    const a = hs.find((h) => h.url === urlA);
    return a?.partial && (storeA.partials.get(blob.sha256)?.have.count() ?? 0) >= 2 ? hs : undefined;
  });
  // B downloads from both: what A has comes (also) from A.
  const dir = await tempDir(t);
  const r = await swarmDownload(blob, listed, join(dir, 'b'), { perHolder: 2 });
  assert.equal(sha(readFileSync(join(dir, 'b'))), blob.sha256);
  assert.ok((r.servedBy[urlA] ?? 0) >= MiB, `A served ${r.servedBy[urlA] ?? 0} bytes while downloading`);
  assert.deepEqual(r.badHolders, []);
  await fetchA;
  const after = (await trackerHolders(tr.client, blob.sha256)).find((h) => h.url === urlA);
  assert.equal(after?.partial, false, 'complete once done');
});
