/**
 * ABI rebuilds end to end, with real processes: a coordinator and a builder
 * node (example backend) build libdemo-1.0 and hello-demo (which depends on
 * it with `:=`); then libdemo-2.0 (SLOT 0/2, libdemo.so.2) appears in the
 * builder's repository and is requested. Nobody asks for hello-demo again:
 * the coordinator queues its abi-rebuild by itself, the builder rebuilds it
 * against the new ABI, and the log gives the rebuilt build binrev 2 under
 * the same configKey. A second test does the same for a package that links
 * libdemo without `:=` (found by its REQUIRES): its rebuild links
 * libdemo.so.2, so it is binrev 2 of the same configuration, not a dispute.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import { exampleRepoDir } from '../../src/builder/example-repo.js';
import { inspectPackage } from '../../src/formats/inspect.js';
import { installMaskOfVariant } from '../../src/formats/install-mask.js';
import { parseImageListing } from '../../src/formats/listing-diff.js';
import { parsePackagesIndex } from '../../src/formats/packages-index.js';
import { openAttestation } from '../../src/trust/statements.js';
import { runCli } from '../helpers/cli.js';
import { hasProgram, need, tempDir } from '../helpers/env.js';
import { operatorWorld, policyFile, type OperatorFiles } from '../helpers/operators.js';
import { startBinswarm, until } from '../helpers/procs.js';

async function request(C: string, key: string, atom: string, extra: string[] = []): Promise<void> {
  const r = await runCli(['request', atom, '--coordinator', C, '--key', key, '--json', '--repo', 'binswarm-example', ...extra]);
  assert.equal(r.code, 0, `request ${atom}: ${r.stderr}`);
}

/** A coordinator (verify target 1) and one example-backend builder of alice over `repo`; `settled(cpv)`: every job of it done. */
async function oneBuilder(t: TestContext, dir: string, rootPub: string, alice: OperatorFiles, repo: string) {
  const coord = await startBinswarm<{ listening: string }>(['coordinator', '--data', join(dir, 'coord'), '--listen', '127.0.0.1:0', '--roots', rootPub, '--verify-target', '1', '--heartbeat', '5'], t);
  const C = coord.ready.listening;
  const client = new CoordinatorClient(C);
  const b = await startBinswarm<{ listening: string }>(
    ['node', '--roles', 'build', '--coordinator', C, '--data', join(dir, 'node-alice'), '--key', alice.key, ...alice.certs.flatMap((c) => ['--cert', c]), '--listen', '127.0.0.1:0', '--poll', '0.2', '--json', '--backend', 'example', '--example-repo', repo],
    t,
    60_000,
  );
  const explain = () => `--- builder stderr\n${b.stderr().slice(-3000)}\n--- builder stdout\n${b.stdout().slice(-3000)}\n--- coordinator\n${coord.stderr().slice(-2000)}`;
  const settled = async (cpv: string) => {
    const jobs = await client.queue({ cpv });
    return jobs.length > 0 && jobs.every((j) => j.state === 'done') && jobs;
  };
  return { C, client, alice, explain, settled };
}

