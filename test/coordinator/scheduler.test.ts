/** The scheduler's pure core: demand decay, priority, verify plans (table tests). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contribution, demandAt, expectedCost, logAdd, logPriority, pkgOf, priorityAt, rescore, verifyPlan, DEFAULT_COST_SECONDS, KIND_WEIGHT } from '../../src/coordinator/scheduler.js';

const H = 1000;
const d = { halfLifeMs: H, epoch: 0 };
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} ≠ ${b}`);

/** Replays submissions [peer, time] and returns the decayed demand at `now`. */
function replay(subs: [string, number][], now: number): number {
  const last = new Map<string, number>();
  let score = -Infinity;
  for (const [peer, t] of subs) {
    const old = last.get(peer);
    if (old !== undefined && old >= t) continue;
    score = rescore(score, old === undefined ? undefined : contribution(old, d), contribution(t, d));
    last.set(peer, t);
  }
  return demandAt(score, now, d);
}

test('demand: distinct peers, decayed by half-life; a peer counts once however often it submits', () => {
  const cases: { name: string; subs: [string, number][]; now: number; want: number }[] = [
    { name: 'one peer, now', subs: [['a', 5000]], now: 5000, want: 1 },
    { name: 'one peer, one half-life ago', subs: [['a', 4000]], now: 5000, want: 0.5 },
    { name: 'one peer, two half-lives ago', subs: [['a', 3000]], now: 5000, want: 0.25 },
    { name: 'two peers now', subs: [['a', 5000], ['b', 5000]], now: 5000, want: 2 },
    { name: 'same peer three times', subs: [['a', 5000], ['a', 5000], ['a', 5000]], now: 5000, want: 1 },
    { name: 'a resubmission refreshes, never adds', subs: [['a', 3000], ['a', 5000]], now: 5000, want: 1 },
    { name: 'an older resubmission changes nothing', subs: [['a', 5000], ['a', 3000]], now: 5000, want: 1 },
    { name: 'mixed ages', subs: [['a', 4000], ['b', 5000], ['a', 4000], ['c', 3000]], now: 5000, want: 0.5 + 1 + 0.25 },
    { name: 'far future clock stays finite', subs: [['a', 1e15], ['b', 1e15]], now: 1e15, want: 2 },
    { name: 'far past clock stays finite', subs: [['a', -1e15]], now: -1e15 + H, want: 0.5 },
  ];
  for (const c of cases) close(replay(c.subs, c.now), c.want, c.name);
  // Decay never reorders: two configs keep their order as time passes.
  const x = rescore(-Infinity, undefined, contribution(100, d));
  const y = logAdd(contribution(0, d), contribution(0, d));
  for (const now of [100, 10_000, 500_000]) assert.ok(demandAt(y, now, d) > demandAt(x, now, d));
});

test('priority = demand × kind weight ÷ expected cost', () => {
  const score = (peers: number) => Math.log2(peers); // peers asking at the epoch
  const cases: { peers: number; kind: keyof typeof KIND_WEIGHT; cost: number; want: number }[] = [
    { peers: 1, kind: 'build', cost: 1, want: 1 },
    { peers: 10, kind: 'build', cost: 100, want: 0.1 },
    { peers: 10, kind: 'verify', cost: 100, want: 0.2 },
    { peers: 4, kind: 'abi-rebuild', cost: 2, want: 3 },
    { peers: 1000, kind: 'build', cost: DEFAULT_COST_SECONDS, want: 1000 / DEFAULT_COST_SECONDS },
  ];
  for (const c of cases) close(priorityAt(logPriority(score(c.peers), KIND_WEIGHT[c.kind], c.cost), 0, d), c.want, JSON.stringify(c));
  assert.equal(expectedCost(undefined), DEFAULT_COST_SECONDS);
  assert.equal(expectedCost({ seconds: 300, builds: 3 }), 100);
  assert.equal(expectedCost({ seconds: 0, builds: 2 }), 1, 'never free');
  assert.equal(expectedCost({ seconds: 0, builds: 0 }), DEFAULT_COST_SECONDS);
});

test('verify plan: queue up to the target, stop when met, more on a dispute, bounded', () => {
  const out = (d: string, ...ops: string[]) => ({ outputDigest: d, operators: ops });
  const cases: { name: string; in: Parameters<typeof verifyPlan>[0]; want: Partial<ReturnType<typeof verifyPlan>> }[] = [
    { name: 'nothing attested', in: { outputs: [], open: 0, total: 0, target: 3 }, want: { needed: 0, met: false } },
    { name: 'one build, target 3', in: { outputs: [out('A', 'alice')], open: 0, total: 0, target: 3 }, want: { needed: 2, target: 'A', met: false } },
    { name: 'two open already', in: { outputs: [out('A', 'alice')], open: 2, total: 2, target: 3 }, want: { needed: 0 } },
    { name: 'one verified, one open', in: { outputs: [out('A', 'alice', 'bob')], open: 1, total: 2, target: 3 }, want: { needed: 0, met: false } },
    { name: 'target met', in: { outputs: [out('A', 'alice', 'bob', 'carol')], open: 1, total: 3, target: 3 }, want: { needed: 0, met: true } },
    { name: 'target 1 met by the build', in: { outputs: [out('A', 'alice')], open: 0, total: 0, target: 1 }, want: { needed: 0, met: true } },
    { name: 'dispute asks one more operator', in: { outputs: [out('A', 'alice', 'bob', 'carol'), out('B', 'dave')], open: 0, total: 3, target: 3 }, want: { needed: 1, target: 'A', met: false, disputed: true } },
    { name: 'dispute, best supported output is the target', in: { outputs: [out('A', 'alice'), out('B', 'bob', 'carol')], open: 0, total: 2, target: 3 }, want: { needed: 2, target: 'B', disputed: true } },
    { name: 'bounded at 3 × target jobs', in: { outputs: [out('A', 'alice'), out('B', 'bob')], open: 0, total: 8, target: 3 }, want: { needed: 1 } },
    { name: 'bound reached', in: { outputs: [out('A', 'alice'), out('B', 'bob')], open: 0, total: 9, target: 3 }, want: { needed: 0 } },
    { name: 'uncertified attesters count for nothing', in: { outputs: [out('A')], open: 0, total: 0, target: 2 }, want: { needed: 2 } },
  ];
  for (const c of cases) {
    const got = verifyPlan(c.in);
    for (const [k, v] of Object.entries(c.want)) assert.equal(got[k as keyof typeof got], v, `${c.name}: ${k}`);
  }
});

test('pkgOf', () => {
  for (const [cpv, pkg] of [['app-misc/hello-1.0', 'app-misc/hello'], ['dev-libs/foo-bar-2.3.4-r1', 'dev-libs/foo-bar'], ['x11-libs/gtk+-3.24.41', 'x11-libs/gtk+'], ['media-libs/libpng-1.6.43_p1', 'media-libs/libpng']]) assert.equal(pkgOf(cpv), pkg);
});
