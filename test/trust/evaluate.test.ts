import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateTrust, MAX_SIGNER_SKEW_MS, type TrustResult } from '../../src/trust/evaluate.js';
import { generateKey } from '../../src/trust/keys.js';
import type { Policy } from '../../src/trust/policy.js';
import { at, config, OUT_A, OUT_B, World } from '../helpers/trust-world.js';

function evaluate(w: World, policy: Partial<Policy> = {}, now = at(20)): TrustResult[] {
  return evaluateTrust({
    attestations: w.entries('attestation'),
    certificates: w.entries('certificate'),
    revocations: w.entries('revocation'),
    policy: { roots: [w.root.publicKey], threshold: 2, overrides: [], onDispute: 'reject', ...policy },
    now,
  });
}

function one(w: World, policy: Partial<Policy> = {}, now?: Date): TrustResult {
  const r = evaluate(w, policy, now);
  assert.equal(r.length, 1);
  return r[0]!;
}

test('K-of-N boundaries: threshold 2 with 1, 2 and 3 operators', () => {
  const w = new World();
  const ops = ['alice', 'bob', 'carol'].map((n) => w.operator(n));
  w.attest(ops[0]!.builders[0]!.key);
  assert.deepEqual([one(w).status, one(w).level], ['untrusted', 1]);
  w.attest(ops[1]!.builders[0]!.key);
  assert.deepEqual([one(w).status, one(w).level], ['trusted', 2]);
  assert.equal(one(w).outputDigest, OUT_A);
  w.attest(ops[2]!.builders[0]!.key);
  assert.deepEqual([one(w, { threshold: 3 }).status, one(w, { threshold: 4 }).status], ['trusted', 'untrusted']);
  assert.equal(one(w, { threshold: 'never' }).status, 'opted-out');
});

test('five keys of one operator count as one', () => {
  const w = new World();
  const op = w.operator('alice', { builders: 5 });
  for (const b of op.builders) w.attest(b.key);
  const r = one(w, { threshold: 1 });
  assert.equal(r.level, 1);
  assert.equal(r.outputs[0]!.operators[0]!.builders.length, 5);
  assert.equal(one(w).status, 'untrusted');
});

test('overrides: most specific pattern wins, never opts a package out', () => {
  const w = new World();
  const [a, b] = [w.operator('alice'), w.operator('bob')];
  for (const op of [a, b]) w.attest(op.builders[0]!.key, { cfg: config('sys-libs/glibc-2.40') });
  for (const op of [a, b]) w.attest(op.builders[0]!.key, { cfg: config('app-crypt/gnupg-2.4') });
  for (const op of [a, b]) w.attest(op.builders[0]!.key, { cfg: config('app-misc/hello-1.0') });
  const overrides = [
    { pattern: 'sys-libs/glibc', threshold: 3 as const },
    { pattern: 'app-crypt/*', threshold: 'never' as const },
    { pattern: '*/*', threshold: 1 as const },
  ];
  const by = Object.fromEntries(evaluate(w, { overrides }).map((r) => [r.cpv, [r.status, r.required]]));
  assert.deepEqual(by, { 'app-crypt/gnupg-2.4': ['opted-out', 'never'], 'app-misc/hello-1.0': ['trusted', 1], 'sys-libs/glibc-2.40': ['untrusted', 3] });
});

test('expired or not-yet-valid certificates do not count', () => {
  const w = new World();
  const a = w.operator('alice');
  const b = w.operator('bob', { to: at(5) }); // operator cert expired before the attestation
  const c = w.operator('carol');
  const late = w.builder(c, { from: at(15) }); // builder cert not yet valid at day 10
  w.attest(a.builders[0]!.key);
  w.attest(b.builders[0]!.key);
  w.attest(late);
  const r = one(w);
  assert.equal(r.level, 1);
  assert.match(r.attestations.find((v) => v.builder === b.builders[0]!.key.publicKey.id)!.reason, /operator certificate .* not valid/);
  assert.match(r.attestations.find((v) => v.builder === late.publicKey.id)!.reason, /builder certificate not valid/);
});

test('a builder certified by an operator that no root certified does not count', () => {
  const w = new World();
  const a = w.operator('alice');
  const rogueRoot = generateKey();
  const eve = w.operator('eve', { issuer: rogueRoot });
  w.attest(a.builders[0]!.key);
  w.attest(eve.builders[0]!.key);
  const r = one(w, { threshold: 1 });
  assert.equal(r.level, 1);
  assert.match(r.attestations.find((v) => v.builder === eve.builders[0]!.key.publicKey.id)!.reason, /not certified/);
  // Trusting the rogue root as well makes eve count.
  assert.equal(one(w, { roots: [w.root.publicKey, rogueRoot.publicKey] }).level, 2);
});

