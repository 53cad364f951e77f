import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/env.js';

test('binswarm setup-portage writes a binrepos.conf entry for the gateway (signatures checked; --no-sign: not)', async (t) => {
  const dir = await tempDir(t);
  const r = await runCli(['setup-portage', '--gateway', 'http://127.0.0.1:7680/', '--root', dir, '--gateway-data', join(dir, 'gw')]);
  assert.equal(r.code, 0, r.stderr);
  const conf = readFileSync(join(dir, 'etc/portage/binrepos.conf/binswarm.conf'), 'utf8');
  assert.match(conf, /^\[binswarm\]$/m);
  assert.match(conf, /^sync-uri = http:\/\/127\.0\.0\.1:7680$/m);
  assert.match(conf, /^verify-signature = true$/m);
  const unsigned = await runCli(['setup-portage', '--gateway', 'http://127.0.0.1:7680/', '--root', join(dir, 'r2'), '--no-sign']);
  assert.equal(unsigned.code, 0, unsigned.stderr);
  assert.match(readFileSync(join(dir, 'r2/etc/portage/binrepos.conf/binswarm.conf'), 'utf8'), /^verify-signature = false$/m);
});
