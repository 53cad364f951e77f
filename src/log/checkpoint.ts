/**
 * Checkpoints as C2SP signed notes (c2sp.org/signed-note, tlog-checkpoint)
 * with witness cosignatures (c2sp.org/tlog-cosignature, Ed25519 type):
 *
 *   <origin>\n<size>\n<base64 root>\n[extension lines\n]
 *   \n
 *   — <key name> <base64(4-byte key ID ‖ signature)>\n …
 *
 * Key ID = sha256(name ‖ "\n" ‖ type ‖ 32-byte public key)[:4], type 0x01 for
 * the log's note signature (over the body), 0x04 for a cosignature, whose
 * value is uint64 big-endian time ‖ Ed25519 sig over
 * "cosignature/v1\ntime <t>\n" ‖ body. A signature is attributed to a key
 * only when name AND key ID match; others are ignored (that is how log key
 * rotation and cosignatures coexist), but a matching one that fails to verify
 * rejects the whole note, as the spec recommends.
 */
import { createHash } from 'node:crypto';
import { BinswarmError } from '../errors.js';
import { publicKeyFromRaw, signBytes, verifyBytes, type NamedKey, type PrivateKey, type PublicKey } from '../trust/keys.js';
import { EMPTY_ROOT } from './merkle.js';

export type CheckpointErrorCode = 'BAD_CHECKPOINT' | 'CHECKPOINT_SIGNATURE' | 'NOT_ENOUGH_WITNESSES' | 'BAD_VERIFIER_KEY';

export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  extensions: string[];
}

export interface NoteSignature {
  name: string;
  keyHash: Buffer;
  /** Everything after the key ID (a cosignature's timestamp ‖ sig, or a plain sig). */
  value: Buffer;
}

/** A signed note split into its text and signature lines (nothing verified yet). */
export interface Note {
  /** The signed text, byte for byte, including its final newline. */
  body: string;
  signatures: NoteSignature[];
}

export interface SignedCheckpoint extends Note {
  checkpoint: Checkpoint;
}

// NamedKey lives beside the keys (trust/ never imports log/); re-exported for log/ users.
export type { NamedKey };

export const ED25519 = 0x01;
export const COSIGNATURE_V1 = 0x04;
/** Generous for a checkpoint and its cosignatures; the spec asks verifiers to accept at least 16 signatures. */
const MAX_NOTE = 1 << 16;
const MAX_SIGNATURES = 100;
const MAX_TIME = (1n << 63n) - 1n;

function fail(message: string): BinswarmError<CheckpointErrorCode> {
  return new BinswarmError('BAD_CHECKPOINT', message);
}

function badSignature(message: string): BinswarmError<CheckpointErrorCode> {
  return new BinswarmError('CHECKPOINT_SIGNATURE', message);
}

export function keyHash(name: string, key: PublicKey, type: number): Buffer {
  return createHash('sha256').update(`${name}\n`).update(Buffer.from([type])).update(key.raw).digest().subarray(0, 4);
}

/** The C2SP verifier key string `<name>+<key ID hex>+<base64(type ‖ key)>`, for config files. */
export function verifierKey(name: string, key: PublicKey, type: 'note' | 'cosignature' = 'note'): string {
  const t = type === 'note' ? ED25519 : COSIGNATURE_V1;
  return `${name}+${keyHash(name, key, t).toString('hex')}+${Buffer.concat([Buffer.from([t]), key.raw]).toString('base64')}`;
}

