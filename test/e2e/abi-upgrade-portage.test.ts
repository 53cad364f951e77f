/**
 * A consumer upgrades to a rebuilt binary, with the real Portage on both
 * sides: a coordinator, one builder node (portage backend) and a gateway
 * (threshold 1). The builder builds libgreet-1.0 and hello; a consumer
 * installs hello from the gateway (hello prints ABI 1). Then libgreet-2.0
 * (SLOT 0/2, libgreet.so.2) appears in the builder's repository and only
 * it is requested: the coordinator queues hello's abi-rebuild, the builder
 * rebuilds it (binrev 2), the gateway lists it with BUILD_ID 2, and the
 * consumer's `emerge --getbinpkgonly --update --deep @world` (the README's
 * command) in the same prefix installs libgreet-2.0 and the rebuilt hello,
 * which prints ABI 2; run again, it has nothing to do.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parsePackagesIndex } from '../../src/formats/packages-index.js';
import { openAttestation } from '../../src/trust/statements.js';
import { runCli } from '../helpers/cli.js';
import { hasProgram, need, tempDir } from '../helpers/env.js';
import { policyFile } from '../helpers/operators.js';
import { portageAvailable, startPortageConsumer, type ConsumerPhase } from '../helpers/portage.js';
import { portageBuilderNetwork } from '../helpers/portage-builder.js';
import { startBinswarm, until, type Running } from '../helpers/procs.js';

const summary = (p: ConsumerPhase) => JSON.stringify({ ...p, log_tail: undefined }) + `\n${p.log_tail.slice(-4000)}`;
const installed = (p: ConsumerPhase, pkg: string) => p.installed.filter((i) => i.cpv.startsWith(`${pkg}-`));

test('real Portage consumer: libgreet gets a new ABI, builders rebuild hello by themselves, emerge --getbinpkgonly -uD @world installs both and hello prints ABI 2', { timeout: 420_000 }, async (t: TestContext) => {
  if (!need(t, portageAvailable, 'the real Portage tools (../shared/tools/portage)')) return;
  if (!need(t, hasProgram('cc') && hasProgram('ar', ['--version']), 'gcc and ar for Portage builds')) return;
  const dir = await tempDir(t);
  // One builder, one fixed build prefix; restarted below with a repository that has libgreet-2.0.
  const { w, coord, C, client, startBuilder } = await portageBuilderNetwork(t, dir);
  let builder: Running<{ listening: string }> = await startBuilder({});
  const explain = () => `--- builder\n${builder.stderr().slice(-4000)}\n--- coordinator\n${coord.stderr().slice(-2000)}`;
  // The consumer's profile defaults (IUSE +nls, +static-libs): what Portage on its side wants.
  const request = async (atom: string, use: string) => {
    const r = await runCli(['request', atom, '--repo', 'test_repo', '--use', use, '--coordinator', C, '--key', w.consumer, '--json']);
    assert.equal(r.code, 0, `request ${atom}: ${r.stderr}`);
  };
  const attested = async (cpv: string, n = 1) => {
    const jobs = await client.queue({ cpv });
    if (jobs.some((j) => j.state === 'refused' || j.state === 'failed')) assert.fail(`${cpv}: ${JSON.stringify(jobs.map((j) => [j.kind, j.state, j.why]))}\n${explain()}`);
    const groups = await client.packages({ cpv });
    return jobs.length > 0 && jobs.every((j) => j.state === 'done') && groups.length >= n && groups;
  };

  await request('=dev-libs/libgreet-1.0', 'static-libs');
  await request('=app-misc/hello-1.0', 'nls');
  await until('libgreet-1.0 and hello built', async () => (await attested('dev-libs/libgreet-1.0')) && attested('app-misc/hello-1.0'), 240_000, explain);
  const [hello1] = await client.packages({ cpv: 'app-misc/hello-1.0' });
  assert.deepEqual(openAttestation(hello1!.attestations[0]!.envelope).statement.buildConfig.depAbi, ['dev-libs/libgreet:0/1']);

  const gw = await startBinswarm<{ listening: string }>(['gateway', '--coordinator', C, '--data', join(dir, 'gw'), '--policy', policyFile(dir, 'k1', 'threshold = 1\n'), '--listen', '127.0.0.1:0', '--interval', '3600', '--key', w.consumer], t, 120_000);
  const G = gw.ready.listening;
  const listed = async (cpv: string) => parsePackagesIndex(await (await fetch(`${G}/Packages`)).text()).packages.filter((e) => e.get('CPV') === cpv).sort((a, b) => Number(a.get('BUILD_ID')) - Number(b.get('BUILD_ID')));
  const [listed1] = await listed('app-misc/hello-1.0');
  assert.equal(listed1?.get('BUILD_ID'), '1');
  const consumer = startPortageConsumer(G, ['app-misc/hello'], dir);
  t.after(consumer.stop);
  const first = await consumer.installed;
  assert.equal(first.emerge_rc, 0, summary(first));
  assert.deepEqual(first.merged_binary.sort(), ['app-misc/hello-1.0', 'dev-libs/libgreet-1.0'], summary(first));
  assert.deepEqual(installed(first, 'dev-libs/libgreet').map((i) => [i.cpv, i.slot]), [['dev-libs/libgreet-1.0', '0/1']]);
  // Portage records the package's own BUILD_TIME and reinstalls while the index says another (-uD --getbinpkgonly implies
  // --rebuilt-binaries): having served the archive, the gateway lists its BUILD_TIME.
  const [relisted1] = await listed('app-misc/hello-1.0');
  assert.deepEqual(installed(first, 'app-misc/hello').map((i) => [i.cpv, i.build_time]), [['app-misc/hello-1.0', relisted1!.get('BUILD_TIME')]]);
  assert.match(first.hello?.stdout ?? '', /Hello, consumer! \(libgreet ABI 1\)/, summary(first));

  // The ebuild repository gains libgreet-2.0 (new subslot and soname); only the library is requested.
  await builder.stop();
  builder = await startBuilder({ PGH_LIBGREET2: '1' });
  await request('=dev-libs/libgreet-2.0', 'static-libs');
  await until('libgreet-2.0 built and hello rebuilt (binrev 2)', async () => (await attested('dev-libs/libgreet-2.0')) && attested('app-misc/hello-1.0', 2), 240_000, explain);
  const jobs = await client.queue({ cpv: 'app-misc/hello-1.0' });
  assert.deepEqual(jobs.map((j) => j.kind).sort(), ['abi-rebuild', 'build'], 'the coordinator queued the rebuild; nobody asked for hello again');
  const hello2 = (await client.packages({ cpv: 'app-misc/hello-1.0' })).find((g) => g.binrev === 2);
  assert.ok(hello2, 'binrev 2 logged');
  assert.deepEqual(openAttestation(hello2.attestations[0]!.envelope).statement.buildConfig.depAbi, ['dev-libs/libgreet:0/2']);

  const refreshed = await fetch(`${G}/-/refresh`, { method: 'POST' });
  assert.equal(refreshed.status, 200, await refreshed.text());
  const hellos = await listed('app-misc/hello-1.0');
  assert.deepEqual(hellos.map((e) => e.get('BUILD_ID')), ['1', '2'], 'the old build stays listed beside the rebuilt one');

  const up = await consumer.upgrade();
  assert.equal(up.emerge_rc, 0, summary(up));
  assert.deepEqual(up.built_from_source, [], 'everything came from the gateway');
  assert.deepEqual(up.merged_binary.sort(), ['app-misc/hello-1.0', 'dev-libs/libgreet-2.0'], summary(up));
  assert.deepEqual(installed(up, 'dev-libs/libgreet').map((i) => [i.cpv, i.slot]), [['dev-libs/libgreet-2.0', '0/2']]);
  const [, relisted2] = await listed('app-misc/hello-1.0');
  assert.equal(relisted2?.get('BUILD_ID'), '2');
  assert.deepEqual(installed(up, 'app-misc/hello').map((i) => [i.cpv, i.build_time]), [['app-misc/hello-1.0', relisted2.get('BUILD_TIME')]], 'the rebuilt hello (BUILD_ID 2) is installed');
  assert.notEqual(relisted2.get('BUILD_TIME'), relisted1!.get('BUILD_TIME'));
  assert.match(up.hello?.stdout ?? '', /Hello, consumer! \(libgreet ABI 2\)/, summary(up));
  // Settled: the same command again has nothing to do (the rebuilt binary is not reinstalled forever).
  const again = await consumer.upgrade();
  assert.equal(again.emerge_rc, 0, summary(again));
  assert.deepEqual(again.merged_binary, [], summary(again));
});
