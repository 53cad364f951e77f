/** The dashboard's reads and samples, on SQLite and a real PostgreSQL: bounded lists, counts, the trust histogram (with revocations), the sample window. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { outputsOf } from '../../src/coordinator/dashboard/trust-levels.js';
import { sampleOnce } from '../../src/coordinator/dashboard/sampler.js';
import { openStore, type SqlStore } from '../../src/coordinator/store/sql-store.js';
import type { AttestationRecord } from '../../src/coordinator/store/types.js';
import { tempDir } from '../helpers/env.js';
import { freshPostgresDb } from '../helpers/postgres.js';

const O1 = '1'.repeat(64);
const O2 = '2'.repeat(64);

function att(i: number, signer: string, buildKey: string, output = O1, logTime = 1000 + i): AttestationRecord {
  return { id: `id${i}`, signer, kind: 'build', cpv: `app-misc/p${buildKey}-1`, chost: 'c', buildKey, configKey: `ck${buildKey}`, outputDigest: output, archiveSha256: `a${i}`, archiveSize: 1, pieceRoot: 'p', time: logTime, logIndex: i, logTime, envelope: '{}' };
}

/** Operators A, B, C with builders a1, a2 (both A), b1, c1; builder c1 revoked at time 1500. */
async function world(store: SqlStore): Promise<void> {
  await store.transaction(async (tx) => {
    let i = 1000;
    const cert = (subject: string, issuer: string, role: string, name: string) => tx.insertCertificate({ id: `c${i}`, subject, issuer, role, name, notBefore: 0, notAfter: 1e15, logIndex: i++, logTime: 0, envelope: '{}' });
    for (const op of ['A', 'B', 'C']) await cert(op, 'root', 'operator', `op-${op}`);
    for (const [b, op] of [['a1', 'A'], ['a2', 'A'], ['b1', 'B'], ['c1', 'C']]) await cert(b!, op!, 'builder', b!);
    await tx.insertRevocation({ id: 'r1', subject: 'c1', issuer: 'C', time: 1500, logIndex: i++, logTime: 1500, envelope: '{}' });
    await tx.insertAttestations([
      att(0, 'a1', 'k1'), att(1, 'a2', 'k1'), att(2, 'b1', 'k1'), // one operator with two keys counts once: level 2
      att(3, 'a1', 'k2'), att(4, 'c1', 'k2', O2, 1400), // disputed; c1 before its revocation: levels 1 and 1
      att(5, 'b1', 'k3'), att(6, 'c1', 'k3', O1, 1600), // c1 after its revocation counts for nothing: level 1
      att(7, 'nobody', 'k4'), // an uncertified signer: level 0
      ...Array.from({ length: 20 }, (_, j) => att(8 + j, 'b1', `m${j % 10}`)),
    ]);
  });
}

