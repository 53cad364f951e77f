/**
 * ABI rebuilds through the real ingest path and scheduler, on SQLite and on
 * a real PostgreSQL server: a soname-only reverse dependency (links
 * libgreet.so.1 without a `:=` dependency) is found through the
 * reverse-dependency index, rebuilt, and its rebuild is binrev 2 under the
 * same configKey — not a dispute. Migration 8 back-fills the index.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ingestAttestation, ingestCertificate, type Coordinator } from '../../src/coordinator/ingest.js';
import { queueAbiRebuilds } from '../../src/coordinator/scheduler-abi.js';
import { SchedulerQueue } from '../../src/coordinator/scheduler-queue.js';
import { migrate, PgDb, SqliteDb, type Db } from '../../src/coordinator/store/db.js';
import { openStore, type SqlStore } from '../../src/coordinator/store/sql-store.js';
import { buildKeyOf, configKeyOf, type BuildConfig } from '../../src/formats/build-config.js';
import { generateKey, type PrivateKey } from '../../src/trust/keys.js';
import { signAttestation, signCertificate } from '../../src/trust/statements.js';
import { VerifyPool } from '../../src/trust/verify-pool.js';
import { tempDir } from '../helpers/env.js';
import { freshPostgresDb } from '../helpers/postgres.js';
import { config } from '../helpers/trust-world.js';

const NOW = Date.UTC(2026, 0, 10);
const CHOST = 'x86_64-pc-linux-gnu';
const out = (c: string) => c.repeat(64);

interface Opened {
  store: SqlStore;
  /** A second connection to the same database (for the migration test). */
  db: () => Db;
}

async function world(store: SqlStore) {
  const root = generateKey();
  const pool = new VerifyPool({ size: 1 });
  const c: Coordinator = { store, roots: [root.publicKey], key: generateKey(), origin: 'test/log', keyName: 'test/log', attestationWindowMs: 86_400_000, now: () => NOW, verifyPool: pool };
  const from = new Date(NOW - 86_400_000);
  const to = new Date(NOW + 86_400_000);
  const builders: PrivateKey[] = [];
  for (const name of ['a', 'b']) {
    const op = generateKey();
    const b = generateKey();
    await ingestCertificate(c, signCertificate({ role: 'operator', name: `op-${name}`, subject: op.publicKey, notBefore: from, notAfter: to }, root));
    await ingestCertificate(c, signCertificate({ role: 'builder', name: `b-${name}`, subject: b.publicKey, notBefore: from, notAfter: to }, op));
    builders.push(b);
  }
  const attest = (b: PrivateKey, cfg: BuildConfig, output: string) =>
    ingestAttestation(c, signAttestation({ kind: 'build', buildConfig: cfg, outputDigest: output, archive: { sha256: createHash('sha256').update(output).digest('hex'), size: 10, pieceRoot: out('d') }, time: new Date(NOW) }, b));
  return { c, pool, builders, attest };
}

