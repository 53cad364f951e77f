/**
 * The dashboard over real HTTP on an in-process coordinator: signed
 * statements in, GET /v1/dashboard and GET / out — trust levels with
 * operator names (one of them hostile markup, shown escaped), a dispute
 * with both outputs, served bytes from peer registrations, bounded lists,
 * the security headers, and bad input refused.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import { sampleOnce } from '../../src/coordinator/dashboard/sampler.js';
import { buildCoordinatorApp } from '../../src/coordinator/server.js';
import { openStore } from '../../src/coordinator/store/sql-store.js';
import { generateKey } from '../../src/trust/keys.js';
import { tempDir } from '../helpers/env.js';
import { config, DAY, OUT_A, OUT_B, World } from '../helpers/trust-world.js';

const EVIL = '<script>alert("op")</script>';

test('dashboard: trust levels with operator names, a dispute with both outputs, served bytes, samples; hostile names escaped; bounded and validated', async (t) => {
  const dir = await tempDir(t);
  const store = await openStore(join(dir, 'c.db'));
  const w = new World();
  const { app: coord } = await buildCoordinatorApp({ store, key: generateKey(), roots: [w.root.publicKey], origin: 'dash.test/log' });
  const url = await coord.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await coord.close();
    await store.close();
  });
  const live = { from: new Date(Date.now() - DAY), to: new Date(Date.now() + 365 * DAY) };
  const alice = w.operator(EVIL, live);
  const bob = w.operator('bob', live);
  const carol = w.operator('carol', live);
  const client = new CoordinatorClient(url, alice.builders[0]!.key);
  for (const c of w.certificates) await client.submitCertificate(c);
  const now = () => new Date();
  const hello = config('app-misc/hello-1.0', { use: ['nls', '"><img src=x onerror=alert(1)>'] });
  const lib = config('dev-libs/libdemo-1.0');
  await client.submitAttestation(w.attest(alice.builders[0]!.key, { time: now(), cfg: hello }));
  await client.submitAttestation(w.attest(bob.builders[0]!.key, { time: now(), cfg: hello, kind: 'verify' }));
  await client.submitAttestation(w.attest(alice.builders[0]!.key, { time: now(), cfg: lib }));
  await client.submitAttestation(w.attest(carol.builders[0]!.key, { time: now(), cfg: lib, output: OUT_B, kind: 'verify' }));

  const mirror = new CoordinatorClient(url, generateKey());
  await mirror.registerPeer({ roles: ['mirror'], url: 'http://127.0.0.1:9/<b>x</b>', capacity: 1000, served: 1000 });
  await mirror.registerPeer({ roles: ['mirror'], url: 'http://127.0.0.1:9/<b>x</b>', capacity: 1000, served: 1500 });
  await new CoordinatorClient(url, generateKey()).registerPeer({ roles: ['build'], served: 500 });
  await new CoordinatorClient(url, generateKey()).registerPeer({ roles: ['consume'] });
  for (const served of [-1, 1.5, 'many', 2 ** 60]) {
    await assert.rejects(mirror.registerPeer({ roles: ['mirror'], served } as never), { code: 'BAD_REQUEST' }, `served ${served}`);
  }
  await sampleOnce(store, Date.now(), 1000, 10);

  const d = await new CoordinatorClient(url).dashboard();
  assert.deepEqual(d.packages.shown.map((p) => [p.cpv, p.level, p.disputed, p.outputs.map((o) => [o.level, o.operators])]), [
    ['dev-libs/libdemo-1.0', 1, true, [[1, [EVIL]], [1, ['carol']]]],
    ['app-misc/hello-1.0', 2, false, [[2, [EVIL, 'bob'].sort()]]],
  ]);
  assert.equal(d.packages.total, 2);
  assert.deepEqual(d.packages.shown[1]!.use, hello.use);
  assert.deepEqual(d.disputes.shown.map((x) => [x.cpv, x.outputs.map((o) => o.outputDigest).sort()]), [['dev-libs/libdemo-1.0', [OUT_A, OUT_B]]]);
  assert.equal(d.disputes.total, 1);
  assert.equal(d.peers.total, 3);
  assert.equal(d.peers.served, 2000, 'the latest counter of each peer, summed');
  assert.deepEqual(d.peers.roles.find((r) => r.role === 'mirror'), { role: 'mirror', total: 1, healthy: 1 });
  assert.equal(d.checkpoint?.size, (await store.latestCheckpoint())!.size);
  assert.deepEqual(d.samples.items.map((s) => [s.configs, s.levels, s.served]), [[2, { '1': 1, '2': 1 }, 2000]]);

  const one = await new CoordinatorClient(url).dashboard(1);
  assert.deepEqual([one.packages.shown.length, one.packages.total, one.peers.shown.length, one.peers.total], [1, 2, 1, 3]);

  const res = await fetch(`${url}/?limit=1&refresh=0`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
  assert.match(res.headers.get('content-security-policy') ?? '', /^default-src 'none'; style-src 'sha256-[^']+'; script-src 'sha256-[^']+'; connect-src 'self'/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  const page = await res.text();
  assert.match(page, /showing 1 of 2 configurations/);
  assert.match(page, /data-refresh="0"/);
  assert.equal(page.match(/<script/g)?.length, 1);
  assert.ok(page.includes('&lt;script&gt;alert(&quot;op&quot;)&lt;/script&gt;'), 'the hostile operator name, escaped');
  assert.doesNotMatch(page, /<img/);
  const full = await (await fetch(`${url}/`)).text();
  assert.ok(full.includes('http://127.0.0.1:9/&lt;b&gt;x&lt;/b&gt;'), 'a peer URL, escaped');
  assert.ok(full.includes('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'), 'a USE flag, escaped');
  assert.doesNotMatch(full, /<img/);

  for (const q of ['limit=0', 'limit=501', 'limit=x', 'refresh=2', 'other=1']) {
    for (const path of ['/', '/v1/dashboard']) {
      if (path === '/v1/dashboard' && q.startsWith('refresh')) continue;
      const r = await fetch(`${url}${path}?${q}`);
      assert.equal(r.status, 400, `${path}?${q}`);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST');
    }
  }
});