function suite(name: string, open: (t: { after: (fn: () => unknown) => void }) => Promise<SqlStore | undefined>) {
  describe(`dashboard store: ${name}`, () => {
    test('recent builds, signer chains, outputs and levels, the histogram agrees', async (t) => {
      const store = await open(t);
      if (!store) return;
      await world(store);
      const d = store.dashboard;
      assert.deepEqual(await d.recentBuildKeys(3), ['m9', 'm8', 'm7']);
      assert.deepEqual(await d.recentBuildKeys(30, 12), ['m9', 'm8', 'm7', 'm6', 'm5', 'm4', 'm3', 'm2', 'm1', 'm0'], 'looks at `scan` entries only');
      const atts = await d.attestationsOf(['k1', 'k2', 'k3', 'k4']);
      const chains = await d.signerChains([...new Set(atts.map((a) => a.signer))]);
      assert.deepEqual(chains.get('a2'), { operator: 'A', operatorName: 'op-A', revokedAt: null });
      assert.deepEqual(chains.get('c1'), { operator: 'C', operatorName: 'op-C', revokedAt: 1500 });
      assert.equal(chains.has('nobody'), false);
      const levels = (k: string) => outputsOf(atts.filter((a) => a.buildKey === k), chains).map((o) => [o.level, o.operators]);
      assert.deepEqual(levels('k1'), [[2, ['op-A', 'op-B']]]);
      assert.deepEqual(levels('k2'), [[1, ['op-A']], [1, ['op-C']]]);
      assert.deepEqual(levels('k3'), [[1, ['op-B']]]);
      assert.deepEqual(levels('k4'), [[0, []]]);
      // The stored levels count the same way (best output per build): k1 → 2; k2, k3 and m0..m9 → 1; k4 has no certified signer.
      assert.deepEqual(await d.trustHistogram(), { configs: 0, levels: {} }, 'nothing taken in yet');
      assert.deepEqual(await d.updateLevels(10), { taken: 10, builds: 6 }, 'at most maxNew new attestations per call');
      assert.deepEqual(await d.updateLevels(), { taken: 18, builds: 10 });
      assert.deepEqual(await d.trustHistogram(), { configs: 14, levels: { '1': 12, '2': 1 } });
      assert.deepEqual(await d.updateLevels(), { taken: 0, builds: 0 }, 'nothing new: nothing recomputed');

      // Operator B revoked (as of time 0): every build its builder attested is recomputed; m0..m9 and k3 fall to 0, k1 to 1.
      await store.transaction((tx) => tx.insertRevocation({ id: 'rB', subject: 'B', issuer: 'root', time: 0, logIndex: 5000, logTime: 5000, envelope: '{}' }));
      assert.deepEqual(await d.updateLevels(), { taken: 0, builds: 12 });
      assert.deepEqual(await d.trustHistogram(), { configs: 14, levels: { '1': 2 } });
    });

    test('peers by role with health and served bytes; recent peers first; jobs by state, running then waiting then finished', async (t) => {
      const store = await open(t);
      if (!store) return;
      const peer = (keyId: string, roles: string[], lastSeen: number, served?: number) => store.upsertPeer({ keyId, publicKey: 'pk', roles, url: null, capacity: 0, failureDomain: null, firstSeen: lastSeen, lastSeen, ...(served !== undefined ? { served } : {}) });
      await peer('p1', ['mirror', 'contribute'], 100, 10);
      await peer('p2', ['mirror'], 200, 20);
      await peer('p3', ['build'], 300, 5);
      await peer('p1', ['mirror', 'contribute'], 400); // no counter this time: the last one stays
      await store.recordProbe('p2', false, 1);
      await store.recordProbe('p2', false, 2);
      const stats = await store.dashboard.peerStats(['mirror', 'build', 'witness'], 150, 2);
      assert.deepEqual(stats, { total: 3, served: 35, roles: [{ role: 'mirror', total: 2, healthy: 1 }, { role: 'build', total: 1, healthy: 1 }, { role: 'witness', total: 0, healthy: 0 }] });
      assert.deepEqual((await store.dashboard.recentPeers(2)).map((p) => [p.keyId, p.served]), [['p1', 10], ['p3', 5]]);

      const base = { kind: 'build', demandKey: 'd', configKey: null, buildKey: null, targetOutput: null, cpv: 'a/b-1', pkg: 'a/b', spec: '{"use":["x"]}', config: null, chost: 'c', pool: '', weight: 1, note: '', createdAt: 1 };
      await store.scheduler.insertJobs([
        { ...base, state: 'done', priority: 9 }, { ...base, state: 'queued', priority: 1 }, { ...base, state: 'queued', priority: 5 },
        { ...base, state: 'leased', priority: 0 }, { ...base, state: 'refused', priority: 0 }, { ...base, state: 'queued', priority: 3 },
      ]);
      assert.deepEqual(await store.dashboard.jobCounts(), { done: 1, queued: 3, leased: 1, refused: 1 });
      assert.deepEqual((await store.dashboard.shownJobs(10)).map((j) => [j.id, j.state]), [[4, 'leased'], [3, 'queued'], [6, 'queued'], [2, 'queued'], [5, 'refused'], [1, 'done']]);
      assert.deepEqual((await store.dashboard.shownJobs(2)).map((j) => j.id), [4, 3], 'capped');
    });

    test('samples: one per interval (a replica skips a tick just taken), a bounded window, oldest first', async (t) => {
      const store = await open(t);
      if (!store) return;
      await world(store);
      await store.upsertPeer({ keyId: 'p', publicKey: 'pk', roles: ['mirror'], url: null, capacity: 0, failureDomain: null, firstSeen: 1, lastSeen: 1, served: 77 });
      const first = await sampleOnce(store, 10_000, 1000, 3);
      assert.deepEqual(first, { time: 10_000, queued: 0, leased: 0, peers: 1, served: 77, configs: 14, levels: { '1': 12, '2': 1 } }, 'levels brought up to date first');
      assert.equal(await sampleOnce(store, 10_400, 1000, 3), undefined, 'too soon after the last');
      for (const at of [11_000, 12_000, 13_000, 14_000]) assert.ok(await sampleOnce(store, at, 1000, 3));
      assert.deepEqual((await store.dashboard.samples(100)).map((s) => s.time), [11_000, 12_000, 13_000, 14_000], 'older than 3 intervals pruned');
      assert.deepEqual((await store.dashboard.samples(2)).map((s) => s.time), [13_000, 14_000]);
    });
  });
}

suite('sqlite', async (t) => {
  const dir = await tempDir(t);
  const store = await openStore(join(dir, 'coordinator.db'));
  t.after(() => store.close());
  return store;
});

suite('postgres', async (t) => {
  const url = await freshPostgresDb(t as never, 'd');
  if (url === undefined) return undefined;
  const store = await openStore(url);
  t.after(() => store.close());
  return store;
});
