/**
 * Builders end to end, with real processes: a coordinator, builder nodes of
 * different operators (`binswarm node --roles build`), requests through the
 * CLI, gateways, and the real Portage client and builder.
 *
 * - example backend, three operators: one build job and assigned verify
 *   jobs, never by the builder's own operator; a gateway with threshold 3
 *   lists the packages and the real `emerge --getbinpkgonly` installs them;
 *   a configuration the backend cannot honour ends refused, with the reason.
 * - a builder killed (SIGKILL) in the middle of a job: its lease expires and
 *   another builder finishes the job.
 * - a builder whose backend changes one byte of its output (test-only
 *   hook): dispute recorded and explained, package withheld, one more
 *   verification scheduled.
 * - portage backend: two operators build one job with the real Portage and
 *   the coordinator records two agreeing attestations.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import type { QueueItem } from '../../src/api/v1.js';
import { exampleRepoDir } from '../../src/builder/example-repo.js';
import { TAMPER_ENV, TAMPER_VALUE } from '../../src/builder/tamper.js';
import { openAttestation } from '../../src/trust/statements.js';
import { runCli } from '../helpers/cli.js';
import { hasProgram, need, portageToolsDir, repoRoot, tempDir } from '../helpers/env.js';
import { operatorWorld, policyFile, type OperatorFiles } from '../helpers/operators.js';
import { portageAvailable, portageSource, runGetbinpkg } from '../helpers/portage.js';
import { startBinswarm, until, type Running } from '../helpers/procs.js';

const hasCc = hasProgram('cc');

async function coordinator(t: TestContext, dir: string, rootPub: string, extra: string[]): Promise<string> {
  const c = await startBinswarm<{ listening: string }>(['coordinator', '--data', join(dir, 'coord'), '--listen', '127.0.0.1:0', '--roots', rootPub, ...extra], t);
  return c.ready.listening;
}

function builder(t: TestContext, dir: string, C: string, p: OperatorFiles, backend: string[], env?: NodeJS.ProcessEnv): Promise<Running<{ listening: string; keyId: string; backend: string }>> {
  return startBinswarm(
    // A relative --data (so a relative default --build-dir): the build phases run elsewhere and must still find it.
    ['node', '--roles', 'build', '--coordinator', C, '--data', relative(repoRoot, join(dir, `node-${p.name}`)), '--key', p.key, ...p.certs.flatMap((c) => ['--cert', c]), '--listen', '127.0.0.1:0', '--poll', '0.2', '--json', ...backend],
    t,
    60_000,
    env,
  );
}

async function request(C: string, key: string, atom: string, args: string[]): Promise<{ jobId: string | null; configKey?: string }> {
  const r = await runCli(['request', atom, '--coordinator', C, '--key', key, '--json', ...args]);
  assert.equal(r.code, 0, `request ${atom}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { jobId: string | null };
}

const jobsOf = async (client: CoordinatorClient, cpv: string): Promise<QueueItem[]> => client.queue({ cpv });

function logs(...procs: Running<unknown>[]): () => string {
  return () => procs.map((p) => `--- stderr\n${p.stderr().slice(-3000)}\n--- stdout\n${p.stdout().slice(-3000)}`).join('\n');
}

test('three builder operators (example backend): build + assigned verifies, refusals, threshold-3 gateway, real emerge installs', { timeout: 300_000 }, async (t) => {
  if (!need(t, hasCc, 'a C compiler (cc)')) return;
  if (!need(t, portageAvailable, 'the real Portage client (../shared/tools/portage)')) return;
  const dir = await tempDir(t);
  const w = operatorWorld(dir, ['alice', 'bob', 'carol']);
  const C = await coordinator(t, dir, w.rootPub, ['--verify-target', '3', '--heartbeat', '5']);
  const client = new CoordinatorClient(C);
  const builders = await Promise.all(w.people.map((p) => builder(t, dir, C, p, ['--backend', 'example'])));
  const operatorOf = new Map(w.people.map((p) => [p.keyId, p.name]));
  const explain = logs(...builders);

  const ex = ['--repo', 'binswarm-example'];
  await request(C, w.consumer, '=dev-libs/libdemo-1.0', [...ex, '--use', 'static-libs']);
  await request(C, w.consumer, '=app-misc/hello-demo-1.0', [...ex, '--use', 'nls']);
  const refused = await request(C, w.consumer, '=app-misc/hello-demo-1.0', [...ex, '--use', 'nls gtk']);

  for (const cpv of ['dev-libs/libdemo-1.0', 'app-misc/hello-demo-1.0']) {
    // Attestations are submitted before the job's result is reported: wait for both.
    const settled = async () => (await jobsOf(client, cpv)).every((j) => j.state !== 'queued' && j.state !== 'leased');
    const group = await until(`three attestations of ${cpv}`, async () => (await settled()) && (await client.packages({ cpv })).find((g) => g.attestations.length >= 3), 120_000, explain);
    const atts = group.attestations.map((a) => openAttestation(a.envelope).statement);
    assert.equal(group.disputed, false);
    assert.equal(new Set(atts.map((a) => a.outputDigest)).size, 1, `${cpv}: every builder got the same output`);
    assert.deepEqual(atts.map((a) => a.kind).sort(), ['build', 'verify', 'verify']);
    assert.deepEqual(new Set(atts.map((a) => operatorOf.get(a.builder.keyId))), new Set(['alice', 'bob', 'carol']), `${cpv}: three operators`);
    for (const a of atts) assert.ok(((await client.archive(a.archive.sha256))?.holders.length ?? 0) >= 1, 'each builder offers its archive');

    const jobs = (await jobsOf(client, cpv)).filter((j) => j.spec.use.join(' ') !== 'gtk nls');
    const build = jobs.filter((j) => j.kind === 'build');
    assert.equal(build.length, 1, `${cpv}: one build job`);
    assert.equal(build[0]!.state, 'done');
    const verifies = jobs.filter((j) => j.kind === 'verify' && j.state === 'done' && j.holder !== null);
    assert.ok(verifies.length >= 2, `${cpv}: verify jobs done: ${JSON.stringify(jobs.map((j) => [j.kind, j.state, j.why]))}`);
    for (const v of verifies) assert.notEqual(operatorOf.get(v.holder!), operatorOf.get(build[0]!.holder!), 'a builder never verifies its own operator');
  }
  const refusedJob = await until('the refused job', async () => (await client.queue({ state: 'refused' })).find((j) => j.id === refused.jobId), 60_000, explain);
  assert.match(refusedJob.why, /USE flag gtk not in IUSE/);

  const gw = await startBinswarm<{ listening: string }>(['gateway', '--coordinator', C, '--data', join(dir, 'gw3'), '--policy', policyFile(dir, 'k3', 'threshold = 3\n'), '--listen', '127.0.0.1:0', '--interval', '3600', '--key', w.consumer], t, 120_000);
  const index = await (await fetch(`${gw.ready.listening}/Packages`)).text();
  assert.match(index, /CPV: app-misc\/hello-demo-1\.0/);
  assert.match(index, /CPV: dev-libs\/libdemo-1\.0/);
  const install = await runGetbinpkg(gw.ready.listening, ['app-misc/hello-demo'], ['--keep']);
  const eprefix = install.report.eprefix as string | undefined;
  t.after(() => eprefix && rmSync(eprefix, { recursive: true, force: true }));
  assert.equal(install.report.ok, true, `emerge from the gateway failed: ${install.report.error}\n${install.log.slice(-3000)}`);
  assert.deepEqual([...install.report.merged].sort(), ['app-misc/hello-demo-1.0', 'dev-libs/libdemo-1.0']);
  // The installed program runs against the installed library.
  const run = spawnSync(join(eprefix!, 'usr/bin/hello-demo'), ['binswarm'], { env: { LD_LIBRARY_PATH: join(eprefix!, 'usr/lib64') }, encoding: 'utf8' });
  assert.equal(run.stdout, 'nls: enabled\nHello, binswarm! (libdemo ABI 1)\n', run.stderr);
});

test('a builder killed in the middle of a job: the lease expires and another builder finishes it', { timeout: 120_000 }, async (t) => {
  if (!need(t, hasCc, 'a C compiler (cc)')) return;
  const dir = await tempDir(t);
  const w = operatorWorld(dir, ['alice', 'bob']);
  // A repository with one package whose compile phase waits for a file: the
  // build is surely running when the builder is killed, and nothing is timed.
  const repo = join(dir, 'repo');
  cpSync(exampleRepoDir(), repo, { recursive: true });
  const started = join(dir, 'compile-started');
  const release = join(dir, 'release');
  mkdirSync(join(repo, 'app-misc/slow-demo'), { recursive: true });
  writeFileSync(
    join(repo, 'app-misc/slow-demo/slow-demo-1.0.ebuild'),
    `EAPI=8\nDESCRIPTION="waits"\nSLOT="0"\nKEYWORDS="amd64"\nLICENSE="MIT"\nS="\${WORKDIR}"\nsrc_compile() {\n\ttouch "${started}"\n\twhile [[ ! -e "${release}" && -d "${dir}" ]]; do sleep 0.1; done\n\techo done > out.txt\n}\nsrc_install() {\n\tinsinto /usr/share/slow-demo\n\tdoins out.txt\n}\n`,
  );
  const C = await coordinator(t, dir, w.rootPub, ['--verify-target', '1', '--heartbeat', '1']);
  const client = new CoordinatorClient(C);
  const [alice, bob] = w.people as [OperatorFiles, OperatorFiles];
  const a = await builder(t, dir, C, alice, ['--backend', 'example', '--example-repo', repo]);
  const { jobId } = await request(C, w.consumer, '=app-misc/slow-demo-1.0', ['--repo', 'binswarm-example']);
  await until('alice to be compiling', async () => existsSync(started), 30_000, logs(a));
  assert.equal((await client.queue({ cpv: 'app-misc/slow-demo-1.0' })).find((j) => j.id === jobId)?.holder, alice.keyId);
  a.proc.kill('SIGKILL');
  writeFileSync(release, '');
  const b = await builder(t, dir, C, bob, ['--backend', 'example', '--example-repo', repo]);
  const job = await until('bob to finish the job', async () => (await client.queue({ cpv: 'app-misc/slow-demo-1.0' })).find((j) => j.id === jobId && j.state === 'done'), 60_000, logs(b));
  assert.equal(job.holder, bob.keyId);
  assert.equal(job.attempts, 2);
  const atts = (await client.packages({ cpv: 'app-misc/slow-demo-1.0' })).flatMap((g) => g.attestations).map((x) => openAttestation(x.envelope).statement);
  assert.deepEqual(atts.map((x) => [x.kind, x.builder.keyId]), [['build', bob.keyId]]);
});

test('a builder that changes one byte of its output: dispute recorded and explained, package withheld, more verification scheduled', { timeout: 180_000 }, async (t) => {
  if (!need(t, hasCc, 'a C compiler (cc)')) return;
  const dir = await tempDir(t);
  const w = operatorWorld(dir, ['alice', 'bob', 'carol']);
  const C = await coordinator(t, dir, w.rootPub, ['--verify-target', '2', '--heartbeat', '5']);
  const client = new CoordinatorClient(C);
  const [alice, bob, carol] = w.people as [OperatorFiles, OperatorFiles, OperatorFiles];
  const a = await builder(t, dir, C, alice, ['--backend', 'example']);
  const c = await builder(t, dir, C, carol, ['--backend', 'example'], { [TAMPER_ENV]: TAMPER_VALUE });
  assert.match(c.stderr(), /corrupts every build on purpose/);
  await request(C, w.consumer, '=dev-libs/libdemo-1.0', ['--repo', 'binswarm-example', '--use', 'static-libs']);
  const dispute = await until('a dispute', async () => (await client.disputes()).find((d) => d.cpv === 'dev-libs/libdemo-1.0'), 60_000, logs(a, c));
  assert.equal(dispute.outputDigests.length, 2);

  // Two operators disagree: one more verification than the target is asked
  // of an operator not involved yet (bob, who is not running yet).
  const extra = await until('an extra verify job', async () => (await client.queue({ cpv: 'dev-libs/libdemo-1.0', kind: 'verify' })).find((j) => j.state === 'queued'), 30_000);
  assert.match(extra.why, /.+/);
  const explanation = await until('both listings', async () => {
    const e = await client.explainDispute(dispute.buildKey);
    return e.missingListings.length === 0 && e;
  }, 30_000);
  // The tampered byte is in the first file of the image (usr/include/demo.h).
  assert.deepEqual(explanation.image.map((d) => [d.path, d.fields]), [['usr/include/demo.h', ['sha256']]]);
  assert.deepEqual(explanation.metadata, []);

  const b = await builder(t, dir, C, bob, ['--backend', 'example']);
  await until('bob to verify', async () => (await client.queue({ cpv: 'dev-libs/libdemo-1.0', kind: 'verify' })).find((j) => j.state === 'done' && j.holder === bob.keyId), 60_000, logs(b));
  const group = (await client.packages({ cpv: 'dev-libs/libdemo-1.0' }))[0]!;
  assert.equal(group.disputed, true);
  const byOutput = new Map<string, string[]>();
  for (const x of group.attestations.map((e) => openAttestation(e.envelope).statement)) byOutput.set(x.outputDigest, [...(byOutput.get(x.outputDigest) ?? []), x.builder.keyId]);
  assert.deepEqual([...byOutput.values()].map((ks) => ks.sort()).sort((x, y) => x.length - y.length), [[carol.keyId], [alice.keyId, bob.keyId].sort()]);

  const gw = await startBinswarm<{ listening: string }>(['gateway', '--coordinator', C, '--data', join(dir, 'gw'), '--policy', policyFile(dir, 'k1', 'threshold = 1\n'), '--listen', '127.0.0.1:0', '--interval', '3600', '--key', w.consumer], t, 120_000);
  const index = await (await fetch(`${gw.ready.listening}/Packages`)).text();
  assert.doesNotMatch(index, /CPV: dev-libs\/libdemo-1\.0/, 'a disputed package is withheld');
});

test('portage backend: two operators build one job with the real Portage and agree', { timeout: 300_000 }, async (t) => {
  if (!need(t, portageAvailable, 'the real Portage tools (../shared/tools/portage)')) return;
  if (!need(t, hasCc && hasProgram('ar', ['--version']), 'gcc and ar for Portage builds')) return;
  const dir = await tempDir(t);
  const w = operatorWorld(dir, ['alice', 'bob']);
  const C = await coordinator(t, dir, w.rootPub, ['--verify-target', '2', '--heartbeat', '10']);
  const client = new CoordinatorClient(C);
  // One fixed prefix for both: the prefix is in every path and in environment.bz2.
  const backend = ['--backend', 'portage', '--portage-command', `python3 ${join(portageToolsDir, 'build_pkgs.py')}`, '--portage-prefix', join(dir, 'prefix', 'p')];
  const env = { PORTAGE_SRC: portageSource() };
  const procs = await Promise.all(w.people.map((p) => builder(t, dir, C, p, backend, env)));
  await request(C, w.consumer, '=app-misc/hello-1.0', ['--repo', 'test_repo', '--use', 'nls']);
  const group = await until('two attestations of hello', async () => (await client.packages({ cpv: 'app-misc/hello-1.0' })).find((g) => g.attestations.length >= 2), 240_000, logs(...procs));
  const atts = group.attestations.map((a) => openAttestation(a.envelope).statement);
  assert.equal(group.disputed, false);
  assert.equal(atts[0]!.outputDigest, atts[1]!.outputDigest, 'the two real Portage builds are identical');
  assert.deepEqual(atts.map((a) => a.kind).sort(), ['build', 'verify']);
  assert.deepEqual(new Set(atts.map((a) => a.builder.keyId)), new Set(w.people.map((p) => p.keyId)));
  assert.deepEqual(atts[0]!.buildConfig.use, ['nls']);
  assert.deepEqual(atts[0]!.buildConfig.depAbi, ['dev-libs/libgreet:0/1']);
});
