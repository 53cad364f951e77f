/**
 * `assign` case: what handing one verify job to a random active builder of
 * another operator costs as the number of builders grows. Two SQLite
 * stores hold 10 and 10⁴ active builders of one CHOST (one operator each,
 * plus quiet ones); a pick excludes three operators (those that built or
 * verify the output already). The baseline, measured in the same run, is
 * the previous implementation: read every active builder of the CHOST,
 * filter, pick one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDb } from '../src/coordinator/store/db.js';
import { openStore, type SqlStore } from '../src/coordinator/store/sql-store.js';
import type { BenchResult } from './run.js';

const SIZES = (process.env.BENCH_ASSIGN_SIZES ?? '10,10000').split(',').map(Number);
const CHOST = 'x86_64-pc-linux-gnu';
const NOW = 1_000_000;
const key = (i: number) => (BigInt(i) * 0x9e3779b97f4a7c15n % (1n << 64n)).toString(16).padStart(16, '0').repeat(4);

async function populate(n: number): Promise<{ store: SqlStore; db: SqliteDb; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'binswarm-bench-assign-'));
  const store = await openStore(join(dir, 'c.db'));
  await store.transaction(async () => {
    // Active builders, and as many quiet ones (seen long ago) as the active window leaves out.
    for (let i = 0; i < 2 * n; i++) await store.scheduler.putBuilder({ keyId: key(i), operator: `op${i}`, chost: CHOST, backends: ['example'], lastSeen: i < n ? NOW : 0 });
  });
  return { store, db: new SqliteDb(join(dir, 'c.db')), dir };
}

const excluded = ['op0', 'op1', 'op2'];

/** The previous implementation's read: every active builder of the CHOST, then a filter and a pick. */
async function oldPick(db: SqliteDb): Promise<string | undefined> {
  const rows = await db.all('SELECT * FROM builders WHERE chost = ? AND last_seen >= ? ORDER BY key_id', [CHOST, NOW - 600_000]);
  const eligible = rows.filter((r) => !excluded.includes(String(r.operator)));
  return eligible.length ? String(eligible[Math.floor(Math.random() * eligible.length)]!.key_id) : undefined;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: () => Promise<unknown>, runs: number): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

export default async function bench(): Promise<BenchResult> {
  const lines: string[] = [];
  const ratios: Record<string, number> = {};
  const stores = await Promise.all(SIZES.map(populate));
  try {
    const pick = (s: SqlStore) => s.scheduler.randomActiveBuilder(CHOST, NOW - 600_000, excluded, key(Math.floor(Math.random() * 1e9)));
    const newMs: number[] = [];
    const oldMs: number[] = [];
    for (const [i, { store, db }] of stores.entries()) {
      await pick(store);
      newMs.push(await time(() => pick(store), 2000));
      oldMs.push(await time(() => oldPick(db), 50));
      lines.push(`${SIZES[i]} active builders (+${SIZES[i]} quiet): random pick ${(newMs[i]! * 1000).toFixed(0)} µs; old read of every active builder ${(oldMs[i]! * 1000).toFixed(0)} µs (medians)`);
    }
    const last = SIZES.length - 1;
    ratios[`pick@${SIZES[last]}/pick@${SIZES[0]} (1 = independent of builders)`] = newMs[last]! / newMs[0]!;
    ratios[`old read@${SIZES[last]}/old read@${SIZES[0]} (baseline: grows with builders)`] = oldMs[last]! / oldMs[0]!;
    ratios[`old read/pick @${SIZES[last]} (>1 = the pick is faster)`] = oldMs[last]! / newMs[last]!;
  } finally {
    for (const { store, db, dir } of stores) {
      await db.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { name: 'assign', lines, ratios };
}
