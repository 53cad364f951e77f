import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { test } from 'node:test';
import { cosign, ED25519, openCheckpoint, parseNote, parseSignedCheckpoint, parseVerifierKey, signCheckpoint, signNote, verifierKey, verifyNote } from '../../src/log/checkpoint.js';
import { EMPTY_ROOT } from '../../src/log/merkle.js';
import { acceptCheckpoint } from '../../src/log/verifier.js';
import { generateKey, privateKeyFromPem } from '../../src/trust/keys.js';
import { loadTestFixture } from '../helpers/env.js';

interface Vectors {
  verify: { source: string; vkey: string; note: string; checkpoint?: { origin: string; size: number; root: string } }[];
  sign: { skey: string; name: string; text: string; note: string }[];
  cosigned: { note: string; origin: string; size: number; witness: string; time: number };
}
const V = loadTestFixture<Vectors>('log', 'signed-note-vectors.json');

test('published signed notes open with their verifier keys, and fail when edited', () => {
  for (const v of V.verify) {
    const key = parseVerifierKey(v.vkey);
    assert.equal(key.type, 'note');
    assert.equal(verifierKey(key.name, key.key), v.vkey, v.source);
    const note = parseNote(v.note);
    verifyNote(note, key);
    assert.throws(() => verifyNote(parseNote(v.note.replace(/e/, 'E')), key), { code: 'CHECKPOINT_SIGNATURE' }, v.source);
    if (v.checkpoint) {
      const cp = openCheckpoint(v.note, key).checkpoint;
      assert.deepEqual({ origin: cp.origin, size: cp.size, root: Buffer.from(cp.root).toString('base64') }, v.checkpoint);
    }
  }
});

test('signing reproduces the published note byte for byte (Ed25519 is deterministic)', () => {
  for (const s of V.sign) {
    const parts = s.skey.split('+');
    const raw = Buffer.from(parts.slice(4).join('+'), 'base64');
    assert.equal(raw[0], ED25519);
    const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), raw.subarray(1)]);
    const key = privateKeyFromPem(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }));
    assert.equal(signNote(s.text, s.name, key), s.note);
  }
});

test('the tlog-cosignature example parses: log signature and a 72-byte timestamped cosignature', () => {
  const c = V.cosigned;
  const note = parseSignedCheckpoint(c.note);
  assert.equal(note.checkpoint.origin, c.origin);
  assert.equal(note.checkpoint.size, c.size);
  const w = note.signatures.find((s) => s.name === c.witness)!;
  assert.equal(w.value.length, 8 + 64);
  assert.equal(Number(w.value.readBigUInt64BE(0)), c.time);
});

test('verifier keys: round trip for both types; wrong ID, type or encoding rejected', () => {
  const k = generateKey();
  const note = parseVerifierKey(verifierKey('log.example/a', k.publicKey));
  assert.deepEqual([note.name, note.type, note.key.raw], ['log.example/a', 'note', k.publicKey.raw]);
  assert.equal(parseVerifierKey(verifierKey('w.example', k.publicKey, 'cosignature')).type, 'cosignature');
  const good = verifierKey('log.example/a', k.publicKey);
  const [, name, id, material] = /^([^+]*)\+([^+]*)\+(.*)$/.exec(good) as unknown as [string, string, string, string];
  for (const bad of [`${name}+00000000+${material}`, `${name}+${id}`, `x y+${id}+${material}`, `${name}+${id}+${material.slice(0, -4)}`, `${name}+${id}+${Buffer.concat([Buffer.from([2]), k.publicKey.raw]).toString('base64')}`]) {
    assert.throws(() => parseVerifierKey(bad), { code: 'BAD_VERIFIER_KEY' }, bad);
  }
});

