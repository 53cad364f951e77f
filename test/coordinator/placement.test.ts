/** Placement as a pure function: failure domains, weights, minimum-first filling, spare capacity, stability (repair). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { assignmentsByMirror, place, rendezvousScore, replicaTarget, type PlacementArchive, type PlacementMirror } from '../../src/coordinator/placement.js';

const GiB = 1 << 30;
const hex = (s: string) => createHash('sha256').update(s).digest('hex');
const archives = (n: number, size = 100, demand = 0): PlacementArchive[] => Array.from({ length: n }, (_, i) => ({ sha256: hex(`a${i}`), size, demand }));
const mirror = (id: string, domain: string | null, capacity = GiB): PlacementMirror => ({ id, domain, capacity });
const domainsOf = (ids: string[], ms: PlacementMirror[]) => ids.map((id) => ms.find((m) => m.id === id)!.domain);

test('placement: replicas of an archive never share a failure domain while another domain has room', () => {
  const ms = [mirror('a1', 'A'), mirror('a2', 'A'), mirror('a3', 'A'), mirror('b1', 'B'), mirror('c1', 'C')];
  const placed = place(archives(200), ms, { spare: false });
  for (const [sha, ids] of placed) {
    assert.equal(ids.length, 2, sha);
    assert.equal(new Set(domainsOf(ids, ms)).size, 2, `${sha}: ${domainsOf(ids, ms)}`);
  }
  // With spare capacity each archive grows to one copy per domain, no more.
  for (const ids of place(archives(50), ms).values()) assert.deepEqual(domainsOf(ids, ms).sort(), ['A', 'B', 'C']);
});

test('placement: with a single domain, same-domain copies only reach the minimum', () => {
  const ms = [mirror('a1', 'A'), mirror('a2', 'A'), mirror('a3', 'A')];
  for (const ids of place(archives(20), ms).values()) assert.equal(ids.length, 2);
  // Mirrors without a domain are each their own.
  for (const ids of place(archives(20), [mirror('x', null), mirror('y', null), mirror('z', null)]).values()) assert.equal(ids.length, 3);
});

test('placement: weighted by capacity (rendezvous), deterministic', () => {
  const ms = [mirror('big', 'A', 100 * GiB), mirror('small', 'B', 25 * GiB), mirror('mid', 'C', 50 * GiB)];
  const placed = place(archives(2000), ms, { minReplicas: 1, spare: false });
  const per = assignmentsByMirror(placed);
  const big = per.get('big')!.length;
  const small = per.get('small')!.length;
  assert.ok(big > 2.5 * small && big < 6 * small, `big ${big} vs small ${small} (weights 4:1)`);
  assert.deepEqual(place(archives(2000), ms, { minReplicas: 1, spare: false }), placed);
  assert.ok(rendezvousScore('x', 'm', 2) === 2 * rendezvousScore('x', 'm', 1));
});

test('placement: scarce capacity goes to everyone\'s second copy before anyone\'s third, popular archives get more', () => {
  assert.deepEqual([0, 1, 3, 7, 100].map((d) => replicaTarget(d)), [2, 3, 4, 5, 8]);
  const ms = ['A', 'B', 'C', 'D', 'E'].map((d) => mirror(`m${d}`, d, 1000));
  // 5 mirrors × 1000 bytes = 50 slots of 100 bytes; 20 archives: 40 slots for the minimum, 10 left.
  const list = [...archives(19), { sha256: hex('popular'), size: 100, demand: 100 }];
  const placed = place(list, ms, { spare: false });
  const counts = list.map((a) => placed.get(a.sha256)!.length);
  assert.ok(counts.every((c) => c >= 2), `minimum first: ${counts}`);
  assert.ok(placed.get(hex('popular'))!.length > 2, 'the popular archive gets more than the minimum');
  const roomy = place(list, ['A', 'B', 'C', 'D', 'E'].map((d) => mirror(`m${d}`, d, 2000)), { spare: false });
  assert.equal(roomy.get(hex('popular'))!.length, 5, 'with room, the popular archive gets a copy per domain (target 8, 5 domains)');
  assert.ok([...roomy.values()].every((ids) => ids.length === 2 || ids.length === 5), 'the others stay at their target without spare filling');
  // Spare capacity: to the least-replicated first, so counts differ by at most one.
  const spare = [...place(archives(20), ms).values()].map((ids) => ids.length);
  assert.ok(Math.max(...spare) - Math.min(...spare) <= 1, `${spare}`);
  assert.equal(spare.reduce((s, n) => s + n, 0), 50, 'all capacity used');
  // No mirror is filled past its quota.
  for (const [id, shas] of assignmentsByMirror(place(archives(20), ms))) assert.ok(shas.length * 100 <= 1000, id);
});

test('placement: repair — without a failed mirror, only its archives move, and they get their replicas back', () => {
  const ms = ['A', 'B', 'C', 'D'].flatMap((d) => [mirror(`${d}1`, d), mirror(`${d}2`, d)]);
  const list = archives(300);
  const before = place(list, ms, { spare: false });
  const after = place(list, ms.filter((m) => m.id !== 'B1'), { spare: false });
  let moved = 0;
  for (const a of list) {
    const b = before.get(a.sha256)!;
    const c = after.get(a.sha256)!;
    assert.equal(c.length, 2, 'replica count restored');
    assert.ok(!c.includes('B1'));
    if (!b.includes('B1')) assert.deepEqual(c, b, 'archives not on the failed mirror stay put');
    else moved++;
  }
  assert.ok(moved > 0);
});