/** Parses a vkey (Ed25519 note key or Ed25519 cosignature key); the key ID must match. */
export function parseVerifierKey(vkey: string): NamedKey & { type: 'note' | 'cosignature' } {
  const bad = (why: string) => new BinswarmError<CheckpointErrorCode>('BAD_VERIFIER_KEY', `verifier key ${why}`);
  // Names never contain '+', base64 may: split at the first two only.
  const m = /^([^+]*)\+([0-9a-f]{8})\+(.+)$/.exec(vkey.trim());
  if (!m) throw bad("must be '<name>+<hex key ID>+<base64 key>'");
  const [, name, id, material] = m as unknown as [string, string, string, string];
  if (!validName(name)) throw bad(`name '${name}' is not a valid key name`);
  const raw = Buffer.from(material, 'base64');
  if (raw.toString('base64') !== material || raw.length !== 33) throw bad('key is not base64 of a type byte and 32 bytes');
  const type = raw[0] === ED25519 ? 'note' : raw[0] === COSIGNATURE_V1 ? 'cosignature' : undefined;
  if (!type) throw bad(`type 0x${raw[0]!.toString(16).padStart(2, '0')} is not Ed25519 (0x01) or cosignature/v1 (0x04)`);
  const key = publicKeyFromRaw(raw.subarray(1));
  if (keyHash(name, key, raw[0]!).toString('hex') !== id) throw bad(`ID ${id} does not match its name and key`);
  return { name, key, type };
}

/** Non-empty, no Unicode spaces, no '+' (c2sp.org/signed-note). */
function validName(name: string): boolean {
  return name !== '' && !/[\s+]/u.test(name);
}

/** Signed notes are UTF-8 without control characters other than newline. */
function checkText(text: string): void {
  if (/[\u0000-\u0009\u000b-\u001f\u007f\ufffd]/.test(text)) throw fail('note contains a control character (or invalid UTF-8)');
}

function base64Strict(text: string): Buffer | undefined {
  const b = Buffer.from(text, 'base64');
  return b.toString('base64') === text ? b : undefined;
}

export function formatBody(c: Checkpoint): string {
  const body = [c.origin, String(c.size), Buffer.from(c.root).toString('base64'), ...c.extensions].join('\n') + '\n';
  parseBody(body); // what we sign must be what a verifier accepts
  return body;
}

