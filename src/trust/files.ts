/** Reading and writing the files the trust commands deal in: key pairs and signed envelopes. */
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { BinswarmError } from '../errors.js';
import { parseEnvelope, type Envelope } from './dsse.js';
import { privateKeyToPem, publicKeyToPem, type PrivateKey } from './keys.js';

export type FileErrorCode = 'FILE_EXISTS' | 'NOT_FOUND' | 'BAD_JSON';

/** Private key (0600, never overwritten) and `path.pub`. */
export async function writeKeyPair(path: string, key: PrivateKey): Promise<void> {
  for (const p of [path, `${path}.pub`]) {
    if (await stat(p).catch(() => undefined)) throw new BinswarmError<FileErrorCode>('FILE_EXISTS', 'refusing to overwrite an existing key file', { subject: p });
  }
  // O_EXCL + mode at creation: the secret is never readable by others, not even briefly.
  const fh = await open(path, 'wx', 0o600).catch((e: NodeJS.ErrnoException) => {
    throw new BinswarmError<FileErrorCode>(e.code === 'EEXIST' ? 'FILE_EXISTS' : 'NOT_FOUND', `cannot create key file: ${e.code}`, { subject: path });
  });
  try {
    await fh.writeFile(privateKeyToPem(key));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await writeFile(`${path}.pub`, publicKeyToPem(key.publicKey), { flag: 'wx', mode: 0o644 });
}

/** Writes JSON atomically (temp + rename); '-' means stdout. */
export async function writeJsonOut(path: string | undefined, value: unknown): Promise<void> {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (!path || path === '-') {
    process.stdout.write(text);
    return;
  }
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(tmp, text, { flush: true });
  await rename(tmp, path);
}

export async function readJsonFile(path: string, maxBytes = 4 << 20): Promise<unknown> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new BinswarmError<FileErrorCode>('NOT_FOUND', `cannot read: ${e.code}`, { subject: path });
  });
  if (st.size > maxBytes) throw new BinswarmError<FileErrorCode>('BAD_JSON', `file is larger than ${maxBytes} bytes`, { subject: path });
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw new BinswarmError<FileErrorCode>('BAD_JSON', 'not valid JSON', { subject: path });
  }
}

export async function readEnvelopeFile(path: string): Promise<Envelope> {
  return parseEnvelope(await readJsonFile(path), path);
}

/** Files given on the command line; directories contribute their *.json files. */
export async function expandJsonFiles(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st) throw new BinswarmError<FileErrorCode>('NOT_FOUND', 'no such file or directory', { subject: p });
    if (st.isDirectory()) {
      for (const name of (await readdir(p)).sort()) if (name.endsWith('.json')) out.push(join(p, name));
    } else out.push(p);
  }
  return out;
}
