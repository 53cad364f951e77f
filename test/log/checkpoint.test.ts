import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cosign, openCheckpoint, parseSignedCheckpoint, signCheckpoint, validCosigners, verifierKey, verifyCosignatures } from '../../src/log/checkpoint.js';
import { MemoryHashStore } from '../../src/log/hash-store.js';
import { checkLogTimes, decodeLeaf, decodeLeafRange, encodeLeaf } from '../../src/log/leaf.js';
import { MerkleLog } from '../../src/log/log.js';
import { PIECE_SIZE, pieceHashesOf, pieceRootOfFile } from '../../src/transfer/pieces.js';
import { acceptCheckpoint, detectFork, LogForkError } from '../../src/log/verifier.js';
import { generateKey } from '../../src/trust/keys.js';
import { tempDir } from '../helpers/env.js';

const coordinator = generateKey();
const LOG = { name: 'binswarm.test/log', key: coordinator.publicKey };
const w1 = generateKey();
const w2 = generateKey();
const W = [
  { name: 'w1.example', key: w1.publicKey },
  { name: 'w2.example', key: w2.publicKey },
];

async function grow(log: MerkleLog, n: number, tag = 'x'): Promise<string> {
  await log.appendLeaves(Array.from({ length: n }, (_, i) => Buffer.from(`${tag}${i}`)));
  return signCheckpoint({ origin: 'binswarm.test/log', size: await log.size(), root: await log.root(), extensions: [] }, LOG.name, coordinator);
}

test('signed note layout round-trips and the log signature verifies', async () => {
  const log = new MerkleLog(new MemoryHashStore());
  const note = await grow(log, 5);
  const lines = note.split('\n');
  assert.equal(lines[0], 'binswarm.test/log');
  assert.equal(lines[1], '5');
  assert.equal(lines[3], '');
  assert.match(lines[4]!, /^— binswarm\.test\/log [A-Za-z0-9+/]+=*$/);
  const opened = openCheckpoint(note, LOG);
  assert.equal(opened.checkpoint.size, 5);
  assert.deepEqual(Buffer.from(opened.checkpoint.root), Buffer.from(await log.root()));
  assert.match(verifierKey(LOG.name, LOG.key), /^binswarm\.test\/log\+[0-9a-f]{8}\+A[Q-Za-f]/);
});

test('a bad log signature, another key, or an edited body is rejected', async () => {
  const log = new MerkleLog(new MemoryHashStore());
  const note = await grow(log, 3);
  const other = generateKey();
  assert.throws(() => openCheckpoint(note, { name: LOG.name, key: other.publicKey }), { code: 'CHECKPOINT_SIGNATURE' });
  assert.throws(() => openCheckpoint(note.replace('\n3\n', '\n4\n'), LOG), { code: 'CHECKPOINT_SIGNATURE' });
  const sigLine = note.split('\n')[4]!;
  const raw = Buffer.from(sigLine.split(' ')[2]!, 'base64');
  raw[10]! ^= 1;
  assert.throws(() => openCheckpoint(note.replace(sigLine, `— ${LOG.name} ${raw.toString('base64')}`), LOG), { code: 'CHECKPOINT_SIGNATURE' });
  for (const broken of ['no blank line\n', 'o\n1\nAAAA\n\n— a b\n', 'o\nx\n' + Buffer.alloc(32).toString('base64') + '\n\n— a AAAAAAAA\n', 'o\n01\n' + Buffer.alloc(32).toString('base64') + '\n\n— a AAAAAAAA\n']) {
    assert.throws(() => parseSignedCheckpoint(broken), { code: 'BAD_CHECKPOINT' }, JSON.stringify(broken));
  }
});

