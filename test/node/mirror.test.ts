/** Mirrors as real processes: placement across failure domains, fetch through the swarm, repair after kill -9, status. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BlobStore } from '../../src/transfer/blob-store.js';
import { runCli } from '../helpers/cli.js';
import { publishBlob, startHolder, startTracker, waitFor, type HolderProc } from '../helpers/swarm.js';

test('mirrors: replicas land in distinct failure domains; after kill -9 of one, repair restores the count', async (t) => {
  const tr = await startTracker(t, { probeIntervalMs: 250, tracker: { probeFailuresDown: 2 } });
  const blob = await publishBlob(t, tr, 3 * (1 << 20) + 99);
  await startHolder(t, tr, [blob]); // the contributor: the only copy at first
  const mirror = (domain: string) => startHolder(t, tr, [], { args: ['--roles', 'mirror', '--quota', '64M', '--domain', domain, '--sync-interval', '0.3'] });
  const ms: HolderProc[] = await Promise.all([mirror('siteA'), mirror('siteB'), mirror('siteB')]);
  const domainOf = (peer: string) => ['siteA', 'siteB', 'siteB'][ms.findIndex((m) => m.keyId === peer)];

  // Two replicas (the minimum; a third would share a domain), held for real.
  const first = await waitFor('two mirrors holding the archive', async () => {
    const p = await tr.client.placement();
    const a = p.archives.find((x) => x.sha256 === blob.sha256)!;
    // Held for real by both placed mirrors (an earlier placement may have sent a copy elsewhere first).
    const holdIt = a.mirrors.every((id) => existsSync(join(ms.find((m) => m.keyId === id)!.dir, BlobStore.relPath(blob.sha256))));
    return a.mirrors.length === 2 && a.holders >= 3 && holdIt ? a : undefined;
  });
  assert.equal(first.target, 2);
  assert.deepEqual(first.mirrors.map(domainOf).sort(), ['siteA', 'siteB']);
  const victim = ms.find((m) => m.keyId !== ms[0]!.keyId && first.mirrors.includes(m.keyId))!;
  const spare = ms.find((m) => m !== victim && m !== ms[0])!;
  const held = join(victim.dir, BlobStore.relPath(blob.sha256));
  assert.equal(createHash('sha256').update(readFileSync(held)).digest('hex'), blob.sha256, 'the mirror holds the verified archive');

  const status = await runCli(['mirror', 'status', '--url', victim.url, '--json']);
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual((({ assigned, held: h, missing, domain }) => ({ assigned, held: h, missing, domain }))(JSON.parse(status.stdout)), { assigned: 1, held: 1, missing: 0, domain: 'siteB' });

  // kill -9: probes fail, the coordinator re-places the archive on the other siteB mirror, which fetches it.
  victim.run.proc.kill('SIGKILL');
  const repaired = await waitFor('repair', async () => {
    const p = await tr.client.placement();
    const a = p.archives.find((x) => x.sha256 === blob.sha256)!;
    return a.mirrors.includes(spare.keyId) && a.holders >= 3 && !p.mirrors.find((m) => m.peer === victim.keyId)!.live ? { a, p } : undefined;
  });
  assert.deepEqual(repaired.a.mirrors.map(domainOf).sort(), ['siteA', 'siteB']);
  assert.ok(!repaired.a.mirrors.includes(victim.keyId));
  // The mirror learns its assignment at its next sync (every 0.3 s): wait for its own view to catch up.
  const after = await waitFor('the spare mirror reporting its new assignment', async () => {
    const r = await runCli(['mirror', 'status', '--url', spare.url]);
    assert.equal(r.code === 0 || r.code === 1, true, r.stderr);
    return /assigned 1 .*held 1 .*missing 0/.test(r.stdout) ? r : undefined;
  });
  assert.equal(after.code, 0, after.stderr);
  // The dead mirror is no longer handed out by the tracker.
  const holders = (await tr.client.archive(blob.sha256))!.holders;
  assert.ok(!holders.some((h) => h.peer === victim.keyId));
  // A node without the mirror role: a clear error.
  const notMirror = await runCli(['mirror', 'status', '--url', 'http://127.0.0.1:1']);
  assert.equal(notMirror.code, 2);
  assert.match(notMirror.stderr, /NODE_UNREACHABLE/);
});

test('mirrors: near quota, blobs no longer assigned are removed (and withdrawn from the tracker) to make room', async (t) => {
  const tr = await startTracker(t);
  const [a, b] = [await publishBlob(t, tr, 1 << 20), await publishBlob(t, tr, 1 << 20)];
  await startHolder(t, tr, [a, b]);
  // Room for one archive; it starts out holding both (say, from an earlier placement).
  const m = await startHolder(t, tr, [a, b], { args: ['--roles', 'mirror', '--quota', '1600k', '--domain', 'x', '--sync-interval', '0.3'] });
  const st = await waitFor('the mirror to settle', async () => {
    const res = await fetch(`${m.url}/status`);
    const s = (await res.json()) as { mirror: { assigned: number; held: number; missing: number } };
    return s.mirror.assigned === 1 && s.mirror.held === 1 && s.mirror.missing === 0 ? s : undefined;
  });
  assert.equal(st.mirror.held, 1);
  const placed = (await tr.client.assignments(m.keyId)).assignments.map((x) => x.sha256);
  const dropped = placed[0] === a.sha256 ? b : a;
  assert.equal(existsSync(join(m.dir, BlobStore.relPath(placed[0]!))), true);
  assert.equal(existsSync(join(m.dir, BlobStore.relPath(dropped.sha256))), false, 'the unassigned blob was removed');
  const holders = (await tr.client.archive(dropped.sha256))!.holders;
  assert.ok(!holders.some((h) => h.peer === m.keyId), 'and withdrawn from the tracker');
});
