/** The coordinator over real HTTP: the happy path, the log, and every kind of bad input. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import { MAX_BATCH } from '../../src/api/v1.js';
import { buildCoordinatorApp } from '../../src/coordinator/server.js';
import { openStore } from '../../src/coordinator/store/sql-store.js';
import { openCheckpoint } from '../../src/log/checkpoint.js';
import { decodeLeafRange, encodeLeaf } from '../../src/log/leaf.js';
import { leafHash, verifyInclusion } from '../../src/log/merkle.js';
import { MAX_SIGNER_SKEW_MS } from '../../src/trust/evaluate.js';
import { generateKey, publicKeyFromRaw } from '../../src/trust/keys.js';
import { signRequest } from '../../src/trust/request-signing.js';
import { signAttestation } from '../../src/trust/statements.js';
import { tempDir } from '../helpers/env.js';
import { config, DAY, OUT_A, OUT_B, World } from '../helpers/trust-world.js';

async function start(t: { after: (fn: () => unknown) => void }, world: World) {
  const dir = await tempDir(t);
  const store = await openStore(join(dir, 'c.db'));
  const key = generateKey();
  const { app } = await buildCoordinatorApp({ store, key, roots: [world.root.publicKey], bodyLimit: 64 * 1024 });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  return { url, store, key };
}

function liveWorld(): World {
  return new World();
}

const fresh = (w: World, name: string) => w.operator(name, { from: new Date(Date.now() - DAY), to: new Date(Date.now() + 365 * DAY) });

/** A coordinator with two certified operators, alice and bob; the client signs as alice's builder. */
async function aliceAndBob(t: { after: (fn: () => unknown) => void }) {
  const w = liveWorld();
  const started = await start(t, w);
  const alice = fresh(w, 'alice');
  const bob = fresh(w, 'bob');
  const client = new CoordinatorClient(started.url, alice.builders[0]!.key);
  for (const c of w.certificates) await client.submitCertificate(c);
  return { ...started, w, alice, bob, client };
}