test('witness cosignatures: counted per valid witness, K-of-N enforced', async () => {
  const log = new MerkleLog(new MemoryHashStore());
  const note = await grow(log, 4);
  const c1 = cosign(note, 'w1.example', w1, 1_800_000_000);
  const c2 = cosign(note, 'w2.example', w2, 1_800_000_001);
  // A "cosignature" by a key that is not the named witness's.
  const fake = cosign(note, 'w2.example', generateKey(), 1_800_000_002);
  assert.deepEqual(validCosigners(parseSignedCheckpoint(note + c1 + fake), W), ['w1.example']);
  assert.deepEqual(validCosigners(parseSignedCheckpoint(note + c1 + c1), W), ['w1.example'], 'the same witness twice counts once');
  assert.deepEqual(validCosigners(parseSignedCheckpoint(note + c1 + c2), W).sort(), ['w1.example', 'w2.example']);
  acceptCheckpoint({ presented: note + c1 + c2, proof: [], log: LOG, witnessPolicy: { witnesses: W, required: 2 } });
  assert.throws(() => acceptCheckpoint({ presented: note + c1 + fake, proof: [], log: LOG, witnessPolicy: { witnesses: W, required: 2 } }), { code: 'NOT_ENOUGH_WITNESSES' });
  // A cosignature does not carry over to another checkpoint: a known witness's
  // failing signature rejects the note (c2sp.org/signed-note: SHOULD).
  const later = await grow(log, 1);
  assert.throws(() => validCosigners(parseSignedCheckpoint(later + c1), W), { code: 'CHECKPOINT_SIGNATURE' });
  assert.throws(() => acceptCheckpoint({ presented: later + c1, proof: [], log: LOG, witnessPolicy: { witnesses: W, required: 1 } }), { code: 'CHECKPOINT_SIGNATURE' });
  // Times are read back; each witness counts once however often it signs.
  assert.deepEqual(verifyCosignatures(parseSignedCheckpoint(note + c2 + c1 + c2), { witnesses: W, required: 2 }).sort((a, b) => a.name.localeCompare(b.name)), [
    { name: 'w1.example', time: 1_800_000_000 },
    { name: 'w2.example', time: 1_800_000_001 },
  ]);
  assert.throws(() => verifyCosignatures(parseSignedCheckpoint(note + c1), { witnesses: W, required: 2 }), { code: 'NOT_ENOUGH_WITNESSES' });
  assert.throws(() => cosign(note, 'w1.example', w1, -1), { code: 'BAD_CHECKPOINT' });
});

test('verifier: consistent growth accepted; rollback and forks rejected with evidence', async () => {
  const log = new MerkleLog(new MemoryHashStore());
  const a = await grow(log, 10);
  const b = await grow(log, 7);
  acceptCheckpoint({ trusted: a, presented: b, proof: await log.consistencyProof(10, 17), log: LOG });
  acceptCheckpoint({ trusted: b, presented: b, proof: [], log: LOG });
  assert.throws(() => acceptCheckpoint({ trusted: b, presented: a, proof: [], log: LOG }), { code: 'LOG_ROLLBACK' });

  // The coordinator shows someone else a different history of the same size.
  const forkLog = new MerkleLog(new MemoryHashStore());
  await grow(forkLog, 10, 'y');
  const forked = await grow(forkLog, 7);
  assert.throws(
    () => acceptCheckpoint({ trusted: b, presented: forked, proof: [], log: LOG }),
    (e: unknown) => e instanceof LogForkError && e.code === 'LOG_FORK' && e.evidence.trusted === b && e.evidence.presented === forked,
  );
  // A grown fork cannot prove consistency with what we trusted.
  const grownFork = await grow(forkLog, 3);
  await assert.rejects(
    (async () => acceptCheckpoint({ trusted: a, presented: grownFork, proof: await forkLog.consistencyProof(10, 20), log: LOG }))(),
    { code: 'LOG_FORK' },
  );
  // The same fork seen by comparing two notes from different sources.
  assert.throws(() => detectFork(b, forked, LOG), (e: unknown) => e instanceof LogForkError && e.evidence.presented === forked);
  detectFork(a, b, LOG);
  // Nor can a tampered proof for the honest log.
  const c = await grow(log, 3);
  const proof = await log.consistencyProof(17, 20);
  proof[0] = randomBytes(32);
  assert.throws(() => acceptCheckpoint({ trusted: b, presented: c, proof, log: LOG }), { code: 'LOG_FORK' });
});

