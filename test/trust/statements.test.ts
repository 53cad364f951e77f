import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openEnvelope, pae, signEnvelope } from '../../src/trust/dsse.js';
import { generateKey } from '../../src/trust/keys.js';
import { ATTESTATION_TYPE, CERTIFICATE_TYPE, openAttestation, openCertificate, openRevocation, signCertificate } from '../../src/trust/statements.js';
import { loadTestFixture } from '../helpers/env.js';
import { at, World } from '../helpers/trust-world.js';

const V = loadTestFixture<{ pae: { payloadType: string; payload: string; encoded: string }[] }>('trust', 'dsse-vectors.json');

function resign(env: { payloadType: string; payload: string }, payload: Buffer, key = generateKey(), type = env.payloadType) {
  return signEnvelope(type, payload, key);
}

test('DSSE PAE matches the spec example', () => {
  for (const v of V.pae) assert.equal(pae(v.payloadType, Buffer.from(v.payload)).toString(), v.encoded);
});

test('a good attestation opens; its buildKey is recomputed', () => {
  const w = new World();
  const op = w.operator('alice');
  const env = w.attest(op.builders[0]!.key);
  const { statement, signer } = openAttestation(env);
  assert.equal(signer, op.builders[0]!.key.publicKey.id);
  assert.equal(statement.kind, 'build');
});

test('forged signature, other payloadType, replay under another key, tampered fields → typed errors', () => {
  const w = new World();
  const op = w.operator('alice');
  const env = w.attest(op.builders[0]!.key);
  const payload = Buffer.from(env.payload, 'base64');
  // Forged: signature bytes flipped.
  const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
  sig[5]! ^= 1;
  assert.throws(() => openAttestation({ ...env, signatures: [{ ...env.signatures[0]!, sig: sig.toString('base64') }] }), { code: 'BAD_SIGNATURE' });
  // The same key's valid signature over the same payload under another payloadType.
  const otherType = resign(env, payload, op.builders[0]!.key, CERTIFICATE_TYPE);
  assert.throws(() => openAttestation(otherType), { code: 'WRONG_PAYLOAD_TYPE' });
  // A valid signature whose PAE used another type, relabelled as an attestation.
  assert.throws(() => openAttestation({ ...otherType, payloadType: ATTESTATION_TYPE }), { code: 'BAD_SIGNATURE' });
  // Replay: someone else signs alice's statement with their own key.
  const mallory = generateKey();
  assert.throws(() => openAttestation(resign(env, payload, mallory)), { code: 'UNKNOWN_KEY' });
  // Or lies about the key id in the signature.
  const replay = resign(env, payload, mallory);
  assert.throws(() => openAttestation({ ...replay, signatures: [{ keyid: op.builders[0]!.key.publicKey.id, sig: replay.signatures[0]!.sig }] }), { code: 'BAD_SIGNATURE' });
  // Statement edited (outputDigest) and re-signed by its own builder but buildKey left stale.
  const edited = JSON.parse(payload.toString());
  edited.buildConfig.use = ['debug'];
  assert.throws(() => openAttestation(resign(env, Buffer.from(JSON.stringify(edited)), op.builders[0]!.key)), { code: 'BUILD_KEY_MISMATCH' });
  // Unknown fields and malformed payloads.
  assert.throws(() => openAttestation(resign(env, Buffer.from(JSON.stringify({ ...JSON.parse(payload.toString()), extra: 1 })), op.builders[0]!.key)), { code: 'BAD_STATEMENT' });
  assert.throws(() => openAttestation(resign(env, Buffer.from('not json'), op.builders[0]!.key)), { code: 'BAD_STATEMENT' });
  assert.throws(() => openAttestation({ payloadType: ATTESTATION_TYPE }), { code: 'BAD_ENVELOPE' });
  assert.throws(() => openAttestation({ ...env, extra: true }), { code: 'BAD_ENVELOPE' });
});

test('certificates and revocations open only under their issuer', () => {
  const w = new World();
  const op = w.operator('alice');
  const roots = (id: string) => (id === w.root.publicKey.id ? w.root.publicKey : undefined);
  assert.equal(openCertificate(op.cert, roots).statement.name, 'alice');
  const stranger = generateKey();
  const self = signCertificate({ role: 'operator', name: 'eve', subject: stranger.publicKey, notBefore: at(0), notAfter: at(9) }, stranger);
  assert.throws(() => openCertificate(self, roots), { code: 'UNKNOWN_KEY' });
  const rev = w.revoke(w.root, op.key.publicKey.id, at(3));
  assert.equal(openRevocation(rev, roots).statement.subject, op.key.publicKey.id);
  assert.throws(() => openEnvelope(rev, ATTESTATION_TYPE, roots), { code: 'WRONG_PAYLOAD_TYPE' });
});
