/**
 * The job loop against a real coordinator (in-process, real HTTP, a clock
 * the test moves): a lost lease kills the running build and nothing is
 * attested; a configuration the backend cannot honour is reported refused;
 * a good build is attested, stored, announced and reported (listings: see the e2e dispute test).
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import { ExampleBackend } from '../../src/builder/example-backend.js';
import { exampleRepoDir } from '../../src/builder/example-repo.js';
import { runJob, type BuilderEvent, type BuilderOptions } from '../../src/builder/job-loop.js';
import { buildCoordinatorApp } from '../../src/coordinator/server.js';
import { openStore } from '../../src/coordinator/store/sql-store.js';
import { BlobStore } from '../../src/transfer/blob-store.js';
import { generateKey, type PrivateKey } from '../../src/trust/keys.js';
import { exampleSpec } from '../helpers/builders.js';
import { hasProgram, need, tempDir } from '../helpers/env.js';
import { DAY, World } from '../helpers/trust-world.js';

const hasCc = hasProgram('cc');

/** A coordinator whose clock the test can move forward, two operators (alice, bob), and a builder setup for each. */
async function setup(t: TestContext, repoDir?: string) {
  const dir = await tempDir(t);
  const store = await openStore(join(dir, 'c.db'));
  const w = new World();
  let offset = 0;
  const { app } = await buildCoordinatorApp({ store, key: generateKey(), roots: [w.root.publicKey], now: () => Date.now() + offset, scheduler: { heartbeatMs: 1000, verifyTarget: 1 } });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  const live = { from: new Date(Date.now() - DAY), to: new Date(Date.now() + 365 * DAY) };
  const alice = w.operator('alice', live);
  const bob = w.operator('bob', live);
  const submitter = new CoordinatorClient(url, alice.builders[0]!.key);
  for (const c of w.certificates) await submitter.submitCertificate(c);
  const backend = new ExampleBackend(repoDir ? { repoDir } : {});
  const builder = async (name: string, key: PrivateKey) => {
    const client = new CoordinatorClient(url, key);
    await client.registerPeer({ roles: ['build'], url: `http://127.0.0.1:1/${name}` });
    const blobs = await BlobStore.open(join(dir, `blobs-${name}`));
    const events: BuilderEvent[] = [];
    const opts: BuilderOptions = {
      client, key, backend, buildDir: join(dir, `build-${name}`), heartbeatMs: 100, onEvent: (e) => events.push(e),
      sink: { publicUrl: `http://127.0.0.1:1/${name}`, store: async (path, exp) => void (await blobs.importFile(path, { expectedSha256: exp.sha256, expectedSize: exp.size })) },
    };
    return { client, opts, events, blobs };
  };
  return { dir, url, w, alice: await builder('alice', alice.builders[0]!.key), bob: await builder('bob', bob.builders[0]!.key), submitter, advance: (ms: number) => (offset += ms) };
}

test('a good build is attested, stored, announced and its result reported', async (t) => {
  if (!need(t, hasCc, 'a C compiler (cc)')) return;
  const s = await setup(t);
  const { jobId } = await s.submitter.submitRequest(exampleSpec('dev-libs/libdemo-1.0', ['static-libs']));
  const job = (await s.alice.client.leaseJob({ backends: ['example'], chost: 'x86_64-pc-linux-gnu' }))!;
  assert.equal(job.id, jobId);
  const r = await runJob(job, s.alice.opts, new AbortController().signal);
  assert.equal(r.outcome, 'built');
  const [group] = await s.submitter.packages({ cpv: 'dev-libs/libdemo-1.0' });
  assert.equal(group?.attestations.length, 1);
  const built = s.alice.events.find((e) => e.event === 'built') as Extract<BuilderEvent, { event: 'built' }>;
  assert.equal(built.kind, 'build');
  assert.ok(await s.alice.blobs.has(built.archive), 'the archive is in the blob store');
  assert.equal((await s.submitter.archive(built.archive))?.holders[0]?.url, 'http://127.0.0.1:1/alice');
  const item = (await s.submitter.queue({ cpv: 'dev-libs/libdemo-1.0' })).find((j) => j.id === jobId)!;
  assert.equal(item.state, 'done');
  assert.equal(item.configKey, group!.configKey);
});