test('a library with a new subslot: the coordinator queues the := dependent’s abi-rebuild, a builder does it, binrev 2 is logged', { timeout: 180_000 }, async (t: TestContext) => {
  if (!need(t, hasProgram('cc'), 'a C compiler (cc)')) return;
  const dir = await tempDir(t);
  const w = operatorWorld(dir, ['alice']);
  const repo = join(dir, 'repo');
  cpSync(exampleRepoDir(), repo, { recursive: true });
  const { C, client, alice, explain, settled } = await oneBuilder(t, dir, w.rootPub, w.people[0] as OperatorFiles, repo);

  await request(C, w.consumer, '=dev-libs/libdemo-1.0');
  await request(C, w.consumer, '=app-misc/hello-demo-1.0');
  await until('libdemo-1.0 and hello-demo built', async () => (await settled('dev-libs/libdemo-1.0')) && settled('app-misc/hello-demo-1.0'), 90_000, explain);
  const before = await client.packages({ cpv: 'app-misc/hello-demo-1.0' });
  assert.deepEqual(before.map((g) => g.binrev), [1]);
  assert.deepEqual(openAttestation(before[0]!.attestations[0]!.envelope).statement.buildConfig.depAbi, ['dev-libs/libdemo:0/1']);

  // A new library version with a new subslot and soname appears; only the library is requested.
  const v1 = readFileSync(join(repo, 'dev-libs/libdemo/libdemo-1.0.ebuild'), 'utf8');
  writeFileSync(join(repo, 'dev-libs/libdemo/libdemo-2.0.ebuild'), v1.replace('SLOT="0/1"', 'SLOT="0/2"').replaceAll('libdemo.so.1', 'libdemo.so.2'));
  await request(C, w.consumer, '=dev-libs/libdemo-2.0');

  const rebuild = await until(
    'the abi-rebuild of hello-demo, done',
    async () => (await client.queue({ cpv: 'app-misc/hello-demo-1.0', kind: 'abi-rebuild' })).find((j) => j.state === 'done'),
    90_000,
    explain,
  );
  assert.equal(rebuild.holder, alice.keyId);
  assert.equal(rebuild.configKey, before[0]!.configKey, 'the same configuration, rebuilt');
  const all = await client.queue({ cpv: 'app-misc/hello-demo-1.0' });
  assert.deepEqual(all.map((j) => j.kind).sort(), ['abi-rebuild', 'build'], 'one rebuild job, queued by the coordinator alone');
  const after = await client.packages({ cpv: 'app-misc/hello-demo-1.0' });
  const g2 = after.find((g) => g.binrev === 2);
  assert.ok(g2, `binrev 2 logged: ${JSON.stringify(after.map((g) => [g.buildKey.slice(0, 8), g.binrev]))}`);
  assert.equal(g2.configKey, before[0]!.configKey);
  assert.notEqual(g2.buildKey, before[0]!.buildKey);
  assert.deepEqual(openAttestation(g2.attestations[0]!.envelope).statement.buildConfig.depAbi, ['dev-libs/libdemo:0/2']);
  // The old build stays in the log with its binrev.
  assert.equal(after.find((g) => g.buildKey === before[0]!.buildKey)?.binrev, 1);

  // The slim variant of the new library: its own configuration, built like any other.
  await request(C, w.consumer, '=dev-libs/libdemo-2.0', ['--variant', 'slim']);
  await until('libdemo-2.0 full and slim built', async () => (await settled('dev-libs/libdemo-2.0')) && (await client.packages({ cpv: 'dev-libs/libdemo-2.0' })).length === 2, 90_000, explain);

  // Gateways: one whose policy asks for slim, one that does not.
  const gateway = async (name: string, body: string) => {
    const g = await startBinswarm<{ listening: string }>(['gateway', '--coordinator', C, '--data', join(dir, name), '--policy', policyFile(dir, name, `threshold = 1\n${body}`), '--listen', '127.0.0.1:0', '--interval', '3600', '--key', w.consumer], t, 120_000);
    return { url: g.ready.listening, index: parsePackagesIndex(await (await fetch(`${g.ready.listening}/Packages`)).text()) };
  };
  const imagePaths = async (url: string, entry: Map<string, string>) => {
    const res = await fetch(`${url}/${entry.get('PATH')}`);
    assert.equal(res.status, 200, `GET ${entry.get('PATH')}`);
    const file = join(dir, `dl-${url.split(':').pop()}-${entry.get('PATH')!.split('/').pop()}`);
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const info = await inspectPackage(file, { listings: true });
    return { info, paths: [...parseImageListing(info.listings!.image).keys()] };
  };
  const full = await gateway('gw-full', '');
  const slim = await gateway('gw-slim', 'variants = ["slim"]\n');
  const of = (ix: { packages: Map<string, string>[] }, cpv: string) => ix.packages.filter((e) => e.get('CPV') === cpv);

  // Rebuilt binary: listed with a higher BUILD_ID and its own BUILD_TIME; the old one still listed (trusted).
  const hellos = of(full.index, 'app-misc/hello-demo-1.0').sort((a, b) => Number(a.get('BUILD_ID')) - Number(b.get('BUILD_ID')));
  assert.deepEqual(hellos.map((e) => e.get('BUILD_ID')), ['1', '2']);
  assert.match(hellos[0]!.get('RDEPEND') ?? '', /libdemo:0\/1=/);
  assert.match(hellos[1]!.get('RDEPEND') ?? '', /libdemo:0\/2=/);
  assert.ok(Number(hellos[1]!.get('BUILD_TIME')) >= Number(hellos[0]!.get('BUILD_TIME')) && Number(hellos[0]!.get('BUILD_TIME')) > 0);

  // Variants: the slim build where the policy asks and one is trusted, the full one otherwise.
  const [fullLib] = of(full.index, 'dev-libs/libdemo-2.0');
  const [slimLib, extra] = of(slim.index, 'dev-libs/libdemo-2.0');
  assert.ok(fullLib && slimLib && !extra && of(full.index, 'dev-libs/libdemo-2.0').length === 1, 'one libdemo-2.0 listed by each gateway');
  const f = await imagePaths(full.url, fullLib);
  const sl = await imagePaths(slim.url, slimLib);
  assert.equal(f.info.buildConfig.installMask, '');
  assert.equal(sl.info.buildConfig.installMask, installMaskOfVariant('slim'));
  assert.ok(f.paths.some((p) => p.includes('usr/include/')), 'the full build has its header');
  assert.ok(!sl.paths.some((p) => p.includes('usr/include/')), 'the slim one has none');
  // No slim libdemo-1.0 exists: the slim gateway lists the full one.
  assert.equal(of(slim.index, 'dev-libs/libdemo-1.0').length, 1);
});