test('certificates, attestations, dispute and binrev are logged; proofs verify against the signed checkpoint', async (t) => {
  const { w, url, key, alice, bob, client: peer } = await aliceAndBob(t);
  const a1 = await peer.submitAttestation(w.attest(alice.builders[0]!.key, { time: new Date() }));
  assert.equal(a1.binrev, 1);
  const again = await peer.submitAttestation(w.attestations[0]!);
  assert.equal(again.duplicate, true);
  const b1 = await peer.submitAttestation(w.attest(bob.builders[0]!.key, { time: new Date(), output: OUT_B }));
  assert.deepEqual(b1.dispute?.outputDigests, [OUT_A, OUT_B].sort());
  const disputes = await peer.disputes();
  assert.equal(disputes.length, 1);
  const pkgs = await new CoordinatorClient(url).packages({ cpv: 'app-misc/hello-1.0' });
  assert.equal(pkgs.length, 1);
  assert.equal(pkgs[0]!.disputed, true);
  assert.equal(pkgs[0]!.attestations.length, 2);

  const info = await peer.info();
  const note = openCheckpoint(await peer.checkpoint(), { name: info.logKeyName, key: publicKeyFromRaw(Buffer.from(info.logKey, 'base64')) });
  assert.equal(info.logKey, key.publicKey.raw.toString('base64'));
  // 4 certificates + attestation + binrev + attestation + dispute.
  assert.equal(note.checkpoint.size, 8);
  const entry = pkgs[0]!.attestations[1]!;
  verifyInclusion(entry.logIndex, note.checkpoint.size, leafHash(encodeLeaf({ type: 'attestation', envelope: entry.envelope, logTime: entry.logTime })), await peer.inclusionProof(entry.logIndex, note.checkpoint.size), note.checkpoint.root);

  const doc = (await (await fetch(`${url}/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
  assert.ok(doc.paths['/v1/attestations'] && doc.paths['/v1/archives/{sha256}/holders']);
});

test('bad input gets a typed 4xx and changes nothing', async (t) => {
  const w = liveWorld();
  const { url, store } = await start(t, w);
  const alice = fresh(w, 'alice');
  const signer = alice.builders[0]!.key;
  const client = new CoordinatorClient(url, signer);
  for (const c of w.certificates) await client.submitCertificate(c);
  const size = await store.log.size();
  const post = async (path: string, body: Buffer | string, headers: Record<string, string> = {}) => {
    const res = await fetch(url + path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    return { status: res.status, body: (await res.json()) as { error: { code: string } } };
  };
  const signed = (path: string, body: Buffer) => signRequest(signer, 'POST', path, body);

  const malformed = Buffer.from('{"payloadType": ');
  assert.deepEqual(await post('/v1/attestations', malformed, signed('/v1/attestations', malformed)).then((r) => [r.status, r.body.error.code]), [400, 'BAD_JSON']);
  const big = Buffer.from(JSON.stringify({ payloadType: 'x', payload: 'A'.repeat(100_000), signatures: [] }));
  assert.deepEqual(await post('/v1/attestations', big, signed('/v1/attestations', big)).then((r) => [r.status, r.body.error.code]), [413, 'BODY_TOO_LARGE']);
  const env = Buffer.from(JSON.stringify(w.attest(signer, { time: new Date() })));
  assert.deepEqual(await post('/v1/attestations', env).then((r) => [r.status, r.body.error.code]), [401, 'UNSIGNED']);
  const h = signed('/v1/attestations', env);
  assert.deepEqual(await post('/v1/attestations', env, { ...h, 'x-binswarm-signature': signed('/v1/peers', env)['x-binswarm-signature']! }).then((r) => [r.status, r.body.error.code]), [401, 'BAD_REQUEST_SIGNATURE']);
  assert.deepEqual(await post('/v1/attestations', env, signRequest(signer, 'POST', '/v1/attestations', env, Date.now() - 3_600_000)).then((r) => [r.status, r.body.error.code]), [401, 'STALE_REQUEST']);
  // Schema: unknown field in the envelope.
  const extra = Buffer.from(JSON.stringify({ ...w.attestations[0], extra: 1 }));
  assert.deepEqual(await post('/v1/attestations', extra, signed('/v1/attestations', extra)).then((r) => [r.status, r.body.error.code]), [400, 'BAD_REQUEST']);
  // Forged attestation signature.
  const forged = structuredClone(w.attestations[0]!);
  forged.signatures[0]!.sig = Buffer.alloc(64, 7).toString('base64');
  const fb = Buffer.from(JSON.stringify(forged));
  assert.deepEqual(await post('/v1/attestations', fb, signed('/v1/attestations', fb)).then((r) => [r.status, r.body.error.code]), [403, 'BAD_SIGNATURE']);
  // A builder key nobody certified.
  const stranger = generateKey();
  const sb = Buffer.from(JSON.stringify(w.attest(stranger, { time: new Date() })));
  assert.deepEqual(await post('/v1/attestations', sb, signed('/v1/attestations', sb)).then((r) => [r.status, r.body.error.code]), [403, 'UNKNOWN_KEY']);
  // An operator certificate from someone who is not a root.
  const rogue = w.operator('eve', { issuer: generateKey(), from: new Date(Date.now() - DAY) });
  const rb = Buffer.from(JSON.stringify(rogue.cert));
  assert.deepEqual(await post('/v1/certificates', rb, signed('/v1/certificates', rb)).then((r) => [r.status, r.body.error.code]), [403, 'UNKNOWN_ISSUER']);
  // Announcing an archive nobody attested.
  const ab = Buffer.from(JSON.stringify({ url: 'http://127.0.0.1:1' }));
  const ap = `/v1/archives/${'e'.repeat(64)}/holders`;
  assert.deepEqual(await post(ap, ab, signed(ap, ab)).then((r) => [r.status, r.body.error.code]), [404, 'NOT_FOUND']);
  assert.equal(await store.log.size(), size, 'no bad request reached the log');
  assert.equal((await store.queryAttestations({})).length, 0);

  // A good one, then its exact replay.
  const gh = signed('/v1/attestations', env);
  assert.equal((await post('/v1/attestations', env, gh)).status, 200);
  assert.deepEqual(await post('/v1/attestations', env, gh).then((r) => [r.status, r.body.error.code]), [401, 'REPLAYED']);
  assert.equal(await store.log.size(), size + 2);
});

test('rate limit per key, and an archive attested with other digests is refused', async (t) => {
  const w = liveWorld();
  const dir = await tempDir(t);
  const store = await openStore(join(dir, 'c.db'));
  const { app } = await buildCoordinatorApp({ store, key: generateKey(), roots: [w.root.publicKey], ratePerMinute: 4 });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  const alice = fresh(w, 'alice');
  const client = new CoordinatorClient(url, alice.builders[0]!.key);
  for (const c of w.certificates) await client.submitCertificate(c);
  // Same archive sha256 (derived from the output in the test world), claimed with another size.
  const env = w.attest(alice.builders[0]!.key, { time: new Date() });
  await client.submitAttestation(env);
  const stmt = JSON.parse(Buffer.from(env.payload, 'base64').toString());
  const lie = signAttestation({ kind: 'build', buildConfig: { ...stmt.buildConfig, use: ['other'] }, outputDigest: OUT_B, archive: stmt.archive, time: new Date() }, alice.builders[0]!.key);
  await assert.rejects(client.submitAttestation(lie), { code: 'ARCHIVE_CONFLICT' });
  // 4 requests per minute per key (2 certificates, 2 attestations): the next is refused with 429.
  await assert.rejects(client.registerPeer({ roles: ['consume'] }), { code: 'RATE_LIMITED' });
  const other = new CoordinatorClient(url, generateKey());
  assert.ok(await other.registerPeer({ roles: ['consume'] }), 'other keys are not limited by alice');
});

test('a batch: each attestation judged on its own, one transaction and one log append for the accepted', async (t) => {
  const { w, url, store, alice, bob, client } = await aliceAndBob(t);
  const size = await store.log.size();
  const a = alice.builders[0]!.key;
  const good = Array.from({ length: 12 }, (_, i) => w.attest(i % 2 ? a : bob.builders[0]!.key, { time: new Date(), cfg: config(`app-misc/p${Math.floor(i / 2)}-1.0`), output: createHash('sha256').update(`out ${Math.floor(i / 2)}`).digest('hex') }));
  const forged = structuredClone(good[3]!);
  forged.signatures[0]!.sig = Buffer.alloc(64, 9).toString('base64');
  const stranger = w.attest(generateKey(), { time: new Date(), cfg: config('app-misc/stranger-1.0') });
  const stale = w.attest(a, { time: new Date(Date.now() - 3 * DAY), cfg: config('app-misc/stale-1.0') });
  // The archive of good[0] claimed with another output, inside the same batch.
  const stmt = JSON.parse(Buffer.from(good[0]!.payload, 'base64').toString()) as { archive: { sha256: string; size: number; pieceRoot: string } };
  const conflict = signAttestation({ kind: 'build', buildConfig: config('app-misc/conflict-1.0'), outputDigest: OUT_B, archive: stmt.archive, time: new Date() }, a);
  const batch = [...good.slice(0, 6), forged, stranger, good[0]!, stale, conflict, ...good.slice(6)];
  const results = await client.submitAttestations(batch);
  assert.deepEqual(
    results.map((r) => ('error' in r ? r.error.code : r.ok.duplicate ? 'duplicate' : 'ok')),
    ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'BAD_SIGNATURE', 'UNKNOWN_KEY', 'duplicate', 'STALE_ATTESTATION', 'ARCHIVE_CONFLICT', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
  );
  // 12 attestations + 6 binrev leaves, nothing for the refused ones.
  assert.equal(await store.log.size(), size + 18);
  assert.equal((await store.queryAttestations({})).length, 12);
  // Indices are the log's: every accepted attestation proves inclusion at its index.
  const info = await client.info();
  const note = openCheckpoint(await client.checkpoint(), { name: info.logKeyName, key: publicKeyFromRaw(Buffer.from(info.logKey, 'base64')) });
  for (const [i, r] of results.entries()) {
    if (!('ok' in r)) continue;
    verifyInclusion(r.ok.logIndex, note.checkpoint.size, leafHash(encodeLeaf({ type: 'attestation', envelope: batch[i]!, logTime: r.ok.logTime })), await client.inclusionProof(r.ok.logIndex, note.checkpoint.size), note.checkpoint.root);
  }
  // An ABI rebuild of one config in the same batch gets the next binary revision.
  const [abi1, abi2] = [1, 2].map((v) => w.attest(a, { time: new Date(), cfg: config('app-misc/abi-1.0', { depAbi: [`dev-libs/x:0/${v}`] }) }));
  const abi = await client.submitAttestations([abi1!, abi2!, abi1!]);
  assert.deepEqual(abi.map((r) => ('ok' in r ? [r.ok.binrev, r.ok.duplicate ?? false] : r.error.code)), [[1, false], [2, false], [1, true]]);
  assert.equal(await store.log.size(), size + 22);
  // Too many in one request, or not a list of envelopes: 400 and nothing logged.
  const over = Buffer.from(JSON.stringify({ envelopes: Array.from({ length: MAX_BATCH + 1 }, () => good[0]) }));
  const res = await fetch(`${url}/v1/attestations/batch`, { method: 'POST', body: over, headers: { 'content-type': 'application/json', ...signRequest(a, 'POST', '/v1/attestations/batch', over) } });
  assert.deepEqual([res.status, ((await res.json()) as { error: { code: string } }).error.code], [400, 'BAD_REQUEST']);
  assert.equal(await store.log.size(), size + 22);
});

test('every leaf carries the receipt time, which never goes backwards even when the clock does', async (t) => {
  const w = liveWorld();
  const dir = await tempDir(t);
  const store = await openStore(join(dir, 'c.db'));
  let clock = Date.now();
  const { app } = await buildCoordinatorApp({ store, key: generateKey(), roots: [w.root.publicKey], now: () => clock });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  const alice = fresh(w, 'alice');
  const client = new CoordinatorClient(url, alice.builders[0]!.key);
  const cert = await client.submitCertificate(w.certificates[0]!);
  assert.equal(cert.logTime, clock);
  const start = clock;
  clock -= 60_000; // the coordinator's clock steps back a minute
  const builderCert = await client.submitCertificate(w.certificates[1]!);
  assert.equal(builderCert.logTime, start, 'max(now, previous logTime)');
  clock = start + 1000;
  const att = await client.submitAttestation(w.attest(alice.builders[0]!.key, { time: new Date(clock) }));
  assert.equal(att.logTime, start + 1000);
  const leaves = decodeLeafRange(0, await store.getLeaves(0, await store.log.size()));
  assert.deepEqual(leaves.map((l) => [l.type, l.logTime]), [['certificate', start], ['certificate', start], ['attestation', start + 1000], ['binrev', start + 1000]]);
  // The API serves each statement with the logTime of its leaf.
  assert.deepEqual((await client.certificates()).map((e) => e.logTime), [start, start]);
  assert.equal((await client.packages({}))[0]!.attestations[0]!.logTime, start + 1000);
});

test('ingest judges at receipt: revoked keys and operators, certificates from revoked operators, signer times ahead of receipt', async (t) => {
  const { w, alice, bob, client } = await aliceAndBob(t);
  const a = alice.builders[0]!.key;
  const b = bob.builders[0]!.key;
  const before = await client.submitAttestation(w.attest(a, { time: new Date(), cfg: config('app-misc/before-1.0') }));
  // The root revokes bob, the operator: his builder's attestations are refused from now on, whatever time they claim.
  await client.submitRevocation(w.revoke(w.root, bob.key.publicKey.id, new Date(Date.now() + DAY)));
  await assert.rejects(client.submitAttestation(w.attest(b, { time: new Date(Date.now() - 3_600_000) })), (e: Error & { code?: string }) => e.code === 'KEY_REVOKED' && /operator key/.test(e.message));
  // …and so is a new builder certificate he signs.
  w.builder(bob, { from: new Date(Date.now() - DAY), to: new Date(Date.now() + DAY) });
  await assert.rejects(client.submitCertificate(w.certificates[w.certificates.length - 1]!), { code: 'KEY_REVOKED' });
  // alice revokes her builder; resubmitting what was logged before is still a duplicate, a new one is refused.
  await client.submitRevocation(w.revoke(alice.key, a.publicKey.id, new Date()));
  const again = await client.submitAttestation(w.attestations[0]!);
  assert.deepEqual([again.duplicate, again.logIndex, again.logTime], [true, before.logIndex, before.logTime]);
  const batch = await client.submitAttestations([w.attest(a, { time: new Date(), cfg: config('app-misc/after-1.0') })]);
  assert.deepEqual(batch.map((r) => ('error' in r ? r.error.code : 'ok')), ['KEY_REVOKED']);
  // A signer's own time may not run ahead of receipt by more than the skew bound.
  const carol = fresh(w, 'carol');
  for (const c of w.certificates.slice(-2)) await client.submitCertificate(c);
  await assert.rejects(client.submitAttestation(w.attest(carol.builders[0]!.key, { time: new Date(Date.now() + 2 * MAX_SIGNER_SKEW_MS) })), (e: Error & { code?: string }) => e.code === 'STALE_ATTESTATION' && /future/.test(e.message));
  assert.equal((await client.submitAttestation(w.attest(carol.builders[0]!.key, { time: new Date(Date.now() + MAX_SIGNER_SKEW_MS / 2) }))).binrev, 1);
});
