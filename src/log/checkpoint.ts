/**
 * Checkpoints as C2SP signed notes (c2sp.org/signed-note, tlog-checkpoint)
 * with witness cosignatures (c2sp.org/tlog-cosignature):
 *
 *   <origin>\n<size>\n<base64 root>\n[extension lines]\n
 *   \n
 *   — <key name> <base64(4-byte key hash ‖ signature)>\n …
 *
 * Ed25519 note key hash = sha256(name ‖ "\n" ‖ 0x01 ‖ pubkey)[:4]; a
 * cosignature/v1 key uses type byte 0x04 and signs
 * "cosignature/v1\ntime <t>\n" ‖ body, its value being key hash ‖ uint64 t ‖ sig.
 * Signatures by unknown keys are kept but never counted.
 */
import { createHash } from 'node:crypto';
import { BinswarmError } from '../errors.js';
import { signBytes, verifyBytes, type PrivateKey, type PublicKey } from '../trust/keys.js';

export type CheckpointErrorCode = 'BAD_CHECKPOINT' | 'CHECKPOINT_SIGNATURE';

export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  extensions: string[];
}

export interface NoteSignature {
  name: string;
  keyHash: Buffer;
  /** Everything after the key hash (a cosignature's timestamp ‖ sig, or a plain sig). */
  value: Buffer;
}

export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  /** The signed body text, byte for byte. */
  body: string;
  signatures: NoteSignature[];
}

/** A named verifier key: the coordinator's (note signature) or a witness's (cosignature). */
export interface NamedKey {
  name: string;
  key: PublicKey;
}

const ED25519 = 0x01;
const COSIGNATURE_V1 = 0x04;
const MAX_NOTE = 1 << 16;

function fail(message: string): BinswarmError<CheckpointErrorCode> {
  return new BinswarmError('BAD_CHECKPOINT', message);
}

export function keyHash(name: string, key: PublicKey, type: number): Buffer {
  return createHash('sha256').update(`${name}\n`).update(Buffer.from([type])).update(key.raw).digest().subarray(0, 4);
}

/** The C2SP verifier key string `<name>+<hash hex>+<base64(type ‖ key)>`, for config files. */
export function verifierKey(name: string, key: PublicKey, type: 'note' | 'cosignature' = 'note'): string {
  const t = type === 'note' ? ED25519 : COSIGNATURE_V1;
  return `${name}+${keyHash(name, key, t).toString('hex')}+${Buffer.concat([Buffer.from([t]), key.raw]).toString('base64')}`;
}

function checkName(name: string): void {
  if (name === '' || /[\s+]/.test(name)) throw fail(`key name '${name}' must be non-empty without spaces or '+'`);
}

export function formatBody(c: Checkpoint): string {
  if (c.origin === '' || /\n/.test(c.origin)) throw fail('origin must be one non-empty line');
  return [c.origin, String(c.size), Buffer.from(c.root).toString('base64'), ...c.extensions].join('\n') + '\n';
}

export function parseBody(body: string): Checkpoint {
  if (!body.endsWith('\n')) throw fail('checkpoint body must end with a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) throw fail('checkpoint needs origin, size and root lines');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin === '') throw fail('empty origin line');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw fail(`bad tree size '${sizeText.slice(0, 20)}'`);
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== 32 || root.toString('base64') !== rootText) throw fail('root is not 32 bytes of canonical base64');
  if (extensions.some((l) => l === '')) throw fail('empty line inside the checkpoint body');
  return { origin, size: Number(sizeText), root, extensions };
}

export function signCheckpoint(c: Checkpoint, name: string, key: PrivateKey): string {
  checkName(name);
  const body = formatBody(c);
  const sig = signBytes(key, Buffer.from(body));
  return `${body}\n— ${name} ${Buffer.concat([keyHash(name, key.publicKey, ED25519), sig]).toString('base64')}\n`;
}

/** Splits a signed note into body and signature lines; strict about layout. */
export function parseSignedCheckpoint(text: string): SignedCheckpoint {
  if (text.length > MAX_NOTE) throw fail('note is too large');
  const split = text.indexOf('\n\n');
  if (split < 0) throw fail('no blank line between the body and the signatures');
  const body = text.slice(0, split + 1);
  const sigText = text.slice(split + 2);
  if (!sigText.endsWith('\n') || sigText === '\n') throw fail('signature block must be non-empty lines ending with a newline');
  const signatures = sigText
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      const m = /^— (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line);
      if (!m) throw fail(`malformed signature line '${line.slice(0, 60)}'`);
      const raw = Buffer.from(m[2]!, 'base64');
      if (raw.length < 5) throw fail('signature too short');
      return { name: m[1]!, keyHash: raw.subarray(0, 4), value: raw.subarray(4) };
    });
  return { checkpoint: parseBody(body), body, signatures };
}

/** Checks the log's own signature; returns the parsed checkpoint. */
export function openCheckpoint(text: string, log: NamedKey): SignedCheckpoint {
  const note = parseSignedCheckpoint(text);
  const want = keyHash(log.name, log.key, ED25519);
  const sig = note.signatures.find((s) => s.name === log.name && s.keyHash.equals(want));
  if (!sig) throw new BinswarmError<CheckpointErrorCode>('CHECKPOINT_SIGNATURE', `checkpoint is not signed by log key '${log.name}'`);
  if (sig.value.length !== 64 || !verifyBytes(log.key, Buffer.from(note.body), sig.value)) {
    throw new BinswarmError<CheckpointErrorCode>('CHECKPOINT_SIGNATURE', `log signature by '${log.name}' does not verify`);
  }
  return note;
}

function cosignedMessage(body: string, time: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${time}\n${body}`);
}

/** A witness's cosignature line for a checkpoint it has checked (append it to the note). */
export function cosign(text: string, name: string, key: PrivateKey, time: number): string {
  checkName(name);
  const note = parseSignedCheckpoint(text);
  const t = Buffer.alloc(8);
  t.writeBigUInt64BE(BigInt(time));
  const sig = signBytes(key, cosignedMessage(note.body, time));
  return `— ${name} ${Buffer.concat([keyHash(name, key.publicKey, COSIGNATURE_V1), t, sig]).toString('base64')}\n`;
}

/** Names of the given witnesses whose cosignature on this note verifies (each counted once). */
export function validCosigners(note: SignedCheckpoint, witnesses: NamedKey[]): string[] {
  const ok = new Set<string>();
  for (const w of witnesses) {
    const want = keyHash(w.name, w.key, COSIGNATURE_V1);
    for (const s of note.signatures) {
      if (s.name !== w.name || !s.keyHash.equals(want) || s.value.length !== 72) continue;
      const time = Number(s.value.readBigUInt64BE(0));
      if (verifyBytes(w.key, cosignedMessage(note.body, time), s.value.subarray(8))) ok.add(w.name);
    }
  }
  return [...ok];
}