test('revocation: attestations before it count, at or after it do not; revoking an operator cuts its builders', () => {
  const w = new World();
  const a = w.operator('alice');
  const b = w.operator('bob');
  w.attest(a.builders[0]!.key, { time: at(10) });
  w.attest(b.builders[0]!.key, { time: at(10) });
  w.revoke(a.key, a.builders[0]!.key.publicKey.id, at(12)); // operator revokes its builder after the fact
  assert.equal(one(w).status, 'trusted');
  const w2 = new World();
  const a2 = w2.operator('alice');
  const b2 = w2.operator('bob');
  w2.attest(a2.builders[0]!.key, { time: at(10) });
  w2.attest(b2.builders[0]!.key, { time: at(10) });
  w2.revoke(w2.root, b2.key.publicKey.id, at(10)); // revoked at exactly the attestation time
  const r = one(w2);
  assert.equal(r.level, 1);
  assert.match(r.attestations.find((v) => v.operator === 'bob')!.reason, /revoked/);
  // An operator cannot revoke someone else's builder.
  const w3 = new World();
  const a3 = w3.operator('alice');
  const b3 = w3.operator('bob');
  w3.attest(a3.builders[0]!.key);
  w3.attest(b3.builders[0]!.key);
  w3.revoke(a3.key, b3.builders[0]!.key.publicKey.id, at(1));
  assert.equal(one(w3).level, 2);
});

test('disputes: detected, rejected by default, majority needs a lead of at least K', () => {
  const w = new World();
  const ops = ['a', 'b', 'c', 'd', 'e'].map((n) => w.operator(n));
  for (const op of ops.slice(0, 4)) w.attest(op.builders[0]!.key, { output: OUT_A });
  w.attest(ops[4]!.builders[0]!.key, { output: OUT_B });
  const r = one(w);
  assert.equal(r.status, 'disputed');
  assert.deepEqual(r.outputs.map((o) => [o.outputDigest, o.level]), [[OUT_A, 4], [OUT_B, 1]]);
  // majority: leader 4 ≥ 2 and lead 3 ≥ 2 → trusted, the leader is served.
  const m = one(w, { onDispute: 'majority' });
  assert.deepEqual([m.status, m.outputDigest], ['trusted', OUT_A]);
  // Lead of exactly K−1 is not enough.
  assert.equal(one(w, { onDispute: 'majority', threshold: 4 }).status, 'disputed');
  w.attest(ops[3]!.builders[0]!.key, { output: OUT_B }); // d now also says B (d counts for both)
  const m2 = one(w, { onDispute: 'majority' });
  assert.deepEqual(m2.outputs.map((o) => o.level), [4, 2]);
  assert.equal(m2.status, 'trusted');
  assert.equal(one(w, { onDispute: 'majority', threshold: 3 }).status, 'disputed');
});

test('attestations whose own time is ahead of their log time, or logged after the evaluation time, never count', () => {
  const w = new World();
  const a = w.operator('alice');
  const b = w.operator('bob');
  const c = w.operator('carol');
  w.attest(a.builders[0]!.key);
  w.attest(b.builders[0]!.key, { time: at(30), logAt: at(10) });
  w.attest(c.builders[0]!.key, { time: new Date(at(10).getTime() + MAX_SIGNER_SKEW_MS), logAt: at(10) }); // within the skew bound: counts
  w.attest(a.builders[0]!.key, { time: at(25), logAt: at(25), output: OUT_B });
  const r = one(w, {}, at(20));
  assert.equal(r.level, 2);
  const bv = r.attestations.find((v) => v.operator === undefined && v.builder === b.builders[0]!.key.publicKey.id)!;
  assert.deepEqual([bv.counted, bv.decidedBy, Date.parse(bv.time!), bv.logTime], [false, 'own-time', at(30).getTime(), at(10).toISOString()]);
  assert.match(bv.reason, /after its log time/);
  const late = r.attestations.find((v) => v.outputDigest === OUT_B)!;
  assert.deepEqual([late.counted, late.decidedBy], [false, 'log-time']);
  assert.match(late.reason, /after the evaluation time/);
});

const HOUR = 3_600_000;
const plus = (d: Date, ms: number) => new Date(d.getTime() + ms);