test('a configuration the backend cannot honour, or flags that could run code, are reported refused with the reason in the queue', async (t) => {
  if (!need(t, hasCc, 'a C compiler (cc)')) return;
  const s = await setup(t);
  const { jobId } = await s.submitter.submitRequest(exampleSpec('app-misc/hello-demo-1.0', ['nls', 'wayland']));
  const job = (await s.alice.client.leaseJob({ backends: ['example'], chost: 'x86_64-pc-linux-gnu' }))!;
  assert.deepEqual(await runJob(job, s.alice.opts, new AbortController().signal), { outcome: 'refused', reason: 'USE flag wayland not in IUSE (debug nls)' });
  const item = (await s.submitter.queue({})).find((j) => j.id === jobId)!;
  assert.equal(item.state, 'refused');
  assert.match(item.why, /wayland not in IUSE/);
  assert.equal((await s.submitter.packages({ cpv: 'app-misc/hello-demo-1.0' })).length, 0, 'nothing attested');

  // Whatever the backend, flags that would run code on the builder are refused before anything runs.
  await s.submitter.submitRequest(exampleSpec('app-misc/hello-demo-1.0', ['nls'], { cflags: '-O2 -wrapper sh,-c,touch,/tmp/pwned' }));
  const evil = (await s.alice.client.leaseJob({ backends: ['example'], chost: 'x86_64-pc-linux-gnu' }))!;
  const r = await runJob(evil, s.alice.opts, new AbortController().signal);
  assert.deepEqual(r, { outcome: 'refused', reason: 'CFLAGS flag -wrapper is not accepted by this builder (it could run code or read files on it)' });
});

test('a lost lease kills the running build; nothing is attested and the job goes to another builder', async (t) => {
  if (!need(t, hasCc, 'a C compiler (cc)')) return;
  const dir = await tempDir(t);
  const repo = join(dir, 'repo');
  cpSync(exampleRepoDir(), repo, { recursive: true });
  const pidFile = join(dir, 'compile.pid');
  mkdirSync(join(repo, 'app-misc/wait-demo'), { recursive: true });
  // Compiles until the test directory disappears (or it is killed): no timing involved.
  writeFileSync(join(repo, 'app-misc/wait-demo/wait-demo-1.0.ebuild'), `EAPI=8\nSLOT="0"\nKEYWORDS="amd64"\nLICENSE="MIT"\nS="\${WORKDIR}"\nsrc_compile() {\n\techo $$ > "${pidFile}"\n\twhile [[ -d "${dir}" ]]; do sleep 0.1; done\n}\n`);
  const s = await setup(t, repo);
  const { jobId } = await s.submitter.submitRequest(exampleSpec('app-misc/wait-demo-1.0', []));
  const job = (await s.alice.client.leaseJob({ backends: ['example'], chost: 'x86_64-pc-linux-gnu' }))!;
  const running = runJob(job, s.alice.opts, new AbortController().signal);
  while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') await new Promise((r) => setTimeout(r, 50));
  const pid = Number(readFileSync(pidFile, 'utf8'));
  // Time passes at the coordinator beyond 3 heartbeats; bob leases the job, so alice's lease is gone.
  s.advance(10_000);
  const again = await s.bob.client.leaseJob({ backends: ['example'], chost: 'x86_64-pc-linux-gnu' });
  assert.equal(again?.id, jobId);
  const r = await running;
  assert.equal(r.outcome, 'cancelled');
  assert.ok(s.alice.events.some((e) => e.event === 'lease-lost'));
  assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the build process was killed');
  assert.equal((await s.submitter.packages({ cpv: 'app-misc/wait-demo-1.0' })).length, 0);
  assert.equal((await s.submitter.queue({})).find((j) => j.id === jobId)?.holder, s.bob.opts.key.publicKey.id);
});
