/** The sync index reads canonical statement leaves without a full parse; any other shape takes the JSON path with the same result. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KIND, indexLeaf } from '../../src/gateway/leaf-index.js';
import { encodeLeaf } from '../../src/log/leaf.js';
import { World } from '../helpers/trust-world.js';

test('fast and JSON paths index a leaf alike; malformed leaves have no logTime', () => {
  const w = new World();
  const op = w.operator('alice');
  const att = w.attest(op.builders[0]!.key);
  const canonical = encodeLeaf({ type: 'attestation', envelope: att, logTime: 1234 });
  const spaced = Buffer.from(JSON.stringify(JSON.parse(canonical.toString()), null, 1));
  const a = indexLeaf(canonical);
  assert.deepEqual(indexLeaf(spaced), a);
  assert.equal(a.logTime, 1234);
  assert.deepEqual({ kind: a.ix?.kind, signer: a.ix?.signer, chost: a.ix?.chost, use: a.ix?.use }, { kind: KIND.attestation, signer: op.builders[0]!.key.publicKey.id, chost: 'x86_64-pc-linux-gnu', use: ['nls'] });
  // A payload that is not in canonical form takes the JSON path for its fields too.
  const pretty = { ...att, payload: Buffer.from(JSON.stringify(JSON.parse(Buffer.from(att.payload, 'base64').toString()), null, 2)).toString('base64') };
  assert.deepEqual(indexLeaf(encodeLeaf({ type: 'attestation', envelope: pretty, logTime: 1234 })), a);
  const cert = indexLeaf(encodeLeaf({ type: 'certificate', envelope: op.builders[0]!.cert, logTime: 5 }));
  assert.deepEqual([cert.ix?.kind, cert.ix?.signer, cert.ix?.subject], [KIND.certificate, op.key.publicKey.id, op.builders[0]!.key.publicKey.id]);
  assert.deepEqual(indexLeaf(Buffer.from('{"envelope":{"payload":"x"')), {});
  assert.equal(indexLeaf(encodeLeaf({ type: 'binrev', configKey: 'a'.repeat(64), buildKey: 'b'.repeat(64), depAbi: [], binrev: 1, time: 1, logTime: 9 })).logTime, 9);
});
