/** The build queue over real HTTP: demand, leases with heartbeats and expiry, idempotent results, assigned verification, bad input. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import type { Job } from '../../src/api/v1.js';
import { buildCoordinatorApp } from '../../src/coordinator/server.js';
import { openStore } from '../../src/coordinator/store/sql-store.js';
import type { BuildConfig } from '../../src/formats/build-config.js';
import { generateKey, type PrivateKey } from '../../src/trust/keys.js';
import { signRequest } from '../../src/trust/request-signing.js';
import { runCli } from '../helpers/cli.js';
import { fixturesDir, hasFixtures, need, tempDir } from '../helpers/env.js';
import { config, DAY, OUT_A, OUT_B, World, type Operator } from '../helpers/trust-world.js';

const HEARTBEAT = 1000;
const CHOST = 'x86_64-pc-linux-gnu';

/** A seeded generator (mulberry32): assignments are random but the test is repeatable. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A coordinator whose clock the test moves (within the request-signing skew), with operators alice, bob, carol (two builders each). */
async function network(t: { after: (fn: () => unknown) => void }, opts: { verifyTarget?: number; seed?: number; operators?: string[] } = {}) {
  const dir = await tempDir(t);
  const store = await openStore(join(dir, 'c.db'));
  const w = new World();
  const clock = { offset: 0 };
  const { app } = await buildCoordinatorApp({
    store, key: generateKey(), roots: [w.root.publicKey], now: () => Date.now() + clock.offset, rng: seeded(opts.seed ?? 1),
    scheduler: { verifyTarget: opts.verifyTarget ?? 3, heartbeatMs: HEARTBEAT },
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  const ops = new Map<string, Operator>();
  for (const name of opts.operators ?? ['alice', 'bob', 'carol']) ops.set(name, w.operator(name, { builders: 2, from: new Date(Date.now() - DAY), to: new Date(Date.now() + 365 * DAY) }));
  const admin = new CoordinatorClient(url, generateKey());
  for (const c of w.certificates) await admin.submitCertificate(c);
  const as = (k: PrivateKey) => new CoordinatorClient(url, k);
  const builder = (name: string, i = 0) => ops.get(name)!.builders[i]!.key;
  const lease = (k: PrivateKey) => as(k).leaseJob({ backends: ['example'], chost: CHOST });
  /** Attest `cfg` as builder k with `output`, then report the job built. */
  const build = async (k: PrivateKey, job: Job, cfg: BuildConfig, output = OUT_A) => {
    const att = await as(k).submitAttestation(w.attest(k, { cfg, output, time: new Date(), kind: job.kind === 'verify' ? 'verify' : 'build' }));
    return as(k).reportResult(job.id, { leaseId: job.lease.id, outcome: 'built', attestation: att.id, seconds: 42 });
  };
  const operatorOf = (keyId: string) => [...ops.values()].find((o) => o.builders.some((b) => b.key.publicKey.id === keyId))?.name;
  return { url, store, w, clock, ops, as, builder, lease, build, operatorOf, anon: new CoordinatorClient(url) };
}

test('demand orders the queue; an expired lease returns the job; results are idempotent; verify jobs go only to other operators until 3 agree', async (t) => {
  const n = await network(t);
  const C = config('app-misc/hello-1.0', { use: ['nls'] });
  const C2 = config('dev-libs/libgreet-1.0', { use: [] });
  const p1 = generateKey();
  const p2 = generateKey();
  // Demand: p1 three times and p2 once for C; p1 once for C2.
  assert.deepEqual(await n.as(p1).submitDemand([C, C2]), { accepted: 2, jobsCreated: 2 });
  assert.deepEqual(await n.as(p1).submitDemand([C, C]), { accepted: 1, jobsCreated: 0 });
  await n.as(p2).submitDemand([C]);
  const queued = await n.anon.queue();
  assert.equal(queued.length, 2);
  const [jc, jc2] = [queued.find((j) => j.cpv === C.cpv)!, queued.find((j) => j.cpv === C2.cpv)!];
  assert.match(jc.why, /demand 2\.00 peer/, 'distinct peers, p1 once');
  assert.match(jc2.why, /demand 1\.00 peer/);
  assert.ok(jc.priority > jc2.priority);

  // alice leases the most demanded job; heartbeats extend the lease.
  const a1 = n.builder('alice');
  const job = (await n.lease(a1))!;
  assert.equal(job.id, jc.id);
  assert.equal(job.kind, 'build');
  assert.deepEqual(job.spec.use, ['nls']);
  const hb = await n.as(a1).heartbeat(job.id, job.lease.id);
  assert.ok(hb.expiresAt >= job.lease.expiresAt);

  // alice dies: past 3 heartbeats the lease expires and the job is back in the queue.
  n.clock.offset += 4 * HEARTBEAT;
  const back = (await n.anon.queue({ kind: 'build' })).find((j) => j.id === job.id)!;
  assert.equal(back.state, 'queued');
  assert.match(back.why, /expired/);
  const b1 = n.builder('bob');
  const again = (await n.lease(b1))!;
  assert.equal(again.id, job.id, 'another builder gets the same job');
  await assert.rejects(n.as(a1).heartbeat(job.id, job.lease.id), { code: 'LEASE_LOST' });
  const late = await n.as(a1).reportResult(job.id, { leaseId: job.lease.id, outcome: 'failed', seconds: 1, reason: 'killed' });
  assert.deepEqual([late.state, late.duplicate], ['leased', true], 'a late failure changes nothing');

  const done = await n.build(b1, again, C);
  assert.deepEqual([done.state, done.duplicate], ['done', false]);
  const dup = await n.build(b1, again, C);
  assert.deepEqual([dup.state, dup.duplicate], ['done', true], 'a duplicate result is answered, not counted');

  // Two verify jobs (bob is one operator of three); carol has never leased, so only alice is eligible now.
  const verify = () => n.anon.queue({ kind: 'verify' });
  assert.equal((await verify()).length, 2);
  // bob gets the other build job, never a verify job of his own output.
  const bobNext = (await n.lease(n.builder('bob', 1)))!;
  assert.equal(bobNext.kind, 'build');
  assert.equal(bobNext.spec.cpv, C2.cpv);
  const c1 = n.builder('carol');
  const carolJob = (await n.lease(c1))!;
  const aliceJob = (await n.lease(n.builder('alice', 1))) ?? (await n.lease(a1))!;
  for (const v of [carolJob, aliceJob]) {
    assert.equal(v.kind, 'verify');
    assert.deepEqual(v.target, { outputDigest: OUT_A, buildKey: v.target!.buildKey });
    assert.deepEqual(v.config, C);
  }
  assert.equal(await n.lease(n.builder('carol', 1)), null, 'carol already verifies this build with her other builder');
  assert.equal(await n.lease(b1), null);
  const holders = (await verify()).map((v) => n.operatorOf(v.holder!));
  assert.deepEqual(holders.sort(), ['alice', 'carol']);

  await n.build(c1, carolJob, C);
  const aliceHolder = (await verify()).find((v) => v.id === aliceJob.id)!.holder!;
  const aliceBuilder = [n.builder('alice'), n.builder('alice', 1)].find((k) => k.publicKey.id === aliceHolder)!;
  await n.build(aliceBuilder, aliceJob, C);
  const final = await verify();
  assert.deepEqual(final.map((v) => v.state), ['done', 'done']);
  assert.match(final.map((v) => v.why).join(' '), /same output/);
  assert.equal((await n.anon.queue({ state: 'queued' })).length, 0, 'three operators agree: no more verify jobs');
});

test('verification is never assigned to the operator that built it, across random assignments', async (t) => {
  const names = ['alice', 'bob', 'carol', 'dave', 'erin'];
  const n = await network(t, { operators: names, seed: 7 });
  const peer = generateKey();
  const configs = Array.from({ length: 8 }, (_, i) => config(`app-misc/pkg${i}-1.0`));
  await n.as(peer).submitDemand(configs);
  const everyone = names.flatMap((name) => [n.builder(name), n.builder(name, 1)]);
  for (const k of everyone) assert.equal((await n.lease(k))?.kind ?? 'build', 'build');
  // Build every job (the holders above), then let everyone lease verify jobs until none are left.
  for (const j of await n.anon.queue({ state: 'leased' })) {
    const k = everyone.find((b) => b.publicKey.id === j.holder)!;
    const cfg = configs.find((c) => c.cpv === j.cpv)!;
    const att = await n.as(k).submitAttestation(n.w.attest(k, { cfg, time: new Date() }));
    const leaseId = (await n.store.scheduler.getJob(Number(j.id)))!.leaseId!;
    await n.as(k).reportResult(j.id, { leaseId, outcome: 'built', attestation: att.id, seconds: 10 });
  }
  for (let round = 0; round < 6; round++) {
    for (const k of everyone) {
      const v = await n.lease(k);
      if (v) await n.build(k, v, v.config!);
    }
  }
  const builds = (await n.anon.queue({ kind: 'build' })).map((b) => ({ cpv: b.cpv, op: n.operatorOf(b.holder!) }));
  const verifies = await n.anon.queue({ kind: 'verify' });
  assert.equal(verifies.length, 16, 'two verify jobs per build');
  for (const b of builds) {
    const ops = verifies.filter((v) => v.cpv === b.cpv).map((v) => n.operatorOf(v.holder!));
    assert.equal(ops.length, 2);
    assert.ok(!ops.includes(b.op), `${b.cpv}: built by ${b.op}, verified by ${ops.join(', ')}`);
    assert.equal(new Set(ops).size, 2, 'distinct operators');
  }
  // Random, not fixed: more than two operators verified something.
  assert.ok(new Set(verifies.map((v) => n.operatorOf(v.holder!))).size > 2);
});

test('a refused job ends with its reason; a failed one is retried, then given up', async (t) => {
  const n = await network(t, { verifyTarget: 1 });
  const p = generateKey();
  await n.as(p).submitRequest({ cpv: 'app-misc/nope-1.0', repo: 'gentoo', chost: CHOST, arch: 'amd64', use: ['x'], cflags: '', cxxflags: '', ldflags: '', features: [], installMask: '' });
  const a = n.builder('alice');
  const j = (await n.lease(a))!;
  const r = await n.as(a).reportResult(j.id, { leaseId: j.lease.id, outcome: 'refused', seconds: 0, reason: 'USE flag x is not in IUSE of app-misc/nope-1.0' });
  assert.equal(r.state, 'refused');
  const shown = (await n.anon.queue())[0]!;
  assert.equal(shown.state, 'refused');
  assert.match(shown.why, /not in IUSE/);

  const req = await n.as(p).submitRequest({ cpv: 'app-misc/flaky-1.0', repo: 'gentoo', chost: CHOST, arch: 'amd64', use: [], cflags: '', cxxflags: '', ldflags: '', features: [], installMask: '' });
  assert.ok(req.jobId);
  assert.equal(req.configKey, undefined, 'no ebuild digest: the builder’s tree decides the configKey');
  const again = await n.as(generateKey()).submitRequest({ cpv: 'app-misc/flaky-1.0', repo: 'gentoo', chost: CHOST, arch: 'amd64', use: [], cflags: '', cxxflags: '', ldflags: '', features: [], installMask: '' });
  assert.equal(again.jobId, req.jobId, 'the same request joins the same job');
  for (let i = 1; i <= 3; i++) {
    const f = (await n.lease(a))!;
    assert.equal(f.id, req.jobId);
    const res = await n.as(a).reportResult(f.id, { leaseId: f.lease.id, outcome: 'failed', seconds: 5, reason: `compiler crashed ${i}` });
    assert.equal(res.state, i < 3 ? 'queued' : 'failed');
  }
  const flaky = (await n.anon.queue({ cpv: 'app-misc/flaky-1.0' }))[0]!;
  assert.match(flaky.why, /failed 3 times.*compiler crashed 3/);
  assert.equal(await n.lease(a), null);
});

test('malformed, unsigned and misattributed requests are refused and change nothing', async (t) => {
  const n = await network(t);
  const C = config();
  const p = generateKey();
  await n.as(p).submitDemand([C]);
  // Unsigned writes.
  for (const path of ['/v1/demand', '/v1/jobs/lease', '/v1/requests', '/v1/jobs/1/result']) {
    const res = await fetch(n.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 401, path);
  }
  // Malformed bodies, correctly signed.
  const post = async (k: PrivateKey, path: string, body: unknown) => {
    const bytes = Buffer.from(JSON.stringify(body));
    const res = await fetch(n.url + path, { method: 'POST', headers: { ...signRequest(k, 'POST', path, bytes), 'content-type': 'application/json' }, body: bytes });
    return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code };
  };
  const { depAbi: _d, ...noDepAbi } = C;
  assert.deepEqual(await post(p, '/v1/demand', { configs: [noDepAbi] }), { status: 400, code: 'BAD_REQUEST' });
  assert.deepEqual(await post(p, '/v1/demand', { configs: [{ ...C, extra: 1 }] }), { status: 400, code: 'BAD_REQUEST' });
  assert.deepEqual(await post(p, '/v1/demand', { configs: Array.from({ length: 5001 }, () => C) }), { status: 400, code: 'BAD_REQUEST' });
  assert.deepEqual(await post(p, '/v1/jobs/lease', { backends: ['example'] }), { status: 400, code: 'BAD_REQUEST' });
  // An uncertified key cannot lease.
  assert.deepEqual(await post(p, '/v1/jobs/lease', { backends: ['example'], chost: CHOST }), { status: 403, code: 'NOT_CERTIFIED' });

  const a = n.builder('alice');
  const job = (await n.lease(a))!;
  const b = n.builder('bob');
  // Someone else's lease; an unknown lease; a bad lease id.
  await assert.rejects(n.as(b).reportResult(job.id, { leaseId: job.lease.id, outcome: 'failed', seconds: 1 }), { code: 'NOT_ALLOWED' });
  await assert.rejects(n.as(a).reportResult(job.id, { leaseId: 'f'.repeat(32), outcome: 'failed', seconds: 1 }), { code: 'LEASE_LOST' });
  assert.deepEqual(await post(a, `/v1/jobs/${job.id}/heartbeat`, { leaseId: 'nothex' }), { status: 400, code: 'BAD_REQUEST' });
  // "Built" with an attestation by another key, with none, or of another configuration.
  const bobs = await n.as(b).submitAttestation(n.w.attest(b, { cfg: C, time: new Date() }));
  await assert.rejects(n.as(a).reportResult(job.id, { leaseId: job.lease.id, outcome: 'built', attestation: bobs.id, seconds: 1 }), { code: 'BAD_RESULT' });
  await assert.rejects(n.as(a).reportResult(job.id, { leaseId: job.lease.id, outcome: 'built', seconds: 1 }), { code: 'BAD_RESULT' });
  const other = await n.as(a).submitAttestation(n.w.attest(a, { cfg: { ...C, use: [] }, output: OUT_B, time: new Date() }));
  await assert.rejects(n.as(a).reportResult(job.id, { leaseId: job.lease.id, outcome: 'built', attestation: other.id, seconds: 1 }), { code: 'BAD_RESULT', message: /differs from the job in use/ });
  const still = (await n.anon.queue())[0]!;
  assert.deepEqual([still.state, still.holder], ['leased', a.publicKey.id], 'nothing changed');
});

test('a verifier that gets another output records a dispute and more verify jobs are queued', async (t) => {
  const n = await network(t, { verifyTarget: 2, seed: 3 });
  const C = config('app-misc/hello-1.0', { use: ['nls'] });
  for (const name of ['alice', 'carol']) assert.equal(await n.lease(n.builder(name)), null, 'nothing yet; they are now active builders');
  await n.as(generateKey()).submitDemand([C]);
  const b = n.builder('bob');
  await n.build(b, (await n.lease(b))!, C);
  const [v] = await n.anon.queue({ kind: 'verify' });
  assert.ok(v && v.state === 'queued');
  const verifier = [n.builder('alice'), n.builder('carol')].find((k) => v.why.includes(k.publicKey.id.slice(0, 12)))!;
  const job = (await n.lease(verifier))!;
  const r = await n.build(verifier, job, C, OUT_B);
  assert.deepEqual([r.state, r.duplicate], ['done', false]);
  assert.match(r.why, /DIFFERENT output/);
  assert.equal((await n.anon.disputes()).length, 1);
  const more = (await n.anon.queue({ kind: 'verify', state: 'queued' }));
  assert.equal(more.length, 2, 'target 2 + 1 for the dispute, minus the one operator that agrees with the target output');
  assert.match(more.map((m) => m.why).join(' '), /outputs disagree/);
  // Only the third operator may take one; the other waits for an operator that has not built it.
  const third = n.operatorOf(verifier.publicKey.id) === 'alice' ? n.builder('carol') : n.builder('alice');
  assert.equal((await n.lease(third))?.kind, 'verify');
  assert.equal(await n.lease(n.builder('bob', 1)), null);
  assert.match((await n.anon.queue({ kind: 'verify', state: 'queued' }))[0]!.why, /no eligible builder/);
});

test('census, request, queue and dispute CLIs against a coordinator', async (t) => {
  if (!need(t, hasFixtures, 'shared Portage fixtures')) return;
  const n = await network(t);
  const dir = await tempDir(t);
  const keyFile = join(dir, 'me.key');
  assert.equal((await runCli(['keygen', '--out', keyFile])).code, 0);
  const census = await runCli(['census', '--vdb', join(fixturesDir, 'vdb'), '--coordinator', n.url, '--key', keyFile, '--json']);
  assert.equal(census.code, 0, census.stderr);
  assert.deepEqual((JSON.parse(census.stdout) as { submitted: unknown }).submitted, { accepted: 3, jobsCreated: 3 });
  const req = await runCli(['request', '=app-misc/hello-1.0::test_repo', '--use', 'debug', '--coordinator', n.url, '--key', keyFile, '--json']);
  assert.equal(req.code, 0, req.stderr);
  const r = JSON.parse(req.stdout) as { spec: { cpv: string; repo: string; use: string[] }; jobId: string };
  assert.deepEqual([r.spec.cpv, r.spec.repo, r.spec.use], ['app-misc/hello-1.0', 'test_repo', ['debug']]);
  const q = await runCli(['queue', '--coordinator', n.url, '--json']);
  const jobs = (JSON.parse(q.stdout) as { jobs: { id: string; cpv: string; state: string }[] }).jobs;
  assert.deepEqual(jobs.map((j) => j.cpv).sort(), ['app-doc/greet-doc-1.0', 'app-misc/hello-1.0', 'app-misc/hello-1.0', 'dev-libs/libgreet-1.0']);
  assert.ok(jobs.some((j) => j.id === r.jobId));
  const human = await runCli(['queue', '--coordinator', n.url]);
  assert.match(human.stdout, /waiting for a x86_64-pc-linux-gnu builder/);
  for (const bad of ['app-misc/hello', '>=app-misc/hello-1.0', 'not an atom']) {
    const res = await runCli(['request', bad, '--coordinator', n.url, '--key', keyFile]);
    assert.equal(res.code, 2, bad);
    assert.match(res.stderr, /BAD_ATOM/);
  }
  // A slim variant is its own configuration: a request of it queues its own build job, with the preset's INSTALL_MASK.
  const slim = await runCli(['request', '=app-misc/hello-1.0::test_repo', '--use', 'debug', '--variant', 'slim', '--coordinator', n.url, '--key', keyFile, '--json']);
  assert.equal(slim.code, 0, slim.stderr);
  const s = JSON.parse(slim.stdout) as { spec: { installMask: string }; jobId: string };
  assert.equal(s.spec.installMask, '/usr/share/doc /usr/share/gtk-doc /usr/share/man /usr/share/info /usr/include *.a *.la');
  assert.notEqual(s.jobId, r.jobId);
  for (const bad of [['--variant', 'tiny'], ['--variant', 'slim', '--install-mask', '/opt']]) {
    const res = await runCli(['request', '=app-misc/hello-1.0', ...bad, '--coordinator', n.url, '--key', keyFile]);
    assert.equal(res.code, 2, bad.join(' '));
    assert.match(res.stderr, /BAD_VARIANT|BAD_USAGE/);
  }
  const unknown = await runCli(['dispute', 'show', 'f'.repeat(64), '--coordinator', n.url]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /NOT_FOUND/);
});
