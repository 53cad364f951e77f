/** A coordinator killed with SIGKILL in the middle of log appends loses no committed leaf and keeps a whole tree. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { MerkleLog } from '../../src/log/log.js';
import { openStore } from '../../src/coordinator/store/sql-store.js';
import { fromDist, tempDir } from '../helpers/env.js';

test('SIGKILL during appends: reopened store has a consistent log', async (t) => {
  const dir = await tempDir(t);
  const db = join(dir, 'c.db');
  const storeUrl = new URL('../../src/coordinator/store/sql-store.js', import.meta.url).href;
  const logUrl = new URL('../../src/log/log.js', import.meta.url).href;
  const script = `
    const { openStore } = await import(${JSON.stringify(storeUrl)});
    const { MerkleLog } = await import(${JSON.stringify(logUrl)});
    const store = await openStore(${JSON.stringify(db)});
    for (let i = 0; ; i++) {
      await store.transaction(async (tx) => {
        const data = Array.from({ length: 1 + (i % 5) }, (_, j) => Buffer.from('leaf ' + i + '/' + j));
        const first = await new MerkleLog(tx.log).appendLeaves(data);
        await tx.putLeaves(first, data);
      });
      if (i === 20) process.stdout.write('going\\n');
    }`;
  const child = spawn(process.execPath, [...(fromDist ? [] : ['--import', 'tsx']), '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => setTimeout(resolve, 300));
    child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  const store = await openStore(db);
  t.after(() => store.close());
  const size = await store.log.size();
  assert.ok(size > 20, `the writer got somewhere (${size} leaves)`);
  const leaves = await store.getLeaves(0, size + 100);
  assert.equal(leaves.length, size, 'every committed leaf is there, and no leaf beyond the recorded size');
  // The whole tree is computable (no missing node) and equals one rebuilt from the leaves.
  const { MemoryHashStore } = await import('../../src/log/hash-store.js');
  const rebuilt = new MerkleLog(new MemoryHashStore());
  await rebuilt.appendLeaves(leaves);
  assert.deepEqual(Buffer.from(await new MerkleLog(store.log).root()), Buffer.from(await rebuilt.root()));
  // And the log keeps growing after the crash.
  await store.transaction(async (tx) => {
    const first = await new MerkleLog(tx.log).appendLeaves([Buffer.from('after')]);
    await tx.putLeaves(first, [Buffer.from('after')]);
  });
  assert.equal(await store.log.size(), size + 1);
});