export function parseBody(body: string): Checkpoint {
  checkText(body);
  if (!body.endsWith('\n')) throw fail('checkpoint body must end with a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) throw fail('checkpoint needs origin, size and root lines');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin === '') throw fail('empty origin line');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw fail(`bad tree size '${sizeText.slice(0, 20)}'`);
  const root = base64Strict(rootText);
  if (!root || root.length !== 32) throw fail('root is not 32 bytes of canonical base64');
  if (extensions.some((l) => l === '')) throw fail('empty line inside the checkpoint body');
  const size = Number(sizeText);
  if (size === 0 && !root.equals(EMPTY_ROOT)) throw fail('a tree of size 0 has the empty root');
  return { origin, size, root, extensions };
}

/** Splits a signed note into text and signature lines; strict about layout. */
export function parseNote(text: string): Note {
  if (text.length > MAX_NOTE) throw fail('note is too large');
  checkText(text);
  if (!text.endsWith('\n')) throw fail('note must end with a newline');
  // The text may itself contain blank lines: the signatures follow the last one.
  const split = text.lastIndexOf('\n\n');
  if (split < 0) throw fail('no blank line between the text and the signatures');
  const body = text.slice(0, split + 1);
  const lines = text.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw fail(`more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line) => {
    const m = /^— (\S+) (\S+)$/u.exec(line);
    if (!m || !validName(m[1]!)) throw fail(`malformed signature line '${line.slice(0, 60)}'`);
    const raw = base64Strict(m[2]!);
    if (!raw || raw.length < 5) throw fail(`signature by '${m[1]}' is not canonical base64 of a key ID and a signature`);
    return { name: m[1]!, keyHash: raw.subarray(0, 4), value: raw.subarray(4) };
  });
  return { body, signatures };
}

export function parseSignedCheckpoint(text: string): SignedCheckpoint {
  const note = parseNote(text);
  return { ...note, checkpoint: parseBody(note.body) };
}

function signatureLine(name: string, id: Buffer, value: Buffer): string {
  if (!validName(name)) throw fail(`key name '${name}' must be non-empty without spaces or '+'`);
  return `— ${name} ${Buffer.concat([id, value]).toString('base64')}\n`;
}

/** Signs any note text (which must end with a newline) with an Ed25519 note key. */
export function signNote(body: string, name: string, key: PrivateKey): string {
  checkText(body);
  if (!body.endsWith('\n')) throw fail('note text must end with a newline');
  return `${body}\n${signatureLine(name, keyHash(name, key.publicKey, ED25519), signBytes(key, Buffer.from(body)))}`;
}

export function signCheckpoint(c: Checkpoint, name: string, key: PrivateKey): string {
  return signNote(formatBody(c), name, key);
}

/**
 * Checks a note against trusted Ed25519 note keys (several during a key
 * rotation): at least one must have signed it, and none may have a failing
 * signature on it.
 */
export function verifyNote(note: Note, keys: NamedKey | readonly NamedKey[]): void {
  const list = Array.isArray(keys) ? keys : [keys as NamedKey];
  let verified = 0;
  for (const k of list) {
    const want = keyHash(k.name, k.key, ED25519);
    for (const s of note.signatures) {
      if (s.name !== k.name || !s.keyHash.equals(want)) continue;
      if (s.value.length !== 64 || !verifyBytes(k.key, Buffer.from(note.body), s.value)) throw badSignature(`signature by '${k.name}' does not verify`);
      verified += 1;
    }
  }
  if (verified === 0) throw badSignature(`note is not signed by ${list.map((k) => `'${k.name}'`).join(' or ') || 'any trusted key'}`);
}

/** Parses a checkpoint and checks the log's signature on it. */
export function openCheckpoint(text: string, log: NamedKey | readonly NamedKey[]): SignedCheckpoint {
  const note = parseSignedCheckpoint(text);
  verifyNote(note, log);
  return note;
}

function cosignedMessage(body: string, time: bigint): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${time}\n${body}`);
}

/** A witness's cosignature line for a checkpoint it has checked (append it to the note). */
export function cosign(text: string, name: string, key: PrivateKey, time: number): string {
  if (!Number.isSafeInteger(time) || time < 0) throw fail(`cosignature time ${time} is not a POSIX timestamp`);
  const note = parseSignedCheckpoint(text);
  const t = Buffer.alloc(8);
  t.writeBigUInt64BE(BigInt(time));
  const sig = signBytes(key, cosignedMessage(note.body, BigInt(time)));
  return signatureLine(name, keyHash(name, key.publicKey, COSIGNATURE_V1), Buffer.concat([t, sig]));
}

export interface Cosignature {
  name: string;
  /** When the witness cosigned (POSIX seconds). */
  time: number;
}

/**
 * The given witnesses' cosignatures on this note, each witness counted once
 * (its latest time). Rejects the note if a witness's cosignature is malformed
 * or does not verify.
 */
export function cosignaturesOf(note: Note, witnesses: readonly NamedKey[]): Cosignature[] {
  const found = new Map<string, number>();
  for (const w of witnesses) {
    const want = keyHash(w.name, w.key, COSIGNATURE_V1);
    for (const s of note.signatures) {
      if (s.name !== w.name || !s.keyHash.equals(want)) continue;
      const time = s.value.length === 72 ? s.value.readBigUInt64BE(0) : MAX_TIME + 1n;
      if (time > MAX_TIME || !verifyBytes(w.key, cosignedMessage(note.body, time), s.value.subarray(8))) {
        throw badSignature(`cosignature by witness '${w.name}' does not verify`);
      }
      found.set(w.name, Math.max(found.get(w.name) ?? 0, Number(time)));
    }
  }
  return [...found].map(([name, time]) => ({ name, time }));
}

/** Names of the given witnesses that cosigned this note (each counted once). */
export function validCosigners(note: Note, witnesses: readonly NamedKey[]): string[] {
  return cosignaturesOf(note, witnesses).map((c) => c.name);
}

export interface WitnessPolicy {
  witnesses: NamedKey[];
  required: number;
}

/** Enforces K-of-N witnesses; returns who cosigned. */
export function verifyCosignatures(note: Note, policy: WitnessPolicy): Cosignature[] {
  const got = cosignaturesOf(note, policy.witnesses);
  if (got.length < policy.required) {
    const names = got.map((c) => c.name).join(', ') || 'none';
    throw new BinswarmError<CheckpointErrorCode>('NOT_ENOUGH_WITNESSES', `checkpoint has ${got.length} valid witness cosignature(s) (${names}), policy needs ${policy.required}`);
  }
  return got;
}