test('issue 10: a revoked key cannot backdate its way back in — what is logged after the revocation counts for nothing', () => {
  const w = new World();
  const a = w.operator('alice');
  const key = a.builders[0]!.key;
  const now = at(10);
  w.revoke(a.key, key.publicKey.id, now, now); // stolen: revoked now, logged now
  // A second later the thief signs for app-misc/evil-1.0 and says it was an hour ago.
  w.attest(key, { cfg: config('app-misc/evil-1.0'), time: plus(now, -HOUR), logAt: plus(now, 1000) });
  const r = one(w, { threshold: 1 }, plus(now, 2000));
  assert.equal(r.status, 'untrusted');
  const v = r.attestations[0]!;
  assert.deepEqual([v.counted, v.decidedBy, v.logTimeFrom, v.logTime], [false, 'log-time', 'log', plus(now, 1000).toISOString()]);
  assert.match(v.reason, /builder key revoked: revocation logged at .* comes before this statement/);
  // The same envelope as a bare file (no log) is judged as if logged now: also void.
  const bare = evaluateTrust({ attestations: [{ envelope: w.attestations[0] }], certificates: w.entries('certificate'), revocations: w.entries('revocation'), policy: { roots: [w.root.publicKey], threshold: 1, overrides: [], onDispute: 'reject' }, now: plus(now, 2000) });
  assert.deepEqual([bare[0]!.status, bare[0]!.attestations[0]!.logTimeFrom], ['untrusted', 'now']);
});

test('a revocation back-dated to the compromise voids earlier-logged attestations signed (or first logged) after it', () => {
  const w = new World();
  const a = w.operator('alice');
  const key = a.builders[0]!.key;
  const compromise = at(10);
  w.attest(key, { cfg: config('app-misc/honest-1.0'), time: at(9), logAt: at(9) });
  w.attest(key, { cfg: config('app-misc/after-1.0'), time: at(11), logAt: at(11) });
  // The thief backdates its own time before the compromise, but the log saw it after.
  w.attest(key, { cfg: config('app-misc/sneaky-1.0'), time: at(9), logAt: at(11) });
  w.revoke(a.key, key.publicKey.id, compromise, at(12)); // logged after all three
  const by = Object.fromEntries(evaluate(w, { threshold: 1 }, at(13)).map((r) => [r.cpv, r.attestations[0]!]));
  assert.equal(by['app-misc/honest-1.0']!.counted, true);
  assert.deepEqual([by['app-misc/after-1.0']!.counted, by['app-misc/after-1.0']!.decidedBy], [false, 'own-time']);
  assert.match(by['app-misc/after-1.0']!.reason, /revoked as of .*; signed at .* after that/);
  assert.deepEqual([by['app-misc/sneaky-1.0']!.counted, by['app-misc/sneaky-1.0']!.decidedBy], [false, 'log-time']);
  assert.match(by['app-misc/sneaky-1.0']!.reason, /first logged at .* after that/);
});

test('certificate validity is judged at the log time, not at the time the signer claims', () => {
  const w = new World();
  const a = w.operator('alice');
  const b = w.operator('bob');
  const expiring = w.builder(a, { to: at(30) });
  w.attest(expiring, { time: at(29), logAt: at(29) }); // logged while valid: still counts long after expiry
  w.attest(b.builders[0]!.key, { time: at(29), logAt: at(29) });
  assert.equal(one(w, {}, at(100)).level, 2);
  const w2 = new World();
  const a2 = w2.operator('alice');
  const late = w2.builder(a2, { to: at(30) });
  w2.attest(late, { time: at(29), logAt: at(31) }); // says day 29, the log saw it on day 31
  const v = one(w2, { threshold: 1 }, at(32)).attestations[0]!;
  assert.deepEqual([v.counted, v.decidedBy], [false, 'log-time']);
  assert.match(v.reason, /builder certificate not valid at log time 2026-02-01/);
});

test('a builder certificate logged after its operator was revoked certifies nothing', () => {
  const w = new World();
  const a = w.operator('alice');
  w.revoke(w.root, a.key.publicKey.id, at(20), at(5)); // alice revoked as of day 20, logged on day 5
  const thief = w.builder(a, { from: at(1), logAt: at(6) }); // backdated certificate, logged after
  w.attest(thief, { time: at(7), logAt: at(7) });
  const v = one(w, { threshold: 1 }, at(8)).attestations[0]!;
  assert.equal(v.counted, false);
  assert.match(v.reason, /builder certificate void: its issuing operator .* was revoked/);
});
