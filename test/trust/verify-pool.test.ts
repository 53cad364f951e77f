/** Batch verification on worker threads agrees with one-at-a-time verification, and the fast canonical forms with RFC 8785. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from '../../src/formats/canonical-json.js';
import { encodeLeaf } from '../../src/log/leaf.js';
import { canonicalEnvelope, type Envelope } from '../../src/trust/dsse.js';
import { generateKey, signBytes, verifyBytes } from '../../src/trust/keys.js';
import { openAttestation, openAttestations } from '../../src/trust/statements.js';
import { VerifyPool } from '../../src/trust/verify-pool.js';
import { config, World } from '../helpers/trust-world.js';

test('the pool verifies like node:crypto: good, flipped, truncated and foreign signatures, many keys', async (t) => {
  const pool = new VerifyPool({ size: 2 });
  t.after(() => pool.close());
  const keys = Array.from({ length: 5 }, () => generateKey());
  const jobs = Array.from({ length: 300 }, (_, i) => {
    const k = keys[i % keys.length]!;
    const message = Buffer.from(`message ${i} `.repeat(1 + (i % 7)));
    let signature = signBytes(k, message);
    if (i % 5 === 1) (signature = Buffer.from(signature))[i % 64] ^= 1;
    if (i % 5 === 2) signature = signature.subarray(0, 63);
    const key = i % 5 === 3 ? keys[(i + 1) % keys.length]!.publicKey : k.publicKey;
    return { key, message, signature };
  });
  const expected = jobs.map((j) => verifyBytes(j.key, j.message, j.signature));
  assert.deepEqual(await pool.verify(jobs), expected);
  assert.equal(expected.filter(Boolean).length, 120);
  // Small batches stay inline and agree too; an empty one is empty.
  assert.deepEqual(await pool.verify(jobs.slice(0, 3)), expected.slice(0, 3));
  assert.deepEqual(await pool.verify([]), []);
  // Concurrent batches do not mix their results.
  const [x, y] = await Promise.all([pool.verify(jobs.slice(0, 150)), pool.verify(jobs.slice(150))]);
  assert.deepEqual([...x, ...y], expected);
});

test('openAttestations gives what openAttestation gives (or the error it throws), in order', async (t) => {
  const pool = new VerifyPool({ size: 1, callerShares: false });
  t.after(() => pool.close());
  const w = new World();
  const alice = w.operator('alice');
  const b = alice.builders[0]!.key;
  const envs: unknown[] = Array.from({ length: 40 }, (_, i) => w.attest(b, { cfg: config(`app-misc/p${i}-1.0`) }));
  const forged = structuredClone(envs[5] as Envelope);
  forged.signatures[0]!.sig = Buffer.alloc(64, 1).toString('base64');
  const wrongType = { ...(envs[6] as Envelope), payloadType: 'text/plain' };
  const resigned = structuredClone(envs[7] as Envelope);
  resigned.signatures = [{ keyid: generateKey().publicKey.id, sig: resigned.signatures[0]!.sig }];
  envs.push(forged, wrongType, resigned, { nope: true }, 'not even an object');
  const batch = await openAttestations(envs, pool);
  assert.equal(batch.length, envs.length);
  for (const [i, v] of envs.entries()) {
    let single: unknown;
    try {
      single = openAttestation(v);
    } catch (e) {
      single = e;
    }
    const got = batch[i];
    if (single instanceof Error) assert.equal((got as { code?: string }).code, (single as { code?: string }).code, `item ${i}`);
    else assert.deepEqual(got, single, `item ${i}`);
  }
  assert.deepEqual(batch.slice(-5).map((r) => (r as { code?: string }).code), ['BAD_SIGNATURE', 'WRONG_PAYLOAD_TYPE', 'UNKNOWN_KEY', 'BAD_ENVELOPE', 'BAD_ENVELOPE']);
});

test('envelope and leaf fast paths are RFC 8785 canonical JSON for any strings', () => {
  const str = fc.string({ unit: 'binary', maxLength: 40 });
  const envelope = fc.record({ payloadType: str, payload: str, signatures: fc.array(fc.record({ sig: str, keyid: str }), { minLength: 1, maxLength: 3 }) });
  fc.assert(
    fc.property(envelope, fc.constantFrom('attestation', 'certificate', 'revocation') as fc.Arbitrary<'attestation'>, fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (env, type, logTime) => {
      assert.equal(canonicalEnvelope(env), canonicalJson(env));
      assert.equal(encodeLeaf({ type, envelope: env, logTime }).toString(), canonicalJson({ type, envelope: env, logTime }));
    }),
    { numRuns: 300 },
  );
});
