/**
 * The binhost `Packages` index (lib/portage/getbinpkg.py PackageIndex):
 * a header block, a blank line, then one `KEY: value` block per package
 * instance. Parsing keeps every key and its order so that parse → format is
 * byte-identical for what Portage writes.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { BinswarmError } from '../errors.js';

export type PackagesIndexErrorCode = 'BAD_INDEX';

export interface PackagesIndex {
  header: Map<string, string>;
  packages: Map<string, string>[];
}

/** Keys a package block takes from the header when it has none (Portage's inherited keys). */
export const INHERITED_KEYS = ['BASE_URI', 'CHOST', 'repository'] as const;

const MAX_LINE = 1 << 20;
const MAX_BLOCKS = 1_000_000;
const KEY_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function parsePackagesIndex(text: string, subject?: string): PackagesIndex {
  const lines = text.split('\n');
  const blocks: Map<string, string>[] = [];
  let current: Map<string, string> | undefined;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (line === '') {
      if (current === undefined) {
        // Portage stops reading at an empty block (two blank lines in a row, or the end).
        if (blocks.length > 0) break;
        continue;
      }
      blocks.push(current);
      current = undefined;
      if (blocks.length > MAX_BLOCKS) throw new BinswarmError<PackagesIndexErrorCode>('BAD_INDEX', `more than ${MAX_BLOCKS} blocks`, { subject });
      continue;
    }
    const bad = (why: string) => new BinswarmError<PackagesIndexErrorCode>('BAD_INDEX', `line ${n + 1}: ${why}`, { subject });
    if (line.length > MAX_LINE) throw bad('line too long');
    const colon = line.indexOf(':');
    if (colon <= 0) throw bad('expected "KEY: value"');
    const key = line.slice(0, colon);
    if (!KEY_RE.test(key)) throw bad(`invalid key '${key.slice(0, 40)}'`);
    const rest = line.slice(colon + 1);
    const value = rest.startsWith(' ') ? rest.slice(1) : rest;
    current ??= new Map();
    if (current.has(key)) throw bad(`key ${key} repeated in one block`);
    current.set(key, value);
  }
  if (current !== undefined) blocks.push(current);
  const [header, ...packages] = blocks;
  return { header: header ?? new Map(), packages };
}

export function formatPackagesIndex(index: PackagesIndex): string {
  const block = (m: Map<string, string>) => [...m].map(([k, v]) => `${k}: ${v}\n`).join('') + '\n';
  return block(index.header) + index.packages.map(block).join('');
}

/** A key's value for a package block, falling back to the header for inherited keys. */
export function effectiveField(block: Map<string, string>, header: Map<string, string>, key: string): string | undefined {
  const own = block.get(key);
  if (own !== undefined && own !== '') return own;
  if ((INHERITED_KEYS as readonly string[]).includes(key)) return header.get(key);
  return own;
}

/** The package file's path relative to the binhost root (Portage guesses `CPV.tbz2` without PATH). */
export function packagePath(block: Map<string, string>): string | undefined {
  const path = block.get('PATH');
  if (path) return path;
  const cpv = block.get('CPV');
  return cpv ? `${cpv}.tbz2` : undefined;
}

export async function readPackagesIndexFile(path: string): Promise<PackagesIndex> {
  let data = await readFile(path);
  if (data[0] === 0x1f && data[1] === 0x8b) {
    try {
      data = gunzipSync(data, { maxOutputLength: 512 * 1024 * 1024 });
    } catch (e) {
      throw new BinswarmError<PackagesIndexErrorCode>('BAD_INDEX', `not a readable gzip file: ${(e as Error).message}`, { subject: path, cause: e });
    }
  }
  return parsePackagesIndex(data.toString('utf8'), path);
}

async function writeAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, data, { flush: true });
  await rename(tmp, path);
}

/** Writes `Packages` and a deterministic `Packages.gz` (no name, no mtime) atomically. */
export async function writePackagesIndexFiles(dir: string, index: PackagesIndex): Promise<void> {
  const text = formatPackagesIndex(index);
  await writeAtomic(join(dir, 'Packages.gz'), gzipSync(text, { level: 9 }));
  await writeAtomic(join(dir, 'Packages'), text);
}