test('strict parsing: layout, encodings, control characters, sizes', () => {
  const key = generateKey();
  const root = Buffer.alloc(32, 7).toString('base64');
  const good = signCheckpoint({ origin: 'o.example', size: 3, root: Buffer.alloc(32, 7), extensions: ['ext one'] }, 'o.example', key);
  parseSignedCheckpoint(good);
  const sig = good.split('\n').at(-2)!;
  const cases: Record<string, string> = {
    'no trailing newline': good.slice(0, -1),
    'no signatures': `o\n3\n${root}\n\n`,
    'hyphen instead of em dash': good.replace('— ', '- '),
    'tab in body': good.replace('ext one', 'ext\tone'),
    'carriage return': good.replace('\n3\n', '\r\n3\n'),
    'leading zero size': good.replace('\n3\n', '\n03\n'),
    'negative size': good.replace('\n3\n', '\n-3\n'),
    'size too large': good.replace('\n3\n', '\n99999999999999999\n'),
    'short root': good.replace(root, Buffer.alloc(31).toString('base64')),
    'unpadded root': good.replace(root, root.replace(/=+$/, '')),
    'two lines only': `o\n3\n\n${sig}\n`,
    'empty extension line': good.replace('ext one\n', 'ext one\n\nmore\n'),
    'size 0 with a non-empty root': signNote(`o\n0\n${root}\n`, 'o', key),
    'signature not base64': good.replace(/ (\S+)\n$/, ' !!!!\n'),
    'signature too short': good.replace(/ (\S+)\n$/, ' AAAA\n'),
    'key name with plus': `${good}— a+b AAAAAAAA\n`,
    'too many signatures': good + `— w AAAAAAAA\n`.repeat(100),
  };
  for (const [why, text] of Object.entries(cases)) assert.throws(() => parseSignedCheckpoint(text), { code: 'BAD_CHECKPOINT' }, why);
  // An empty tree is fine, with the empty root.
  assert.equal(parseSignedCheckpoint(signNote(`o\n0\n${Buffer.from(EMPTY_ROOT).toString('base64')}\n`, 'o', key)).checkpoint.size, 0);
  // Signing refuses what a verifier would refuse.
  assert.throws(() => signCheckpoint({ origin: 'o', size: 1, root: Buffer.alloc(32), extensions: [''] }, 'o', key), { code: 'BAD_CHECKPOINT' });
  assert.throws(() => signCheckpoint({ origin: 'o', size: 1, root: Buffer.alloc(32), extensions: [] }, 'bad name', key), { code: 'BAD_CHECKPOINT' });
  assert.throws(() => cosign(good.replace('\n3\n', '\n3x\n'), 'w', key, 1), { code: 'BAD_CHECKPOINT' });
});

test('log key rotation: any trusted log key may sign; unknown signatures are ignored', () => {
  const oldKey = generateKey();
  const newKey = generateKey();
  const body = { origin: 'o.example', size: 1, root: Buffer.alloc(32, 1), extensions: [] };
  const byNew = signCheckpoint(body, 'o.example', newKey);
  const keys = [
    { name: 'o.example', key: oldKey.publicKey },
    { name: 'o.example', key: newKey.publicKey },
  ];
  openCheckpoint(byNew, keys);
  assert.throws(() => openCheckpoint(byNew, keys[0]!), { code: 'CHECKPOINT_SIGNATURE' });
  // An extra line by a key nobody configured does not matter.
  const other = signCheckpoint(body, 'someone.else', generateKey()).split('\n\n')[1]!;
  openCheckpoint(byNew + other, keys[1]!);
});

test('verifier: first contact from an empty trusted tree needs no proof', () => {
  const key = generateKey();
  const log = { name: 'o.example', key: key.publicKey };
  const empty = signCheckpoint({ origin: 'o.example', size: 0, root: EMPTY_ROOT, extensions: [] }, 'o.example', key);
  const next = signCheckpoint({ origin: 'o.example', size: 5, root: Buffer.alloc(32, 5), extensions: [] }, 'o.example', key);
  assert.equal(acceptCheckpoint({ trusted: empty, presented: next, proof: [], log }).checkpoint.size, 5);
  assert.equal(acceptCheckpoint({ trusted: empty, presented: empty, proof: [], log }).checkpoint.size, 0);
  const elsewhere = signCheckpoint({ origin: 'other.example', size: 5, root: Buffer.alloc(32, 5), extensions: [] }, 'o.example', key);
  assert.throws(() => acceptCheckpoint({ trusted: empty, presented: elsewhere, proof: [], log }), { code: 'ORIGIN_MISMATCH' });
});
