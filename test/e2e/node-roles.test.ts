/**
 * The node's opt-in sharing roles besides contribute, with real processes:
 * `sign` signs only what the network already has (offering nothing), and
 * `census` sends the installed packages' build configs as demand.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import { readVdb } from '../../src/formats/vdb.js';
import { openAttestation } from '../../src/trust/statements.js';
import { runCli } from '../helpers/cli.js';
import { fixturesDir, hasFixtures, need, tempDir } from '../helpers/env.js';
import { operatorWorld } from '../helpers/operators.js';
import { startBinswarm, until } from '../helpers/procs.js';

const blobCount = (data: string) => {
  try {
    return readdirSync(join(data, 'blobs', 'sha256')).length;
  } catch {
    return 0;
  }
};

test('role sign: signs the outputs the network has, offers nothing, skips the rest; role census: sends the installed configs as demand', { timeout: 120_000 }, async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  const dir = await tempDir(t);
  const w = operatorWorld(dir, ['alice', 'bob', 'carol']);
  const [alice, bob, carol] = w.people as [typeof w.people[0], typeof w.people[0], typeof w.people[0]];
  const coord = await startBinswarm(['coordinator', '--data', join(dir, 'coord'), '--listen', '127.0.0.1:0', '--roots', w.rootPub], t);
  const C = coord.ready.listening;
  const client = new CoordinatorClient(C);
  const certs = (p: typeof alice) => p.certs.flatMap((c) => ['--cert', c]);

  const a = await runCli(['publish', join(fixturesDir, 'zstd'), '--coordinator', C, '--key', alice.key, ...certs(alice), '--data', join(dir, 'alice'), '--public-url', 'http://127.0.0.1:9', '--json']);
  assert.equal(a.code, 0, a.stderr);
  const have = new Set((await client.packages({})).flatMap((g) => g.attestations).map((x) => openAttestation(x.envelope).statement.outputDigest));
  assert.equal(have.size, 3);

  // publish --sign-only of other builds: what the network lacks is skipped, nothing is stored or offered.
  const b = await runCli(['publish', join(fixturesDir, 'multi'), '--coordinator', C, '--key', bob.key, ...certs(bob), '--data', join(dir, 'bob'), '--sign-only', '--json']);
  assert.equal(b.code, 0, b.stderr);
  const br = JSON.parse(b.stdout) as { packages: { outputDigest: string; action: string }[]; skipped: { cpv: string }[] };
  assert.ok(br.skipped.length > 0, 'the other builds are not in the network');
  for (const p of br.packages) {
    assert.equal(p.action, 'signature-only');
    assert.ok(have.has(p.outputDigest));
  }
  assert.equal(blobCount(join(dir, 'bob')), 0);

  // A node with role sign watching a PKGDIR of the same builds: one more signature each, no archive offered.
  const watched = join(dir, 'carol-binpkgs');
  cpSync(join(fixturesDir, 'zstd'), watched, { recursive: true });
  const holdersBefore = await Promise.all([...(await client.packages({}))].map(async (g) => (await client.archive(openAttestation(g.attestations[0]!.envelope).statement.archive.sha256))?.holders.length ?? 0));
  await startBinswarm(['node', '--roles', 'sign', '--coordinator', C, '--data', join(dir, 'carol'), '--key', carol.key, ...certs(carol), '--listen', '127.0.0.1:0', '--watch', watched, '--watch-interval', '1'], t);
  const groups = await until('carol’s signatures', async () => {
    const gs = await client.packages({});
    return gs.every((g) => g.attestations.some((x) => openAttestation(x.envelope).statement.builder.keyId === carol.keyId)) && gs;
  }, 30_000);
  assert.equal(groups.length, 3);
  for (const g of groups) assert.equal(g.disputed, false);
  assert.equal(blobCount(join(dir, 'carol')), 0, 'role sign stores nothing');
  const holdersAfter = await Promise.all(groups.map(async (g) => (await client.archive(openAttestation(g.attestations[0]!.envelope).statement.archive.sha256))?.holders.length ?? 0));
  assert.deepEqual(holdersAfter, holdersBefore, 'role sign offers nothing');

  // Role census: the installed packages of ROOT/var/db/pkg become demand (jobs for each of them).
  const root = join(dir, 'root');
  mkdirSync(join(root, 'var', 'db'), { recursive: true });
  symlinkSync(join(fixturesDir, 'vdb'), join(root, 'var', 'db', 'pkg'));
  const installed = new Set((await readVdb(join(fixturesDir, 'vdb'))).packages.map((p) => p.cpv));
  await startBinswarm(['node', '--roles', 'census', '--coordinator', C, '--data', join(dir, 'dave'), '--key', w.consumer, '--listen', '127.0.0.1:0', '--census-root', root], t);
  await until('jobs for every installed package', async () => {
    const cpvs = new Set((await client.queue()).map((j) => j.cpv));
    return [...installed].every((c) => cpvs.has(c));
  }, 30_000);
});
