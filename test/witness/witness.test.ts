/**
 * Witnesses against a forked coordinator: two coordinators with one log key
 * show two histories. The witness cosigns one, refuses the other and keeps
 * the evidence; a gateway that requires a witness accepts nothing less, and
 * one that sees the other history refuses it, keeps serving its verified
 * view and says why in /-/status.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import { buildCoordinatorApp } from '../../src/coordinator/server.js';
import { openStore } from '../../src/coordinator/store/sql-store.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { buildGatewayApp } from '../../src/gateway/server.js';
import { openCheckpoint, validCosigners } from '../../src/log/checkpoint.js';
import { generateKey, privateKeyToPem, publicKeyToPem, type PrivateKey } from '../../src/trust/keys.js';
import type { Policy } from '../../src/trust/policy.js';
import { witnessOnce } from '../../src/witness/witness.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/env.js';
import { DAY, World } from '../helpers/trust-world.js';

const ORIGIN = 'binswarm.local/log';

async function coordinator(t: { after: (fn: () => unknown) => void }, dir: string, key: PrivateKey, w: World) {
  const store = await openStore(join(dir, 'c.db'));
  const { app } = await buildCoordinatorApp({ store, key, roots: [w.root.publicKey] });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  return url;
}

/** Forwards every request to whichever coordinator `target` names: what a network attacker or a split coordinator shows one user. */
async function switchable(t: { after: (fn: () => unknown) => void }, target: { url: string }) {
  const server = createServer((req, res) => {
    void fetch(target.url + req.url).then(
      async (r) => {
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/octet-stream' });
        res.end(Buffer.from(await r.arrayBuffer()));
      },
      () => res.writeHead(502).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('a fork is caught: the witness refuses with evidence, gateways require witnesses and refuse the other history', async (t) => {
  const dir = await tempDir(t);
  const w = new World();
  const logKey = generateKey();
  const span = { from: new Date(Date.now() - DAY), to: new Date(Date.now() + 365 * DAY) };
  const alice = w.operator('alice', span);
  const bob = w.operator('bob', span);
  // One log key, two histories of the same size.
  const A = await coordinator(t, join(dir, 'a'), logKey, w);
  const B = await coordinator(t, join(dir, 'b'), logKey, w);
  await new CoordinatorClient(A, generateKey()).submitCertificate(alice.cert);
  await new CoordinatorClient(B, generateKey()).submitCertificate(bob.cert);
  const w1 = generateKey();
  const w2 = generateKey();
  const log = { name: ORIGIN, key: logKey.publicKey };
  const witness = (name: string, key: PrivateKey, coordinator: string) => witnessOnce({ coordinator, dataDir: join(dir, name), name, key, log });

  const target = { url: A };
  const proxy = await switchable(t, target);
  const policy = (required: number): Policy => ({
    roots: [w.root.publicKey], threshold: 2, overrides: [], onDispute: 'reject', log, maxStalenessMs: 7 * DAY,
    witnesses: { keys: [{ name: 'w1', key: w1.publicKey }, { name: 'w2', key: w2.publicKey }], required },
  });
  const gw = await Gateway.open({ coordinator: proxy, dataDir: join(dir, 'gw'), policy: policy(1), chost: 'x86_64-pc-linux-gnu' });
  t.after(() => gw.close());
  // No witness has cosigned yet: a gateway that requires one accepts nothing.
  await assert.rejects(gw.refresh(), { code: 'NOT_ENOUGH_WITNESSES' });
  assert.equal(gw.current(), undefined);

  assert.deepEqual(await witness('w1', w1, A), { size: 1, cosigned: true, witnesses: 1 });
  const published = await (await fetch(`${A}/log/checkpoint`)).text();
  assert.deepEqual(validCosigners(openCheckpoint(published, log), [{ name: 'w1', key: w1.publicKey }]), ['w1']);
  await gw.refresh();
  assert.equal(gw.current()!.checkpointSize, 1);

  // The same witness shown B's history of the same size refuses, and keeps both signed notes.
  await assert.rejects(witness('w1', w1, B), (e: Error & { code?: string }) => e.code === 'LOG_FORK' && /two different roots for tree size 1/.test(e.message));
  const evidence = readdirSync(join(dir, 'w1', 'evidence'));
  assert.equal(evidence.length, 1);
  const kept = JSON.parse(readFileSync(join(dir, 'w1', 'evidence', evidence[0]!), 'utf8')) as { trusted: string; presented: string };
  assert.notEqual(openCheckpoint(kept.trusted, log).checkpoint.root.toString(), openCheckpoint(kept.presented, log).checkpoint.root.toString());

  // A careless witness without history cosigns B; the gateway, switched to B, still sees the fork itself.
  await witness('w2', w2, B);
  target.url = B;
  await assert.rejects(gw.refresh(), { code: 'LOG_FORK' });
  const app = buildGatewayApp(gw);
  t.after(() => app.close());
  assert.equal((await app.inject('/Packages')).statusCode, 200, 'the last verified view is still served');
  const status = (await app.inject('/-/status')).json() as { checkpointSize: number; lastRefreshProblem: { code: string; message: string } };
  assert.equal(status.checkpointSize, 1);
  assert.equal(status.lastRefreshProblem.code, 'LOG_FORK');
  assert.equal(readdirSync(join(dir, 'gw', 'evidence')).length, 1);

  // History that grows from the other branch: the entries do not lead to the signed root.
  await new CoordinatorClient(A, generateKey()).submitCertificate(alice.builders[0]!.cert);
  await new CoordinatorClient(B, generateKey()).submitCertificate(bob.builders[0]!.cert);
  await witness('w2', w2, B);
  await assert.rejects(gw.refresh(), (e: Error & { code?: string }) => e.code === 'LOG_FORK' && /do not lead to the signed root of size 2/.test(e.message));
  target.url = A;
  assert.deepEqual(await witness('w1', w1, A), { size: 2, cosigned: true, witnesses: 1 });
  await gw.refresh();
  assert.equal(gw.current()!.checkpointSize, 2);
  assert.equal((await app.inject('/-/status')).json().lastRefreshProblem, null);
});

test('binswarm witness --once cosigns over HTTP; a cosignature by another key than the request signer is refused', async (t) => {
  const dir = await tempDir(t);
  const w = new World();
  const logKey = generateKey();
  const url = await coordinator(t, join(dir, 'c'), logKey, w);
  await new CoordinatorClient(url, generateKey()).submitCertificate(w.operator('alice', { from: new Date(Date.now() - DAY), to: new Date(Date.now() + DAY) }).cert);
  const { writeFileSync } = await import('node:fs');
  const wk = generateKey();
  writeFileSync(join(dir, 'w.key'), privateKeyToPem(wk));
  writeFileSync(join(dir, 'log.pub'), publicKeyToPem(logKey.publicKey));
  const r = await runCli(['witness', '--coordinator', url, '--data', join(dir, 'w'), '--key', join(dir, 'w.key'), '--name', 'w1', '--log-key', join(dir, 'log.pub'), '--log-name', ORIGIN, '--once']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { cosigned: 1, witnesses: 1 });
  // Someone else submits w1's name with their own key: the line does not verify under the signer's key.
  const text = await new CoordinatorClient(url).checkpoint();
  const { cosign } = await import('../../src/log/checkpoint.js');
  await assert.rejects(new CoordinatorClient(url, generateKey()).submitCosignature(1, 'w1', cosign(text, 'w1', wk, 1)), { code: 'BAD_SIGNATURE' });
});
