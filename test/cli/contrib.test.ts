/** contrib/: the example config, OpenRC script + conf.d, systemd unit and ebuild — what can be checked here. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseToml } from 'smol-toml';
import { runCli } from '../helpers/cli.js';
import { hasProgram, need, repoRoot, tempDir } from '../helpers/env.js';

const C = (p: string) => join(repoRoot, 'contrib', p);

test('the example config is valid for every command it configures', async () => {
  const sections = Object.keys(parseToml(readFileSync(C('binswarm.toml'), 'utf8')));
  assert.ok(sections.includes('node') && sections.includes('gateway'));
  for (const s of sections) {
    // Config is applied (and checked) before --help is handled: exit 0 only if the section is valid.
    const r = await runCli([s, '--config', C('binswarm.toml'), '--help']);
    assert.equal(r.code, 0, `[${s}]: ${r.stderr}`);
  }
  const roles = (parseToml(readFileSync(C('binswarm.toml'), 'utf8')) as { node: { roles: string[] } }).node.roles;
  assert.deepEqual(roles, ['consume'], 'the example opts into nothing');
});

test('OpenRC script: valid sh, runs binswarm with the config, uses every conf.d setting', async (t) => {
  const initd = C('openrc/binswarm.initd');
  for (const sh of ['bash', 'dash']) {
    if (!hasProgram(sh, ['-c', 'true'])) continue;
    const r = spawnSync(sh, ['-n', initd], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${sh} -n: ${r.stderr}`);
  }
  // What openrc-run would run, with conf.d's commented defaults and then an override.
  const dir = await tempDir(t);
  const probe = join(dir, 'probe.sh');
  writeFileSync(probe, `RC_SVCNAME=binswarm\n. "$1"\n. "$2"\necho "$command $command_args|$command_user|$pidfile|$output_log"\n`);
  const confd = join(dir, 'confd');
  writeFileSync(confd, readFileSync(C('openrc/binswarm.confd'), 'utf8'));
  const r = spawnSync('sh', [probe, confd, initd], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), '/usr/bin/binswarm node --config /etc/binswarm/binswarm.toml |binswarm:binswarm|/run/binswarm.pid|/var/log/binswarm/binswarm.log');
  writeFileSync(confd, 'BINSWARM_COMMAND=gateway\nBINSWARM_OPTS="--listen 127.0.0.1:7681"\nBINSWARM_USER=bs\n');
  const o = spawnSync('sh', [probe, confd, initd], { encoding: 'utf8' });
  assert.match(o.stdout, /^\/usr\/bin\/binswarm gateway --config \/etc\/binswarm\/binswarm.toml --listen 127.0.0.1:7681\|bs:binswarm\|/);
  const used = [...readFileSync(C('openrc/binswarm.confd'), 'utf8').matchAll(/^#?(BINSWARM_[A-Z]+)=/gm)].map((m) => m[1]!);
  const script = readFileSync(initd, 'utf8');
  for (const v of used) assert.ok(script.includes(`\${${v}`), `conf.d's ${v} is read by the script`);
});

test('systemd unit passes systemd-analyze verify', async (t) => {
  if (!need(t, hasProgram('systemd-analyze', ['--version']), 'systemd-analyze (Debian systemd)')) return;
  // verify insists that ExecStart's program exists: point it at a stand-in.
  const dir = await tempDir(t);
  const bin = join(dir, 'binswarm');
  writeFileSync(bin, '#!/bin/sh\nexit 0\n');
  chmodSync(bin, 0o755);
  const unit = join(dir, 'binswarm.service');
  const text = readFileSync(C('systemd/binswarm.service'), 'utf8');
  assert.match(text, /^ExecStart=\/usr\/bin\/binswarm node$/m);
  writeFileSync(unit, text.replace('/usr/bin/binswarm', bin));
  const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', 'no warnings');
});

test('ebuild: valid bash, EAPI 8, installs only files that exist in the source tree', async () => {
  const ebuild = C('gentoo/app-portage/binswarm/binswarm-0.1.0.ebuild');
  assert.equal(spawnSync('bash', ['-n', ebuild]).status, 0);
  const text = readFileSync(ebuild, 'utf8');
  assert.match(text, /^EAPI=8$/m);
  const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;
  assert.ok(ebuild.endsWith(`binswarm-${version}.ebuild`), 'the ebuild version is the package version');
  const files = [...text.matchAll(/\b(contrib\/[\w./-]+)/g)].map((m) => m[1]!);
  assert.ok(files.length >= 4);
  for (const f of files) assert.ok(existsSync(join(repoRoot, f)), `${f} exists`);
  assert.ok(existsSync(C('gentoo/app-portage/binswarm/metadata.xml')));
});
