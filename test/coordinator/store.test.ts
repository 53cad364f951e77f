/** One suite, run against SQLite and a real PostgreSQL server. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MemoryHashStore } from '../../src/log/hash-store.js';
import { MerkleLog } from '../../src/log/log.js';
import { migrate, SqliteDb } from '../../src/coordinator/store/db.js';
import { openStore, type SqlStore } from '../../src/coordinator/store/sql-store.js';
import type { AttestationRecord } from '../../src/coordinator/store/types.js';
import { SchedulerQueue } from '../../src/coordinator/scheduler-queue.js';
import { buildKeyOf, configKeyOf } from '../../src/formats/build-config.js';
import { tempDir } from '../helpers/env.js';
import { freshPostgresDb } from '../helpers/postgres.js';

function att(i: number, over: Partial<AttestationRecord> = {}): AttestationRecord {
  return {
    id: `id${i}`, signer: `s${i % 3}`, kind: 'build', cpv: i % 2 ? 'app-misc/hello-1.0' : 'dev-libs/libgreet-1.0', chost: 'x86_64-pc-linux-gnu',
    buildKey: `bk${i % 4}`, configKey: `ck${i % 2}`, outputDigest: 'o'.repeat(64), archiveSha256: `a${i}`, archiveSize: 100 + i, pieceRoot: 'p', time: 1000 + i, logIndex: i, logTime: 5000 + i, envelope: '{}', ...over,
  };
}

async function appendLeaf(store: SqlStore, data: string): Promise<number> {
  return store.transaction(async (tx) => {
    const index = await new MerkleLog(tx.log).appendLeaves([Buffer.from(data)]);
    await tx.putLeaves(index, [Buffer.from(data)]);
    return index;
  });
}

function suite(name: string, open: (t: { after: (fn: () => unknown) => void }) => Promise<SqlStore | undefined>) {
  describe(`store: ${name}`, () => {
    test('peers, nonces (replay), attestations with paging and filters', async (t) => {
      const store = await open(t);
      if (!store) return;
      await store.upsertPeer({ keyId: 'k1', publicKey: 'pk', roles: ['contribute'], url: 'http://a', capacity: 5, failureDomain: 'rack1', firstSeen: 1, lastSeen: 1 });
      await store.upsertPeer({ keyId: 'k1', publicKey: 'pk', roles: ['contribute', 'mirror'], url: 'http://b', capacity: 6, failureDomain: 'rack1', firstSeen: 9, lastSeen: 9 });
      const p = await store.getPeer('k1');
      assert.deepEqual([p?.roles, p?.url, p?.firstSeen, p?.lastSeen], [['contribute', 'mirror'], 'http://b', 1, 9]);
      assert.equal(await store.useNonce('k1', 'n1', 100, 50), true);
      assert.equal(await store.useNonce('k1', 'n1', 100, 60), false, 'replay');
      assert.equal(await store.useNonce('k2', 'n1', 100, 60), true, 'nonces are per key');
      assert.equal(await store.useNonce('k1', 'n1', 300, 200), true, 'expired nonces are pruned');

      await store.transaction((tx) => tx.insertAttestations(Array.from({ length: 10 }, (_, i) => att(i))));
      // A second insert of a known id is a bug in the caller: refused, and the transaction with it.
      await assert.rejects(store.transaction((tx) => tx.insertAttestations([att(10), att(3)])));
      assert.equal((await store.queryAttestations({})).length, 10);
      assert.equal((await store.queryAttestations({ cpv: 'app-misc/hello-1.0' })).length, 5);
      assert.deepEqual((await store.queryAttestations({ configKey: 'ck0', limit: 2 })).map((a) => a.logIndex), [0, 2]);
      assert.deepEqual((await store.queryAttestations({ configKey: 'ck0', after: 2, limit: 2 })).map((a) => a.logIndex), [4, 6]);
      assert.deepEqual((await store.queryAttestations({ buildKey: 'bk1' })).map((a) => a.archiveSize), [101, 105, 109]);
    });

    test('a random active builder of another operator: by index from a random key id, wrapping around', async (t) => {
      const store = await open(t);
      if (!store) return;
      const s = store.scheduler;
      const key = (i: number) => i.toString(16).padStart(2, '0').repeat(32);
      // Builders 0x10…, 0x40…, 0x70…, 0xa0…: alice (two keys), bob, carol; 0xd0… is quiet; 0xe0… builds for another CHOST.
      const rows = [[0x10, 'alice', 100], [0x40, 'alice', 100], [0x70, 'bob', 100], [0xa0, 'carol', 100], [0xd0, 'dave', 1], [0xe0, 'erin', 100]] as const;
      for (const [i, operator, lastSeen] of rows) await s.putBuilder({ keyId: key(i), operator, chost: i === 0xe0 ? 'aarch64-unknown-linux-gnu' : 'x86_64-pc-linux-gnu', backends: ['example'], lastSeen });
      const pick = async (pivot: number, excluded: string[] = []) => (await s.randomActiveBuilder('x86_64-pc-linux-gnu', 50, excluded, key(pivot)))?.keyId;
      assert.equal(await pick(0x00), key(0x10));
      assert.equal(await pick(0x41), key(0x70), 'the first eligible at or after the pivot');
      assert.equal(await pick(0xb0), key(0x10), 'wraps around past the last key (the quiet and the other-CHOST builders are skipped)');
      assert.equal(await pick(0x00, ['alice']), key(0x70), "an excluded operator's keys are skipped");
      assert.equal(await pick(0xb0, ['alice', 'bob']), key(0xa0));
      assert.equal(await pick(0x00, ['alice', 'bob', 'carol']), undefined, 'nobody eligible');
      // Over the whole key space every eligible builder gets picked.
      const seen = new Set<string | undefined>();
      for (let p = 0; p < 256; p += 8) seen.add(await pick(p, ['bob']));
      assert.deepEqual([...seen].sort(), [key(0x10), key(0x40), key(0xa0)]);
    });

    test('a failing transaction leaves no trace; log appends stay linear under concurrency', async (t) => {
      const store = await open(t);
      if (!store) return;
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.insertAttestations([att(1)]);
          await new MerkleLog(tx.log).appendLeaves([Buffer.from('x')]);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal((await store.queryAttestations({})).length, 0);
      assert.equal(await store.log.size(), 0);
      const indices = await Promise.all(Array.from({ length: 20 }, (_, i) => appendLeaf(store, `leaf ${i}`)));
      assert.deepEqual([...indices].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
      assert.equal(await store.log.size(), 20);
      const leaves = await store.getLeaves(0, 20);
      const log = new MerkleLog(store.log);
      const reference = new MerkleLog(new MemoryHashStore());
      await reference.appendLeaves(leaves);
      assert.deepEqual(Buffer.from(await log.root()), Buffer.from(await reference.root()));
      await assert.rejects(store.log.getNodes([{ level: 0, index: 99 }]), { code: 'LOG_NODE_MISSING' });
      await store.transaction((tx) => tx.putCheckpoint(20, 'cp20'));
      assert.deepEqual(await store.latestCheckpoint(), { size: 20, text: 'cp20' });
    });

    test('holders, archives, binrevs, disputes, demand', async (t) => {
      const store = await open(t);
      if (!store) return;
      await store.addHolder({ archiveSha256: 'a', peer: 'p1', url: 'http://1', announcedAt: 10 });
      await store.addHolder({ archiveSha256: 'a', peer: 'p2', url: 'http://2', announcedAt: 20 });
      assert.deepEqual((await store.holdersOf('a')).map((h) => h.peer), ['p2', 'p1']);
      await store.reportBadHolder('a', 'p2');
      assert.deepEqual((await store.holdersOf('a')).map((h) => [h.peer, h.failures]), [['p1', 0], ['p2', 1]]);
      await store.transaction(async (tx) => {
        await tx.insertArchives([{ sha256: 'a', size: 5, pieceRoot: 'r', outputDigest: 'o1' }]);
        await tx.insertBinrevs([
          { configKey: 'ck', buildKey: 'bk1', binrev: 1, logIndex: 1 },
          { configKey: 'ck', buildKey: 'bk2', binrev: 2, logIndex: 3 },
          { configKey: 'other', buildKey: 'bk3', binrev: 1, logIndex: 4 },
        ]);
        await tx.insertAttestations([att(1, { buildKey: 'bk1', logIndex: 0 }), att(2, { buildKey: 'bk1', logIndex: 2, outputDigest: 'x'.repeat(64) }), att(5, { buildKey: 'bk9', logIndex: 5 })]);
        assert.equal(await tx.upsertDispute({ buildKey: 'bk1', cpv: 'c/p-1', outputDigests: ['x', 'y'], firstSeen: 5, logIndex: 7 }), 'new');
        assert.equal(await tx.upsertDispute({ buildKey: 'bk1', cpv: 'c/p-1', outputDigests: ['y', 'x'], firstSeen: 6, logIndex: 8 }), 'same');
        assert.equal(await tx.upsertDispute({ buildKey: 'bk1', cpv: 'c/p-1', outputDigests: ['x', 'y', 'z'], firstSeen: 6, logIndex: 9 }), 'updated');
        // What a batch of attestations reads: only what it asks for, one query per table.
        const ctx = await tx.attestationContext({ buildKeys: ['bk1', 'bk1', 'bk2'], archives: ['a', 'nope'], configKeys: ['ck', 'none'] });
        assert.deepEqual(ctx.siblings.get('bk1')?.map((r) => [r.id, r.logIndex]), [['id1', 0], ['id2', 2]]);
        assert.deepEqual(ctx.siblings.get('bk2'), []);
        assert.equal(ctx.siblings.has('bk9'), false);
        assert.deepEqual([...ctx.archives.keys()], ['a']);
        assert.deepEqual([...ctx.binrevs.get('ck')!].sort(), [['bk1', 1], ['bk2', 2]]);
        assert.equal(ctx.binrevs.get('none')?.size, 0);
        assert.deepEqual([...ctx.disputes.keys()], ['bk1']);
      });
      assert.equal((await store.getArchive('a'))?.outputDigest, 'o1');
      await store.transaction(async (tx) => {
        assert.equal(await tx.insertRevocation({ id: 'r1', subject: 'k1', issuer: 'op', time: 5, logIndex: 10, logTime: 50, envelope: '{}' }), true);
        assert.equal(await tx.insertRevocation({ id: 'r2', subject: 'k2', issuer: 'op', time: 6, logIndex: 11, logTime: 51, envelope: '{}' }), true);
        assert.equal(await tx.insertRevocation({ id: 'r1', subject: 'k1', issuer: 'op', time: 5, logIndex: 12, logTime: 52, envelope: '{}' }), false);
      });
      assert.deepEqual((await store.revocationsOf('k1')).map((r) => [r.id, r.logIndex, r.logTime]), [['r1', 10, 50]]);
      assert.equal(await store.binrevOf('bk2'), 2);
      assert.deepEqual((await store.listDisputes())[0]?.outputDigests, ['x', 'y', 'z']);
      await store.recordDemand('p1', 'ck', 100);
      await store.recordDemand('p2', 'ck', 50);
      await store.recordDemand('p1', 'ck', 120);
      assert.equal(await store.demandFor('ck', 60), 1);
      assert.equal(await store.demandFor('ck', 0), 2);
    });

    test('swarm tracker: partial holders, reports counted once per reporter, probes, placement input with demand', async (t) => {
      const store = await open(t);
      if (!store) return;
      await store.addHolder({ archiveSha256: 'a', peer: 'p1', url: 'http://1', announcedAt: 10, partial: true });
      await store.addHolder({ archiveSha256: 'a', peer: 'p2', url: 'http://2', announcedAt: 5 });
      assert.deepEqual((await store.holdersOf('a')).map((h) => [h.peer, h.partial]), [['p2', false], ['p1', true]], 'complete holders first');
      await store.addHolder({ archiveSha256: 'a', peer: 'p1', url: 'http://1', announcedAt: 11 });
      assert.equal((await store.holdersOf('a')).find((h) => h.peer === 'p1')?.partial, false, 'announcing complete upgrades a partial holder');
      assert.equal(await store.reportBadHolder('a', 'p1', 'r1', 'bad piece', 1), 1);
      assert.equal(await store.reportBadHolder('a', 'p1', 'r1', 'again', 2), 1, 'one vote per reporter');
      assert.equal(await store.reportBadHolder('a', 'p1', 'r2', 'bad piece', 3), 2);
      assert.equal((await store.holdersOf('a')).find((h) => h.peer === 'p1')?.failures, 2);
      await store.removeHolder('a', 'p2');
      assert.deepEqual((await store.allHolders()).map((h) => h.peer), ['p1']);
      await store.upsertPeer({ keyId: 'm1', publicKey: 'pk', roles: ['mirror'], url: 'http://m', capacity: 1000, failureDomain: 'A', firstSeen: 1, lastSeen: 1 });
      await store.recordProbe('m1', false, 5);
      await store.recordProbe('m1', false, 6);
      assert.deepEqual([(await store.getPeer('m1'))?.probeFailures, (await store.getPeer('m1'))?.lastProbe], [2, 6]);
      await store.recordProbe('m1', true, 7);
      assert.equal((await store.getPeer('m1'))?.probeFailures, 0);
      await store.transaction(async (tx) => {
        await tx.insertArchives([{ sha256: 'a', size: 5, pieceRoot: 'r', outputDigest: 'o' }, { sha256: 'b', size: 7, pieceRoot: 'q', outputDigest: 'o2' }]);
        await tx.insertAttestations([att(1, { archiveSha256: 'a', configKey: 'ckA' }), att(2, { archiveSha256: 'b', configKey: 'ckB' })]);
      });
      await store.recordDemand('u1', 'ckA', 100);
      await store.recordDemand('u2', 'ckA', 100);
      await store.recordDemand('u3', 'ckB', 10);
      assert.deepEqual(await store.placementArchives(50), [{ sha256: 'a', size: 5, pieceRoot: 'r', demand: 2 }, { sha256: 'b', size: 7, pieceRoot: 'q', demand: 0 }]);
    });

    test('scheduler: demand order, leases that expire, idempotent results, assigned verification (the queue on this backend)', async (t) => {
      const store = await open(t);
      if (!store) return;
      await store.transaction(async (tx) => {
        let i = 100;
        for (const [subject, issuer, role] of [['opA', 'root', 'operator'], ['opB', 'root', 'operator'], ['bA', 'opA', 'builder'], ['bB', 'opB', 'builder']]) {
          await tx.insertCertificate({ id: `c${i}`, subject: subject!, issuer: issuer!, role: role!, name: subject!, notBefore: 0, notAfter: 1e15, logIndex: i++, logTime: 0, envelope: '{}' });
        }
      });
      let clock = 1_000_000;
      const q = new SchedulerQueue(store, { heartbeatMs: 10, verifyTarget: 2 }, () => clock, () => 0.5);
      const X = { v: 1 as const, cpv: 'app-misc/x-1', repo: 'gentoo', ebuild: 'e'.repeat(64), eclasses: [], eapi: '8', chost: 'c', arch: 'amd64', use: [], cflags: '', cxxflags: '', ldflags: '', features: [], installMask: '', depAbi: [] };
      const Y = { ...X, cpv: 'app-misc/y-1' };
      assert.deepEqual(await q.submitDemand('p1', [X, Y]), { accepted: 2, jobsCreated: 2 });
      await q.submitDemand('p2', [Y]);
      await q.submitDemand('p2', [Y]);
      const lease = (k: string) => q.lease(k, { backends: ['example'], chost: 'c' });
      const ya = (await lease('bA'))!;
      assert.equal(ya.spec.cpv, 'app-misc/y-1', 'two peers beat one');
      assert.equal((await lease('bB'))!.spec.cpv, 'app-misc/x-1');
      assert.equal(await lease('bB'), null);
      await assert.rejects(q.lease('nobody', { backends: [], chost: 'c' }), { code: 'NOT_CERTIFIED' });
      clock += 31;
      const yb = (await lease('bB'))!;
      assert.equal(yb.id, ya.id, 'the expired lease returned the job');
      await assert.rejects(q.heartbeat('bA', Number(ya.id), ya.lease.id), { code: 'LEASE_LOST' });
      const envelope = JSON.stringify({ payload: Buffer.from(JSON.stringify({ buildConfig: Y })).toString('base64') });
      await store.transaction((tx) => tx.insertAttestations([att(1, { id: 'attY', signer: 'bB', cpv: Y.cpv, chost: 'c', buildKey: buildKeyOf(Y), configKey: configKeyOf(Y), logIndex: 1, envelope })]));
      const r = { leaseId: yb.lease.id, outcome: 'built' as const, attestation: 'attY', seconds: 30 };
      assert.deepEqual((await q.result('bB', Number(yb.id), r)).duplicate, false);
      assert.deepEqual((await q.result('bB', Number(yb.id), r)).duplicate, true);
      // Target 2 and operator B built it: one verify job, for operator A only.
      const v = (await lease('bA'))!;
      assert.deepEqual([v.kind, v.target?.buildKey], ['verify', buildKeyOf(Y)]);
      const all = (await q.queue({})).jobs;
      assert.deepEqual(all.map((j) => [j.kind, j.state]).sort(), [['build', 'done'], ['build', 'queued'], ['verify', 'leased']], 'x expired too');
    });

    test('scheduler store: the next job is the highest priority in its pool and CHOST; conditional updates', async (t) => {
      const store = await open(t);
      if (!store) return;
      const s = store.scheduler;
      const base = { kind: 'build', demandKey: 'd', configKey: null, buildKey: null, targetOutput: null, cpv: 'a/b-1', pkg: 'a/b', spec: '{}', config: null, state: 'queued', weight: 1, note: '', createdAt: 1 };
      await s.insertJobs([
        { ...base, chost: 'c1', pool: '', priority: 1 },
        { ...base, chost: 'c1', pool: '', priority: 5 },
        { ...base, chost: 'c1', pool: '', priority: 5 },
        { ...base, chost: 'c2', pool: '', priority: 9 },
        { ...base, chost: 'c1', pool: 'k', priority: 7 },
        { ...base, chost: 'c1', pool: '', priority: 8, state: 'done' },
      ]);
      assert.deepEqual([(await s.topQueued('', 'c1'))?.id, (await s.topQueued('k', 'c1'))?.id, (await s.topQueued('', 'c2'))?.id, await s.topQueued('', 'c3')], [2, 5, 4, undefined]);
      assert.equal(await s.updateJob(2, { state: 'leased' }, 'queued'), true);
      assert.equal(await s.updateJob(2, { state: 'leased' }, 'queued'), false, 'only one taker');
      assert.equal((await s.topQueued('', 'c1'))?.id, 3);
      const id = await s.insertJob({ ...base, chost: 'c1', pool: '', priority: 6 });
      assert.equal((await s.topQueued('', 'c1'))?.id, id);
    });
  });
}

suite('sqlite', async (t) => {
  const dir = await tempDir(t);
  const store = await openStore(join(dir, 'db', 'coordinator.db'));
  t.after(() => store.close());
  return store;
});

suite('postgres', async (t) => {
  // A fresh database per test keeps tests independent on one server.
  const url = await freshPostgresDb(t as never, 't');
  if (url === undefined) return undefined;
  const store = await openStore(url);
  t.after(() => store.close());
  return store;
});

test('migrations are idempotent and a newer schema is refused', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'c.db');
  const db = new SqliteDb(path);
  await migrate(db);
  await migrate(db);
  await db.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [999, 0]);
  await assert.rejects(migrate(db), { code: 'STORE_SCHEMA_TOO_NEW' });
  await db.close();
});

test('leasing is an index descent: the queue query uses jobs_queue for both filter and order (SQLite plan)', async (t) => {
  const dir = await tempDir(t);
  const db = new SqliteDb(join(dir, 'c.db'));
  t.after(() => db.close());
  await migrate(db);
  const plan = (await db.all("EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE state = 'queued' AND pool = ? AND chost = ? ORDER BY priority DESC, id LIMIT 1", ['', 'c'])).map((r) => String(r.detail));
  assert.deepEqual(plan, ['SEARCH jobs USING INDEX jobs_queue (state=? AND pool=? AND chost=?)']);
  const expiry = (await db.all("EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE state = 'leased' AND lease_expires < ? ORDER BY lease_expires LIMIT 5", [1])).map((r) => String(r.detail));
  assert.deepEqual(expiry, ['SEARCH jobs USING INDEX jobs_expiry (state=? AND lease_expires<?)']);
});