test('leaves: canonical encoding with the receipt time, strict decoding', () => {
  const env = { payloadType: 'application/x', payload: 'e30=', signatures: [{ keyid: 'k', sig: 's' }] };
  const bytes = encodeLeaf({ type: 'attestation', envelope: env, logTime: 1767225600123 });
  assert.deepEqual(decodeLeaf(bytes), { type: 'attestation', envelope: env, logTime: 1767225600123 });
  assert.equal(bytes.toString(), '{"envelope":{"payload":"e30=","payloadType":"application/x","signatures":[{"keyid":"k","sig":"s"}]},"logTime":1767225600123,"type":"attestation"}');
  const binrev = { type: 'binrev' as const, configKey: 'c'.repeat(64), buildKey: 'b'.repeat(64), depAbi: [], binrev: 1, time: 5, logTime: 7 };
  assert.deepEqual(decodeLeaf(encodeLeaf(binrev)), binrev);
  assert.throws(() => decodeLeaf(Buffer.from('{"type":"nope"}')), { code: 'BAD_LEAF' });
  // A leaf without its receipt time (the format before logTime) is not a leaf any more.
  assert.throws(() => decodeLeaf(Buffer.from('{"envelope":' + JSON.stringify(env) + ',"type":"attestation"}')), { code: 'BAD_LEAF' });
  assert.throws(() => decodeLeaf(Buffer.from('{"envelope":' + JSON.stringify(env) + ',"logTime":-1,"type":"attestation"}')), { code: 'BAD_LEAF' });
  assert.throws(() => decodeLeaf(Buffer.from('{"envelope":' + JSON.stringify(env) + ',"logTime":1.5,"type":"attestation"}')), { code: 'BAD_LEAF' });
  assert.throws(() => decodeLeaf(Buffer.from('{"type":"attestation","logTime":1,"envelope":' + JSON.stringify(env) + ',"extra":1}')), { code: 'BAD_LEAF' });
  assert.throws(() => decodeLeaf(Buffer.from('not json')), { code: 'BAD_LEAF' });
});

test('leaves: receipt times that go backwards along the log are refused', () => {
  const env = { payloadType: 'application/x', payload: 'e30=', signatures: [{ keyid: 'k', sig: 's' }] };
  const leaf = (logTime: number) => encodeLeaf({ type: 'revocation', envelope: env, logTime });
  // Equal times are fine (one batch shares one receipt time).
  assert.deepEqual(decodeLeafRange(10, [leaf(100), leaf(100), leaf(250)]).map((l) => l.logTime), [100, 100, 250]);
  assert.throws(() => decodeLeafRange(10, [leaf(100), leaf(99)]), (e: Error & { code?: string }) => e.code === 'LOG_TIME_BACKWARDS' && /leaf 11/.test(e.message));
  // Against the last leaf the reader accepted before this range.
  assert.throws(() => decodeLeafRange(10, [leaf(100)], { logIndex: 9, logTime: 101 }), { code: 'LOG_TIME_BACKWARDS' });
  assert.throws(() => decodeLeafRange(10, [leaf(100), Buffer.from('{}')]), (e: Error & { code?: string }) => e.code === 'BAD_LEAF' && /leaf 11/.test(e.message));
  // Any subsequence in log order (what a client fetched with proofs) is checked the same way.
  checkLogTimes([{ logIndex: 2, logTime: 5 }, { logIndex: 7, logTime: 5 }, { logIndex: 9, logTime: 6 }]);
  assert.throws(() => checkLogTimes([{ logIndex: 2, logTime: 5 }, { logIndex: 7, logTime: 4 }]), { code: 'LOG_TIME_BACKWARDS' });
  assert.throws(() => checkLogTimes([{ logIndex: 7, logTime: 5 }, { logIndex: 2, logTime: 6 }]), { code: 'BAD_LEAF' });
});

test('pieces: 1 MiB sha256 pieces and their RFC 6962 root', async (t) => {
  const dir = await tempDir(t);
  const data = randomBytes(PIECE_SIZE * 2 + 12345);
  const path = join(dir, 'a');
  writeFileSync(path, data);
  const hashes = await pieceHashesOf(path);
  assert.equal(hashes.length, 3);
  assert.deepEqual(hashes[2], createHash('sha256').update(data.subarray(2 * PIECE_SIZE)).digest());
  const log = new MerkleLog(new MemoryHashStore());
  await log.appendLeaves(hashes);
  assert.equal(await pieceRootOfFile(path), Buffer.from(await log.root()).toString('hex'));
});
