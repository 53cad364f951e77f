/**
 * Reading the canonical listings that imageDigest and metadataDigest hash
 * (digests.ts writes them), and comparing the listings of outputs that should
 * have been identical: which image entries and which metadata files differ,
 * and in what — what a packager needs to make a build reproducible.
 */
import { BinswarmError } from '../errors.js';
import { IMAGE_TAG, METADATA_TAG } from './digests.js';

export type ListingErrorCode = 'BAD_LISTING';

export interface ListedEntry {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  target?: string;
  dev?: [number, number];
}

export interface ImageDifference {
  path: string;
  fields: string[];
  entries: Record<string, ListedEntry | null>;
}

export interface MetadataDifference {
  key: string;
  values: Record<string, { size: number; sha256: string } | null>;
}

const bad = (m: string) => new BinswarmError<ListingErrorCode>('BAD_LISTING', m);

function lines(text: string, tag: string, what: string): string[] {
  if (!text.startsWith(tag)) throw bad(`${what} listing does not start with '${tag.trim()}'`);
  const body = text.slice(tag.length);
  if (body !== '' && !body.endsWith('\n')) throw bad(`${what} listing does not end with a newline`);
  return body === '' ? [] : body.slice(0, -1).split('\n');
}

function parseLine(line: string, what: string, i: number): unknown[] {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw bad(`${what} listing line ${i + 1} is not JSON`);
  }
  if (!Array.isArray(v)) throw bad(`${what} listing line ${i + 1} is not an array`);
  return v;
}

/** Image listing → entries by path. */
export function parseImageListing(text: string): Map<string, ListedEntry> {
  const out = new Map<string, ListedEntry>();
  lines(text, IMAGE_TAG, 'image').forEach((line, i) => {
    const f = parseLine(line, 'image', i);
    const [type, path, mode, uid, gid, a, b] = f as [string, string, string, number, number, unknown, unknown];
    if (typeof type !== 'string' || typeof path !== 'string' || typeof mode !== 'string' || typeof uid !== 'number' || typeof gid !== 'number') throw bad(`image listing line ${i + 1} has the wrong shape`);
    const e: ListedEntry = { type, mode, uid, gid };
    if (type === 'file') Object.assign(e, { size: Number(a), sha256: String(b) });
    else if (type === 'symlink' || type === 'hardlink') e.target = String(a);
    else if (type === 'chardev' || type === 'blockdev') e.dev = [Number(a), Number(b)];
    if (out.has(path)) throw bad(`image listing names '${path}' twice`);
    out.set(path, e);
  });
  return out;
}

/** Metadata listing → size and sha256 by key. */
export function parseMetadataListing(text: string): Map<string, { size: number; sha256: string }> {
  const out = new Map<string, { size: number; sha256: string }>();
  lines(text, METADATA_TAG, 'metadata').forEach((line, i) => {
    const [key, size, sha256] = parseLine(line, 'metadata', i) as [unknown, unknown, unknown];
    if (typeof key !== 'string' || typeof size !== 'number' || typeof sha256 !== 'string') throw bad(`metadata listing line ${i + 1} has the wrong shape`);
    out.set(key, { size, sha256 });
  });
  return out;
}

const FIELDS = ['type', 'mode', 'uid', 'gid', 'size', 'sha256', 'target', 'dev'] as const;

/** A directory that has another name in each output (typically a build prefix: `tmp/portage-XXXX`). */
export interface RenamedDirectory {
  /** The directory as the first output names it; image differences below it use this name. */
  path: string;
  /** Per outputDigest: its name for the directory. */
  names: Record<string, string>;
}

const parentOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '.');

/**
 * When every output has exactly one directory of its own under a common
 * parent (a random build prefix), pair them up, so the comparison below them
 * shows what really differs instead of every path being "absent".
 */
function findRename(images: { d: string; m: Map<string, ListedEntry> }[]): { renamed: RenamedDirectory; roots: string[] } | undefined {
  if (images.length < 2) return undefined;
  const roots = images.map((x, i) => {
    const own = [...x.m.entries()].filter(([p, e]) => e.type === 'dir' && images.every((y, j) => j === i || !y.m.has(p)) && images.every((y) => y.m.has(parentOf(p))));
    return own.length === 1 ? own[0]![0] : undefined;
  });
  if (roots.some((r) => r === undefined) || new Set(roots.map((r) => parentOf(r!))).size !== 1) return undefined;
  return { renamed: { path: roots[0]!, names: Object.fromEntries(images.map((x, i) => [x.d, roots[i]!])) }, roots: roots as string[] };
}

/**
 * Differences between the listings of several outputs (keyed by outputDigest),
 * sorted by path/key; at most `limit` of each kind.
 */
export function diffListings(
  outputs: { outputDigest: string; image: string; metadata: string }[],
  limit = 1000,
): { renamed: RenamedDirectory[]; image: ImageDifference[]; metadata: MetadataDifference[]; truncated: boolean } {
  let images = outputs.map((o) => ({ d: o.outputDigest, m: parseImageListing(o.image) }));
  const rename = findRename(images);
  if (rename) {
    const to = rename.roots[0]!;
    images = images.map((x, i) => {
      const from = rename.roots[i]!;
      return { d: x.d, m: new Map([...x.m].map(([p, e]) => [p === from ? to : p.startsWith(`${from}/`) ? to + p.slice(from.length) : p, e])) };
    });
  }
  const metas = outputs.map((o) => ({ d: o.outputDigest, m: parseMetadataListing(o.metadata) }));
  const image: ImageDifference[] = [];
  const metadata: MetadataDifference[] = [];
  let truncated = false;
  const paths = [...new Set(images.flatMap((x) => [...x.m.keys()]))].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const path of paths) {
    const entries = images.map((x) => x.m.get(path) ?? null);
    const fields = entries.some((e) => e === null) ? ['presence'] : FIELDS.filter((f) => new Set(entries.map((e) => JSON.stringify(e![f]))).size > 1);
    if (fields.length === 0) continue;
    if (image.length >= limit) {
      truncated = true;
      break;
    }
    image.push({ path, fields, entries: Object.fromEntries(images.map((x, i) => [x.d, entries[i]!])) });
  }
  const keys = [...new Set(metas.flatMap((x) => [...x.m.keys()]))].sort();
  for (const key of keys) {
    const values = metas.map((x) => x.m.get(key) ?? null);
    if (new Set(values.map((v) => JSON.stringify(v))).size <= 1) continue;
    if (metadata.length >= limit) {
      truncated = true;
      break;
    }
    metadata.push({ key, values: Object.fromEntries(metas.map((x, i) => [x.d, values[i]!])) });
  }
  return { renamed: rename ? [rename.renamed] : [], image, metadata, truncated };
}