function suite(name: string, open: (t: { after: (fn: () => unknown) => void }) => Promise<Opened | undefined>) {
  describe(`store abi: ${name}`, () => {
    test('a soname-only reverse dependency: found by index, rebuilt, binrev 2 under the same configKey, no dispute', async (t) => {
      const o = await open(t);
      if (!o) return;
      const { store } = o;
      const { pool, builders, attest } = await world(store);
      t.after(() => pool.close());
      const [bA, bB] = builders as [PrivateKey, PrivateKey];
      const lib1 = config('dev-libs/libgreet-1.0', { chost: CHOST, links: ['libc.so.6'] });
      const lib2 = config('dev-libs/libgreet-2.0', { chost: CHOST, links: ['libc.so.6'] });
      const tool = config('app-misc/tool-1.0', { chost: CHOST, links: ['libc.so.6', 'libgreet.so.1'] });
      const rebuilt: BuildConfig = { ...tool, links: ['libc.so.6', 'libgreet.so.2'] };
      const hello = config('app-misc/hello-1.0', { chost: CHOST, depAbi: ['dev-libs/libgreet:0/1'], links: ['libc.so.6', 'libgreet.so.1'] });
      const unrelated = config('app-misc/other-1.0', { chost: CHOST, links: ['libc.so.6'] });

      await attest(bA, lib1, out('1'));
      await store.scheduler.putAbi(out('1'), { slot: '0/1', provides: ['libgreet.so.1'], requires: ['libc.so.6'] });
      assert.equal((await attest(bA, tool, out('2'))).binrev, 1);
      await attest(bA, hello, out('3'));
      await attest(bA, unrelated, out('4'));
      const lib2att = await attest(bA, lib2, out('5'));
      await store.scheduler.putAbi(out('5'), { slot: '0/2', provides: ['libgreet.so.2'], requires: ['libc.so.6'] });

      const row = await store.scheduler.attestation(lib2att.id);
      const plan = () => store.transaction(() => queueAbiRebuilds(store, { ...row!, chost: CHOST }, NOW));
      assert.equal(await plan(), 2, 'hello (:=) and tool (soname); not the unrelated package, not the library');
      const jobs = (await store.scheduler.listJobs({ kind: 'abi-rebuild' })).sort((x, y) => x.cpv.localeCompare(y.cpv));
      assert.deepEqual(jobs.map((j) => [j.cpv, j.unlink]), [['app-misc/hello-1.0', null], ['app-misc/tool-1.0', '["libgreet.so.1"]']]);
      assert.deepEqual(JSON.parse(jobs[1]!.config!), tool, 'the soname rebuild: the config as is');
      assert.equal(await plan(), 0, 'not queued twice');

      // The builder gets the job with what it must drop, and a rebuild that still links it closes nothing.
      const q = new SchedulerQueue(store, { heartbeatMs: 60_000, verifyTarget: 1 }, () => NOW, () => 0.5);
      await store.scheduler.updateJob(jobs[0]!.id, { state: 'done' });
      const job = (await q.lease(bB.publicKey.id, { backends: ['example'], chost: CHOST }))!;
      assert.deepEqual([job.kind, job.spec.cpv, job.unlink], ['abi-rebuild', 'app-misc/tool-1.0', ['libgreet.so.1']]);
      const still = await attest(bB, { ...tool, links: ['libc.so.6', 'libgreet.so.1', 'libgreet.so.2'] }, out('6'));
      await assert.rejects(q.result(bB.publicKey.id, Number(job.id), { leaseId: job.lease.id, outcome: 'built', attestation: still.id, seconds: 1 }), { code: 'BAD_RESULT', message: /still links libgreet\.so\.1/ });

      // The real rebuild: links libgreet.so.2, so another buildKey of the same configuration — the next binrev, no dispute.
      const done = await attest(bB, rebuilt, out('7'));
      assert.equal(configKeyOf(rebuilt), configKeyOf(tool));
      assert.notEqual(buildKeyOf(rebuilt), buildKeyOf(tool));
      assert.equal(done.dispute, undefined);
      assert.equal(await store.binrevOf(buildKeyOf(rebuilt)), 3, 'binrev 3: the refused attestation above was logged (binrev 2) — binrevs are never reused');
      assert.equal(await store.binrevOf(buildKeyOf(tool)), 1);
      assert.equal((await q.result(bB.publicKey.id, Number(job.id), { leaseId: job.lease.id, outcome: 'built', attestation: done.id, seconds: 1 })).state, 'done');
      assert.deepEqual(await store.listDisputes(), [], 'no dispute: the old and the rebuilt output have different buildKeys');
      assert.equal(await plan(), 0, 'rebuilt: the latest build of tool no longer links the lost soname');

      // Without links the two outputs would have been one buildKey: that is a dispute.
      const { links: _l, ...bare } = tool;
      await attest(bA, bare, out('8'));
      assert.ok((await attest(bB, bare, out('9'))).dispute, 'control: same buildKey, other output');
    });

    test('the soname rebuild gets binrev 2 when nothing else was attested for its configuration', async (t) => {
      const o = await open(t);
      if (!o) return;
      const { pool, builders, attest } = await world(o.store);
      t.after(() => pool.close());
      const tool = config('app-misc/tool-1.0', { chost: CHOST, links: ['libc.so.6', 'libgreet.so.1'] });
      assert.equal((await attest(builders[0]!, tool, out('2'))).binrev, 1);
      const r = await attest(builders[1]!, { ...tool, links: ['libc.so.6', 'libgreet.so.2'] }, out('3'));
      assert.equal(r.binrev, 2);
      assert.equal(r.dispute, undefined);
      assert.deepEqual(await o.store.listDisputes(), []);
    });

    test('migration 8 back-fills the reverse-dependency index from stored attestations and ABI uploads', async (t) => {
      const o = await open(t);
      if (!o) return;
      const { store } = o;
      const { pool, builders, attest } = await world(store);
      t.after(() => pool.close());
      // An attestation from before links existed: its soname is known only from the ABI upload.
      await attest(builders[0]!, config('app-misc/old-1.0', { chost: CHOST, depAbi: ['dev-libs/libgreet:0/1'] }), out('2'));
      await store.scheduler.putAbi(out('2'), { slot: '0', provides: [], requires: ['libgreet.so.1'] });
      await attest(builders[0]!, config('app-misc/tool-1.0', { chost: CHOST, links: ['libgreet.so.1'] }), out('3'));
      const refs = async (db: Db) => (await db.all('SELECT chost, ref, config_key, build_key FROM abi_refs ORDER BY ref, build_key')).map((r) => `${String(r.ref)} ${String(r.build_key).slice(0, 8)}`);
      const db = o.db();
      t.after(() => db.close());
      const before = await refs(db);
      assert.deepEqual(before.map((r) => r.split(' ')[0]), ['dep:dev-libs/libgreet:0', 'pkg:app-misc/old', 'pkg:app-misc/tool', 'so:libgreet.so.1', 'so:libgreet.so.1']);
      // Back to schema 7 (undoing 8 and what came after it), then forward again.
      await db.tx(async (tx) => {
        for (const s of ['DROP INDEX builders_chost_key', 'DROP INDEX peers_probe_failures', 'DROP INDEX peers_mirrors', 'DROP TABLE abi_refs', 'DROP INDEX attestations_output', 'ALTER TABLE jobs DROP COLUMN unlink', 'DELETE FROM schema_migrations WHERE version >= 8']) await tx.run(s);
      });
      await migrate(db);
      assert.deepEqual(await refs(db), before);
      assert.deepEqual((await store.scheduler.configsWithRefs(CHOST, ['so:libgreet.so.1'])).length, 2);
    });
  });
}

suite('sqlite', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'db', 'coordinator.db');
  const store = await openStore(path);
  t.after(() => store.close());
  return { store, db: () => new SqliteDb(path) };
});

suite('postgres', async (t) => {
  const location = await freshPostgresDb(t as never, 'abi');
  if (location === undefined) return undefined;
  const store = await openStore(location);
  t.after(() => store.close());
  return { store, db: () => new PgDb(location) };
});