test('a library with a new soname: a package linking it without := gets an abi-rebuild, binrev 2, and no dispute', { timeout: 180_000 }, async (t: TestContext) => {
  if (!need(t, hasProgram('cc'), 'a C compiler (cc)')) return;
  // REQUIRES (hence links) are written only where scanelf is installed.
  if (!need(t, hasProgram('scanelf'), 'scanelf (pax-utils)')) return;
  const dir = await tempDir(t);
  const w = operatorWorld(dir, ['alice']);
  const repo = join(dir, 'repo');
  cpSync(exampleRepoDir(), repo, { recursive: true });
  // tool-demo: hello-demo's program, linked against libdemo with a plain dependency (no :=).
  const toolDir = join(repo, 'app-misc/tool-demo');
  mkdirSync(toolDir, { recursive: true });
  cpSync(join(repo, 'app-misc/hello-demo/files'), join(toolDir, 'files'), { recursive: true });
  const helloEbuild = readFileSync(join(repo, 'app-misc/hello-demo/hello-demo-1.0.ebuild'), 'utf8');
  writeFileSync(join(toolDir, 'tool-demo-1.0.ebuild'), helloEbuild.replace('DEPEND="dev-libs/libdemo:="', 'DEPEND="dev-libs/libdemo"').replaceAll('hello-demo', 'tool-demo').replace('${FILESDIR}/tool-demo.c', '${FILESDIR}/hello-demo.c').replace('-o tool-demo tool-demo.c', '-o tool-demo hello-demo.c'));
  const { C, client, explain, settled } = await oneBuilder(t, dir, w.rootPub, w.people[0] as OperatorFiles, repo);
  const linksOf = (g: Awaited<ReturnType<typeof client.packages>>[number]) => openAttestation(g.attestations[0]!.envelope).statement.buildConfig.links ?? [];

  await request(C, w.consumer, '=dev-libs/libdemo-1.0');
  await request(C, w.consumer, '=app-misc/tool-demo-1.0');
  await until('libdemo-1.0 and tool-demo built', async () => (await settled('dev-libs/libdemo-1.0')) && settled('app-misc/tool-demo-1.0'), 90_000, explain);
  const before = await client.packages({ cpv: 'app-misc/tool-demo-1.0' });
  assert.deepEqual(before.map((g) => g.binrev), [1]);
  const built = openAttestation(before[0]!.attestations[0]!.envelope).statement.buildConfig;
  assert.deepEqual(built.depAbi, [], 'no := dependency');
  assert.ok(linksOf(before[0]!).includes('libdemo.so.1'), `links libdemo.so.1: ${linksOf(before[0]!).join(' ')}`);

  const v1 = readFileSync(join(repo, 'dev-libs/libdemo/libdemo-1.0.ebuild'), 'utf8');
  writeFileSync(join(repo, 'dev-libs/libdemo/libdemo-2.0.ebuild'), v1.replace('SLOT="0/1"', 'SLOT="0/2"').replaceAll('libdemo.so.1', 'libdemo.so.2'));
  await request(C, w.consumer, '=dev-libs/libdemo-2.0');

  const rebuild = await until(
    'the abi-rebuild of tool-demo, done',
    async () => (await client.queue({ cpv: 'app-misc/tool-demo-1.0', kind: 'abi-rebuild' })).find((j) => j.state === 'done'),
    90_000,
    explain,
  );
  assert.equal(rebuild.configKey, before[0]!.configKey, 'the same configuration, rebuilt');
  assert.match(rebuild.why, /built by/);
  const after = await client.packages({ cpv: 'app-misc/tool-demo-1.0' });
  const g2 = after.find((g) => g.binrev === 2);
  assert.ok(g2, `binrev 2 logged: ${JSON.stringify(after.map((g) => [g.buildKey.slice(0, 8), g.binrev]))}`);
  assert.equal(g2.configKey, before[0]!.configKey);
  assert.notEqual(g2.buildKey, before[0]!.buildKey);
  assert.ok(linksOf(g2).includes('libdemo.so.2') && !linksOf(g2).includes('libdemo.so.1'), `the rebuild links the new soname: ${linksOf(g2).join(' ')}`);
  assert.deepEqual(await client.disputes(), [], 'the old and the rebuilt output are two builds, not a dispute');
  assert.deepEqual((await client.queue({ cpv: 'app-misc/tool-demo-1.0' })).map((j) => j.kind).sort(), ['abi-rebuild', 'build']);
});
