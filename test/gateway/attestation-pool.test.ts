/**
 * The attestation pool refuses exactly what openAttestation refuses, with
 * the same code, whether a leaf is opened on a worker thread or on the
 * calling thread: forged signature, another payloadType, a signature by
 * another key, a schema violation, a tampered buildKey, a broken envelope;
 * a leaf that is not JSON is left out. With `verify` off (a signature
 * verified before) everything but the signature is still checked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttestationPool } from '../../src/gateway/attestation-pool.js';
import { openLeaf, type LeafVerdict } from '../../src/gateway/open-leaf.js';
import { signEnvelope, type Envelope } from '../../src/trust/dsse.js';
import { generateKey } from '../../src/trust/keys.js';
import { ATTESTATION_TYPE, openAttestation } from '../../src/trust/statements.js';
import { config, World } from '../helpers/trust-world.js';

function leaf(envelope: unknown, logTime = 1_700_000_000_000): Buffer {
  return Buffer.from(JSON.stringify({ envelope, logTime, type: 'attestation' }));
}

function fixture() {
  const w = new World();
  const b = w.operator('alice').builders[0]!.key;
  const envs: unknown[] = Array.from({ length: 200 }, (_, i) => w.attest(b, { cfg: config(`app-misc/p${i}-1.0`, { use: i % 2 ? ['nls'] : [] }) }));
  const payloadOf = (e: unknown) => JSON.parse(Buffer.from((e as Envelope).payload, 'base64').toString()) as Record<string, unknown>;
  const forged = structuredClone(envs[5] as Envelope);
  forged.signatures[0]!.sig = Buffer.alloc(64, 1).toString('base64');
  const wrongType = { ...(envs[6] as Envelope), payloadType: 'text/plain' };
  const otherKey = structuredClone(envs[7] as Envelope);
  otherKey.signatures = [{ keyid: generateKey().publicKey.id, sig: otherKey.signatures[0]!.sig }];
  const extraField = signEnvelope(ATTESTATION_TYPE, Buffer.from(JSON.stringify({ ...payloadOf(envs[8]), extra: 1 })), b);
  const badBuildKey = signEnvelope(ATTESTATION_TYPE, Buffer.from(JSON.stringify({ ...payloadOf(envs[9]), buildKey: 'f'.repeat(64) })), b);
  const longCpv = signEnvelope(ATTESTATION_TYPE, Buffer.from(JSON.stringify({ ...payloadOf(envs[10]), cpv: '😀'.repeat(301) })), b);
  const hostile = [forged, wrongType, otherKey, extraField, badBuildKey, longCpv, { nope: true }, 'not even an object', null];
  const leaves = [...envs, ...hostile].map((e) => leaf(e));
  leaves.splice(100, 0, Buffer.from('{"envelope": truncated'));
  return { leaves, codes: ['BAD_SIGNATURE', 'WRONG_PAYLOAD_TYPE', 'UNKNOWN_KEY', 'BAD_STATEMENT', 'BUILD_KEY_MISMATCH', 'BAD_STATEMENT', 'BAD_ENVELOPE', 'BAD_ENVELOPE', 'BAD_ENVELOPE'] };
}

/** What openAttestation says of a leaf: its error code, or the builder key that signed and the buildKey. */
function expected(bytes: Buffer): string {
  let env: unknown;
  try {
    env = (JSON.parse(bytes.toString()) as { envelope: unknown }).envelope;
  } catch {
    return 'skip';
  }
  try {
    const o = openAttestation(env);
    return `ok ${o.signer} ${o.statement.buildKey}`;
  } catch (e) {
    return (e as { code: string }).code;
  }
}

function summary(v: LeafVerdict): string {
  if ('skip' in v) return 'skip';
  if ('error' in v) return v.error.code;
  return `ok ${v.signer} ${v.statement.buildKey}`;
}

test('on worker threads and on the calling thread, the pool refuses what openAttestation refuses', async (t) => {
  const { leaves, codes } = fixture();
  const want = leaves.map(expected);
  assert.deepEqual(want.slice(-codes.length), codes);
  assert.equal(want[100], 'skip');
  assert.equal(want.filter((w) => w.startsWith('ok ')).length, 200);
  for (const opts of [{ size: 1, callerShares: false }, { size: 1, callerShares: true }, { size: 2, callerShares: true }]) {
    const pool = new AttestationPool(opts);
    t.after(() => pool.close());
    const got = await pool.open(leaves.map((l) => ({ leaf: l, verify: true })));
    assert.deepEqual(got.map(summary), want, JSON.stringify(opts));
    // The receipt time comes through; what evaluation reads of the statement too.
    const first = got[0] as Extract<LeafVerdict, { statement: unknown }>;
    assert.equal(first.logTime, 1_700_000_000_000);
    assert.equal(first.statement.buildConfig.chost, 'x86_64-pc-linux-gnu');
    // Concurrent batches do not mix their results.
    const [x, y] = await Promise.all([pool.open(leaves.slice(0, 90).map((l) => ({ leaf: l, verify: true }))), pool.open(leaves.slice(90).map((l) => ({ leaf: l, verify: true })))]);
    assert.deepEqual([...x, ...y].map(summary), want);
  }
  // A small batch stays on the calling thread and agrees.
  const pool = new AttestationPool({ size: 1 });
  t.after(() => pool.close());
  assert.deepEqual((await pool.open(leaves.slice(-5).map((l) => ({ leaf: l, verify: true })))).map(summary), want.slice(-5));
});

test('with verify off only the signature goes unchecked', () => {
  const { leaves } = fixture();
  const n = leaves.length;
  const [forged, wrongType, otherKey, extraField, badBuildKey] = leaves.slice(n - 9, n - 4).map((l) => openLeaf(l, false));
  assert.ok(forged && 'statement' in forged, 'a forged signature is not looked at');
  assert.deepEqual([wrongType, otherKey, extraField, badBuildKey].map((v) => summary(v!)), ['WRONG_PAYLOAD_TYPE', 'UNKNOWN_KEY', 'BAD_STATEMENT', 'BUILD_KEY_MISMATCH']);
});
