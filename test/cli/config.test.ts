/** The config file: every flag has a key, bad values give one line each, flags win over the file. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/env.js';

test('bad config values: one line each naming [section] key, exit 2, nothing done', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'binswarm.toml');
  writeFileSync(file, ['stray = 1', '[setup-portage]', `root = "${dir}/root"`, 'gateway = true', 'priority = { a = 1 }', 'dry-run = "yes"', 'colour = "blue"', '[bogus]', 'x = 1', ''].join('\n'));
  const r = await runCli(['setup-portage', '--config', file]);
  assert.equal(r.code, 2);
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(lines, [
    `binswarm: ${file}: stray: settings go in a [command] section, e.g. [gateway] [BAD_CONFIG]`,
    lines[1],
    `binswarm: ${file}: [setup-portage] gateway: expected a string or a number, got boolean true [BAD_CONFIG]`,
    `binswarm: ${file}: [setup-portage] priority: expected a string or a number, got a table [BAD_CONFIG]`,
    `binswarm: ${file}: [setup-portage] dry-run: expected true or false, got string "yes" [BAD_CONFIG]`,
    `binswarm: ${file}: [setup-portage] colour: unknown key (keys are the long flags of \`binswarm setup-portage --help\`) [BAD_CONFIG]`,
  ]);
  assert.match(lines[1]!, /\[bogus\]: no such command \(sections are: .*setup-portage/);
  const syntax = join(dir, 'syntax.toml');
  writeFileSync(syntax, '[node\nroles = 1\n');
  const s = await runCli(['node', '--config', syntax]);
  assert.equal(s.code, 2);
  assert.equal(s.stderr.trim().split('\n').length, 1);
  assert.match(s.stderr, /not valid TOML/);
  const missing = await runCli(['node', '--config', join(dir, 'absent.toml')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /absent\.toml: cannot read: ENOENT \[BAD_CONFIG\]\n$/);
});

test('config keys are the long flags; --no-x is x = false; flags on the command line win; BINSWARM_CONFIG names the file', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'binswarm.toml');
  writeFileSync(file, ['[setup-portage]', 'gateway = "http://127.0.0.1:9/"', 'priority = 5', 'sign = false', 'dry-run = true', ''].join('\n'));
  const fromFile = await runCli(['setup-portage', '--config', file]);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  assert.match(fromFile.stdout, /^sync-uri = http:\/\/127\.0\.0\.1:9$/m);
  assert.match(fromFile.stdout, /^priority = 5$/m);
  assert.match(fromFile.stdout, /^verify-signature = false$/m);
  const overridden = await runCli(['setup-portage', '--priority', '7', '--gateway=http://other:1'], { env: { BINSWARM_CONFIG: file } });
  assert.equal(overridden.code, 0, overridden.stderr);
  assert.match(overridden.stdout, /^priority = 7$/m);
  assert.match(overridden.stdout, /^sync-uri = http:\/\/other:1$/m);
  // A required flag satisfied by the file is no longer missing; without the file it is.
  const bare = await runCli(['setup-portage', '--dry-run'], { env: { BINSWARM_CONFIG: '' } });
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /required option '--gateway <url>' not specified/);
});

test('node roles: consume by default, others opt-in by name; an unknown role is refused in one line', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'binswarm.toml');
  writeFileSync(file, ['[node]', 'roles = ["consume", "contribut"]', 'coordinator = "http://127.0.0.1:9"', `data = "${dir}/n"`, `key = "${dir}/none.key"`, ''].join('\n'));
  const r = await runCli(['node', '--config', file]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "binswarm: unknown role 'contribut' (roles: consume, contribute, sign, mirror, build, census, witness) [BAD_ARGUMENT]\n");
  const help = await runCli(['node', '--help']);
  assert.match(help.stdout, /default:\s+"consume"\)/);
});
