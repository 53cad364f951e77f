/**
 * A slim variant end to end with the real Portage: a builder (portage
 * backend) builds app-doc/greet-doc with the slim INSTALL_MASK in its
 * make.conf, because a consumer asked for `--variant slim`; a gateway whose
 * policy says `variants = ["slim"]` lists it, and the real client installs
 * greet-doc without /usr/share/doc (nor man pages).
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { installMaskOfVariant } from '../../src/formats/install-mask.js';
import { openAttestation } from '../../src/trust/statements.js';
import { runCli } from '../helpers/cli.js';
import { hasProgram, need, tempDir } from '../helpers/env.js';
import { policyFile } from '../helpers/operators.js';
import { portageAvailable, runGetbinpkg } from '../helpers/portage.js';
import { portageBuilderNetwork } from '../helpers/portage-builder.js';
import { startBinswarm } from '../helpers/procs.js';

test('slim greet-doc: built by a portage builder with INSTALL_MASK, listed by a slim gateway, installed by emerge without /usr/share/doc', { timeout: 300_000 }, async (t) => {
  if (!need(t, portageAvailable, 'the real Portage tools (../shared/tools/portage)')) return;
  if (!need(t, hasProgram('cc') && hasProgram('ar', ['--version']), 'gcc and ar for Portage builds')) return;
  const dir = await tempDir(t);
  const { w, C, client, startBuilder } = await portageBuilderNetwork(t, dir);
  const b = await startBuilder();
  const r = await runCli(['request', '=app-doc/greet-doc-1.0', '--repo', 'test_repo', '--variant', 'slim', '--coordinator', C, '--key', w.consumer, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const deadline = Date.now() + 240_000;
  let group;
  while (!(group = (await client.packages({ cpv: 'app-doc/greet-doc-1.0' }))[0])) {
    const jobs = await client.queue({ cpv: 'app-doc/greet-doc-1.0' });
    if (jobs.some((j) => j.state === 'refused' || j.state === 'failed') || Date.now() > deadline) assert.fail(`no attestation: ${JSON.stringify(jobs.map((j) => [j.state, j.why]))}\n${b.stderr().slice(-3000)}`);
    await new Promise((res) => setTimeout(res, 500));
  }
  assert.equal(openAttestation(group.attestations[0]!.envelope).statement.buildConfig.installMask, installMaskOfVariant('slim'));

  const gw = await startBinswarm<{ listening: string }>(['gateway', '--coordinator', C, '--data', join(dir, 'gw'), '--policy', policyFile(dir, 'slim', 'threshold = 1\nvariants = ["slim"]\n'), '--listen', '127.0.0.1:0', '--interval', '3600', '--key', w.consumer], t, 120_000);
  const install = await runGetbinpkg(gw.ready.listening, ['app-doc/greet-doc'], ['--keep']);
  const eprefix = install.report.eprefix as string | undefined;
  t.after(() => eprefix && rmSync(eprefix, { recursive: true, force: true }));
  assert.equal(install.report.ok, true, `emerge from the gateway failed: ${install.report.error}\n${install.log.slice(-3000)}`);
  assert.deepEqual(install.report.merged, ['app-doc/greet-doc-1.0']);
  assert.ok(existsSync(join(eprefix!, 'usr/share/greet/greetings.txt')), 'the data file is installed');
  assert.ok(!existsSync(join(eprefix!, 'usr/share/doc/greet-doc-1.0')), 'no documentation');
  assert.ok(!existsSync(join(eprefix!, 'usr/share/man/man3')), 'no man pages');
});
