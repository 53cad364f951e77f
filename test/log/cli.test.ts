import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { signCheckpoint } from '../../src/log/checkpoint.js';
import { MemoryHashStore } from '../../src/log/hash-store.js';
import { MerkleLog } from '../../src/log/log.js';
import { generateKey, privateKeyToPem, publicKeyToPem } from '../../src/trust/keys.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/env.js';

test('binswarm log verify / cosign / verify-inclusion', async (t) => {
  const dir = await tempDir(t);
  const logKey = generateKey();
  const witness = generateKey();
  writeFileSync(join(dir, 'log.pub'), publicKeyToPem(logKey.publicKey));
  writeFileSync(join(dir, 'w.key'), privateKeyToPem(witness));
  writeFileSync(join(dir, 'w.pub'), publicKeyToPem(witness.publicKey));
  const log = new MerkleLog(new MemoryHashStore());
  const leaves = Array.from({ length: 9 }, (_, i) => Buffer.from(`entry ${i}`));
  await log.appendLeaves(leaves.slice(0, 5));
  const cp = async () => signCheckpoint({ origin: 'test/log', size: await log.size(), root: await log.root(), extensions: [] }, 'test-log', logKey);
  writeFileSync(join(dir, 'a.cp'), await cp());
  await log.appendLeaves(leaves.slice(5));
  writeFileSync(join(dir, 'b.cp'), await cp());
  writeFileSync(join(dir, 'proof.json'), JSON.stringify((await log.consistencyProof(5, 9)).map((h) => Buffer.from(h).toString('hex'))));
  const common = ['--log-name', 'test-log', '--log-key', join(dir, 'log.pub')];

  const good = await runCli(['log', 'verify', '--json', '--checkpoint', join(dir, 'b.cp'), '--trusted', join(dir, 'a.cp'), '--proof', join(dir, 'proof.json'), ...common]);
  assert.equal(good.code, 0, good.stderr);
  assert.equal(JSON.parse(good.stdout).size, 9);

  const cos = await runCli(['log', 'cosign', '--key', join(dir, 'w.key'), '--name', 'w1', '--checkpoint', join(dir, 'b.cp'), '--trusted', join(dir, 'a.cp'), '--proof', join(dir, 'proof.json'), ...common]);
  assert.equal(cos.code, 0, cos.stderr);
  assert.match(cos.stdout, /^— w1 \S+\n$/);
  writeFileSync(join(dir, 'b-cosigned.cp'), (await cp()) + cos.stdout);
  const needW = ['log', 'verify', '--checkpoint', join(dir, 'b-cosigned.cp'), '--witness', `w1=${join(dir, 'w.pub')}`, '--witnesses-required', '1', ...common];
  assert.equal((await runCli(needW)).code, 0);
  const missing = await runCli(['log', 'verify', '--checkpoint', join(dir, 'b.cp'), '--witness', `w1=${join(dir, 'w.pub')}`, '--witnesses-required', '1', ...common]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /NOT_ENOUGH_WITNESSES/);

  // A fork: another history of size 9, presented after we trusted b.
  const other = new MerkleLog(new MemoryHashStore());
  await other.appendLeaves(leaves.map((l, i) => (i === 2 ? Buffer.from('rewritten') : l)));
  writeFileSync(join(dir, 'fork.cp'), signCheckpoint({ origin: 'test/log', size: 9, root: await other.root(), extensions: [] }, 'test-log', logKey));
  const fork = await runCli(['log', 'verify', '--checkpoint', join(dir, 'fork.cp'), '--trusted', join(dir, 'b.cp'), ...common]);
  assert.equal(fork.code, 2);
  assert.match(fork.stderr, /log fork: two different roots for tree size 9 \[LOG_FORK\]/);

  writeFileSync(join(dir, 'leaf'), leaves[3]!);
  writeFileSync(join(dir, 'incl.json'), JSON.stringify((await log.inclusionProof(3, 9)).map((h) => Buffer.from(h).toString('hex'))));
  const incl = await runCli(['log', 'verify-inclusion', '--leaf', join(dir, 'leaf'), '--index', '3', '--proof', join(dir, 'incl.json'), '--checkpoint', join(dir, 'b.cp'), ...common]);
  assert.equal(incl.code, 0, incl.stderr);
  const wrong = await runCli(['log', 'verify-inclusion', '--leaf', join(dir, 'leaf'), '--index', '4', '--proof', join(dir, 'incl.json'), '--checkpoint', join(dir, 'b.cp'), ...common]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /BAD_PROOF/);
});
