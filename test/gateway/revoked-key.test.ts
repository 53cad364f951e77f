/**
 * Issue 10 end to end over real HTTP, with the real CLI for `revoke`,
 * `submit` and `trust explain`: a builder key revoked because it was stolen,
 * and the thief's attestation back-dated an hour. An honest coordinator
 * refuses it at ingest; a coordinator that logs it anyway gains nothing,
 * because the gateway judges it at its log time, after the revocation.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import type { SignedEntry } from '../../src/api/v1.js';
import { buildCoordinatorApp } from '../../src/coordinator/server.js';
import { openStore } from '../../src/coordinator/store/sql-store.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { encodeLeaf } from '../../src/log/leaf.js';
import { MerkleLog } from '../../src/log/log.js';
import { generateKey, privateKeyToPem, publicKeyToPem } from '../../src/trust/keys.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/env.js';
import { config, DAY, World } from '../helpers/trust-world.js';

const HOUR = 3_600_000;

async function coordinator(t: { after: (fn: () => unknown) => void }, w: World, dir: string, opts: { unsafeSkipStandingChecks?: boolean } = {}) {
  const store = await openStore(join(dir, 'c.db'));
  // checkpointTtlMs 0: the test also writes to the store behind the server's back.
  const { app, coordinator: c } = await buildCoordinatorApp({ store, key: generateKey(), roots: [w.root.publicKey], checkpointTtlMs: 0 });
  // Test only: a coordinator that logs what it should refuse.
  c.unsafeSkipStandingChecks = opts.unsafeSkipStandingChecks;
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  return { url, store };
}

test('a stolen, revoked builder key cannot backdate its way back in: refused at ingest, and not counted by the gateway when logged anyway', async (t) => {
  const dir = await tempDir(t);
  const w = new World();
  const alice = w.operator('alice', { from: new Date(Date.now() - DAY), to: new Date(Date.now() + 365 * DAY) });
  // bob's builder certificate has expired: certificates are judged at receipt too.
  const bob = w.operator('bob', { builders: 0, from: new Date(Date.now() - DAY), to: new Date(Date.now() + 365 * DAY) });
  const bobB = w.builder(bob, { from: new Date(Date.now() - DAY), to: new Date(Date.now() - HOUR) });
  const file = (name: string, value: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
    return p;
  };
  const stolen = alice.builders[0]!.key;
  const aliceKey = file('alice.key', privateKeyToPem(alice.key));
  const stolenPub = file('stolen.key.pub', publicKeyToPem(stolen.publicKey));
  const requester = file('requester.key', privateKeyToPem(generateKey()));
  const certs = [file('alice.cert.json', alice.cert), file('alice-b1.cert.json', alice.builders[0]!.cert), file('bob.cert.json', bob.cert), file('bob-b1.cert.json', bob.builders[0]!.cert)];
  const revocation = join(dir, 'revocation.json');
  const r = await runCli(['revoke', '--key', aliceKey, '--subject', stolenPub, '--reason', 'stolen', '--out', revocation]);
  assert.equal(r.code, 0, r.stderr);
  // A second later the thief signs for app-misc/evil-1.0 and says it was an hour ago.
  const evil = file('evil.json', w.attest(stolen, { cfg: config('app-misc/evil-1.0'), time: new Date(Date.now() - HOUR) }));
  const expired = file('expired.json', w.attest(bobB, { cfg: config('app-misc/late-1.0'), time: new Date() }));

  // 1. The honest coordinator, fed by `binswarm submit`.
  const { url: honest } = await coordinator(t, w, join(dir, 'honest'));
  const submit = (files: string[]) => runCli(['submit', ...files, '--coordinator', honest, '--key', requester, '--json']);
  const s1 = await submit([...certs, revocation]);
  assert.equal(s1.code, 0, s1.stderr);
  const logged = JSON.parse(s1.stdout) as { results: { kind: string; ok: { logIndex: number; logTime: number } }[] };
  assert.deepEqual(logged.results.map((x) => [x.kind, x.ok.logIndex]), [['certificate', 0], ['certificate', 1], ['certificate', 2], ['certificate', 3], ['revocation', 4]]);
  // Mixed results: the thief's attestation and the expired key's are refused, a resubmitted certificate is a duplicate; exit 1.
  const s2 = await submit([evil, certs[0]!, expired]);
  assert.equal(s2.code, 1, s2.stderr);
  const mixed = (JSON.parse(s2.stdout) as { results: ({ ok: { logIndex: number; duplicate?: boolean } } | { error: { code: string; message: string } })[] }).results;
  assert.deepEqual(mixed.map((x) => ('error' in x ? x.error.code : x.ok.duplicate ? 'duplicate' : 'ok')), ['KEY_REVOKED', 'duplicate', 'CERT_NOT_VALID']);
  assert.match((mixed[0] as { error: { message: string } }).error.message, /builder key .* was revoked \(log index 4/);
  const text = await runCli(['submit', evil, '--coordinator', honest, '--key', requester]);
  assert.equal(text.code, 1);
  assert.match(text.stdout, /evil\.json {2}attestation {2}REFUSED: .*\[KEY_REVOKED\]/);
  // Bad input is refused before anything is sent.
  const bad = await runCli(['submit', file('junk.json', { hello: 1 }), evil, '--coordinator', honest, '--key', requester]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /junk\.json: not a binswarm .*\[NOT_A_STATEMENT\]/);
  const honestClient = new CoordinatorClient(honest);
  assert.equal((await honestClient.packages({})).length, 0, 'nothing of the thief was logged');

  // 2. A coordinator that skips its own check logs the thief's attestation after the revocation.
  const { url: rogue, store: rogueStore } = await coordinator(t, w, join(dir, 'rogue'), { unsafeSkipStandingChecks: true });
  const client = new CoordinatorClient(rogue, generateKey());
  for (const c of w.certificates) await client.submitCertificate(c);
  await client.submitRevocation(JSON.parse(readFileSync(revocation, 'utf8')));
  const accepted = await client.submitAttestation(w.attestations[0]!);
  assert.equal(accepted.logIndex, 5, 'logged after the revocation (index 4)');

  // The gateway proves each statement and its logTime against the signed checkpoint, then judges at log time.
  const gw = await Gateway.open({
    coordinator: rogue, dataDir: join(dir, 'gw'), chost: 'x86_64-pc-linux-gnu',
    policy: { roots: [w.root.publicKey], threshold: 1, overrides: [], onDispute: 'reject', witnesses: { keys: [], required: 0 }, log: undefined, maxStalenessMs: 7 * DAY },
  });
  const view = await gw.refresh();
  const verdict = gw.results().find((x) => x.cpv === 'app-misc/evil-1.0')!;
  assert.equal(verdict.status, 'untrusted');
  assert.equal(view.packages.size, 0);
  const v = verdict.attestations[0]!;
  assert.deepEqual([v.counted, v.decidedBy, v.logIndex, v.logTimeFrom], [false, 'log-time', 5, 'log']);
  assert.ok(Date.parse(v.time!) < Date.parse(v.logTime) - HOUR + 60_000, 'own time is an hour before the log time');
  assert.match(v.reason, /builder key revoked: revocation logged at .*\(index 4\) comes before this statement/);

  // `trust explain` on the log entries as the API serves them shows both times and which decided.
  const entries = async (path: string) => ((await (await fetch(`${rogue}${path}`)).json()) as { items: SignedEntry[] }).items;
  const files = [...(await entries('/v1/certificates')), ...(await entries('/v1/revocations')), ...(await entries('/v1/attestations'))].map((e) => file(`entry-${e.logIndex}.json`, e));
  const policy = file('policy.toml', `roots = ["root.pub"]\nthreshold = 1\n`);
  file('root.pub', publicKeyToPem(w.root.publicKey));
  const ex = await runCli(['trust', 'explain', '--policy', policy, ...files]);
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stdout, /app-misc\/evil-1\.0 {2}\[UNTRUSTED\]/);
  assert.match(ex.stdout, /own time \S+ · log time \S+ \(index 5\) · decided by the log time/);
  const exj = JSON.parse((await runCli(['trust', 'explain', '--policy', policy, '--json', ...files])).stdout) as { results: { attestations: { logIndex: number; decidedBy: string; counted: boolean }[] }[] };
  assert.deepEqual(exj.results[0]!.attestations.map((a) => [a.logIndex, a.decidedBy, a.counted]), [[5, 'log-time', false]]);

  // A log whose receipt times go backwards is refused whole by the gateway, which keeps its last view.
  const carol = w.operator('carol', { builders: 0 });
  await rogueStore.transaction(async (tx) => {
    const data = encodeLeaf({ type: 'certificate', envelope: carol.cert, logTime: 1000 });
    const index = await new MerkleLog(tx.log).appendLeaves([data]);
    await tx.putLeaves(index, [data]);
    await tx.insertCertificate({ id: 'c'.repeat(64), subject: carol.key.publicKey.id, issuer: w.root.publicKey.id, role: 'operator', name: 'carol', notBefore: 0, notAfter: Date.now() + DAY, logIndex: index, logTime: 1000, envelope: JSON.stringify(carol.cert) });
  });
  await assert.rejects(gw.refresh(), (e: Error & { code?: string }) => e.code === 'LOG_TIME_BACKWARDS' && /leaf 7 says 1970/.test(e.message));
  assert.equal(gw.current(), view);
  await gw.close();
});
