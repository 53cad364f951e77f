import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/env.js';

test('binswarm demo runs the whole local network on embedded defaults', async (t) => {
  const dir = await tempDir(t);
  const r = await runCli(['demo', '--once', '--port', '0', '--dir', join(dir, 'demo')]);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { served: string[]; decisions: { cpv: string; status: string; level: number }[] };
  assert.deepEqual(summary.served, ['dev-libs/libdemo/libdemo-1.0-1.gpkg.tar']);
  assert.deepEqual(summary.decisions.map((d) => [d.cpv, d.status, d.level]), [
    ['app-misc/hello-demo-1.0', 'disputed', 3],
    ['dev-libs/libdemo-1.0', 'trusted', 3],
  ]);
  assert.match(r.stdout, /dispute recorded for app-misc\/hello-demo-1\.0/);
});

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
