/**
 * Reads a `.gpkg.tar` in one streaming pass, enforcing the reader rules of
 * Portage's lib/portage/gpkg.py (marker, one common prefix, one `/` per
 * name, no duplicates, Manifest covering exactly the members present) and
 * computing every digest on the way. The image is never written to disk.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { BinswarmError } from '../errors.js';
import { assertSupported, compressionFromName, decompressor, sniffCompression, type Compression } from './compression.js';
import { digestImageTar } from './image-tar.js';
import { checkMember, MANIFEST_HASHES, parseManifest, type Manifest } from './manifest.js';
import { HashThreads, inlineHash } from './hash-thread.js';
import { sharedReadStream } from './shared-read.js';
import { parseMetadata, type PackageMetadata } from './metadata.js';
import { limitError, pipeEntry, readEntry, tarEntries, type TarLimits } from './tar.js';

export type GpkgErrorCode = 'NOT_GPKG' | 'BAD_MEMBER' | 'MISSING_MEMBER' | 'COMPRESSION_MISMATCH';

export interface GpkgLimits {
  /** Outer container: members and their sizes. */
  outer: Partial<TarLimits>;
  /** Decompressed image tar. */
  image: Partial<TarLimits>;
  /** Most decompressed metadata bytes. */
  maxMetadataBytes: number;
  /** Most decompressed image bytes. */
  maxImageBytes: number;
  /** Highest decompressed/compressed ratio tolerated once past `ratioFloor` bytes (decompression bombs). */
  maxRatio: number;
  ratioFloor: number;
}

export const DEFAULT_GPKG_LIMITS: GpkgLimits = {
  outer: { maxEntries: 16, maxNameLength: 512 },
  image: {},
  maxMetadataBytes: 64 * 1024 * 1024,
  maxImageBytes: 64 * 1024 ** 3,
  maxRatio: 1000,
  ratioFloor: 64 * 1024 * 1024,
};

export interface GpkgContents {
  /** The common member directory, e.g. `hello-1.0` or `hello-1.0-1`. */
  basename: string;
  compression: Compression;
  signed: boolean;
  metadata: PackageMetadata;
  metadataFiles: Map<string, Buffer>;
  imageDigest: string;
  /** The canonical image listing (with `listing`). */
  imageListing?: string;
  imageEntries: number;
  imageBytes: number;
  archive: { sha256: string; size: number; md5?: string; sha1?: string };
}

export interface ReadOptions {
  limits?: Partial<GpkgLimits>;
  /** Also compute MD5 and SHA1 of the archive (the digests a Packages index carries). */
  portageDigests?: boolean;
  /** Also return the canonical image listing (to explain a dispute). */
  listing?: boolean;
  signal?: AbortSignal;
  /** Use the worker threads whatever the size (tests: both paths must agree). Default: only for big archives. */
  threads?: boolean;
}

function gpkgError(code: GpkgErrorCode, message: string, subject?: string): BinswarmError<GpkgErrorCode> {
  return new BinswarmError(code, message, { subject });
}

/** Counts decompressed bytes; throws past an absolute limit or a suspicious ratio. */
function limitCheck(max: number, ratio: number, floor: number, compressedSoFar: () => number, what: string, subject?: string): (bytes: number) => void {
  let n = 0;
  return (bytes) => {
    n += bytes;
    if (n > max) throw limitError(`${what} decompresses to more than ${max} bytes`, subject);
    if (n > floor && n > ratio * Math.max(1, compressedSoFar())) throw limitError(`${what} expands more than ${ratio}:1 (decompression bomb?)`, subject);
  };
}

/** limitCheck as a Transform. */
function byteLimiter(max: number, ratio: number, floor: number, compressedSoFar: () => number, what: string, subject?: string): Transform {
  const check = limitCheck(max, ratio, floor, compressedSoFar, what, subject);
  return new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      try {
        check(chunk.length);
      } catch (e) {
        return cb(e as Error);
      }
      cb(null, chunk);
    },
  });
}

/** Pipe `member` through the decompressor its name says, checking the magic bytes agree. */
function decompressMember(member: Readable, name: string, subject: string | undefined, onRaw: (c: Buffer) => void): { out: Readable; compression: Compression; rawBytes: () => number } {
  const compression = compressionFromName(name);
  assertSupported(compression, subject);
  const dec = decompressor(compression);
  let raw = 0;
  let first = true;
  member.on('data', (c: Buffer) => {
    if (first) {
      first = false;
      const sniffed = sniffCompression(c);
      if (sniffed !== undefined && sniffed !== compression) {
        dec.destroy(gpkgError('COMPRESSION_MISMATCH', `${name} is named ${compression} but holds ${sniffed} data`, subject));
        return;
      }
    }
    raw += c.length;
    onRaw(c);
  });
  pipeEntry(member, dec, name, subject);
  return { out: dec, compression, rawBytes: () => raw };
}

export async function readGpkg(path: string, opts: ReadOptions = {}): Promise<GpkgContents> {
  const size = (await stat(path)).size;
  const threads = size >= THREAD_MIN_BYTES || opts.threads === true ? new HashThreads() : undefined;
  // With workers, the archive is read into shared buffers they hash without a copy.
  const file = threads ? sharedReadStream(path, { signal: opts.signal, throttle: () => threads.room() }) : createReadStream(path, { highWaterMark: 1 << 20, signal: opts.signal });
  try {
    return await readGpkgFrom(file, path, size, threads, opts);
  } finally {
    file.destroy();
    await threads?.close();
  }
}

/** Big archives hash their compressed side on worker threads (hash-thread.ts); small ones inline (a worker costs ~20 ms to start). */
const THREAD_MIN_BYTES = 16 << 20;

/** The Manifest's digests of one member, keyed by Manifest name (BLAKE2B, SHA512). */
function memberHash(thread: HashThreads | undefined, large: boolean): { update(c: Buffer): void; size: () => number; digest(): Promise<Record<string, string>> } {
  const names = Object.keys(MANIFEST_HASHES);
  const h = thread && large ? thread.stream(names.map((n) => MANIFEST_HASHES[n]!)) : inlineHash(names.map((n) => MANIFEST_HASHES[n]!));
  return {
    update: (c) => h.update(c),
    size: () => h.size,
    digest: async () => {
      const d = await h.digest();
      return Object.fromEntries(names.map((n) => [n, d[MANIFEST_HASHES[n]!]!]));
    },
  };
}

async function readGpkgFrom(file: Readable, path: string, size: number, thread: HashThreads | undefined, opts: ReadOptions): Promise<GpkgContents> {
  const subject = path;
  const limits = { ...DEFAULT_GPKG_LIMITS, ...opts.limits };
  const archiveAlgs = opts.portageDigests ? ['sha256', 'md5', 'sha1'] : ['sha256'];
  const archiveHash = thread ? thread.stream(archiveAlgs) : inlineHash(archiveAlgs);
  file.on('data', (c) => archiveHash.update(c as Buffer));

  const seen = new Set<string>();
  const computed = new Map<string, { size: number; digests: Record<string, string> }>();
  let prefix: string | undefined;
  let manifest: Manifest | undefined;
  let signed = false;
  let metadataFiles: Map<string, Buffer> | undefined;
  let image: Awaited<ReturnType<typeof digestImageTar>> | undefined;
  let compression: Compression | undefined;
  let index = 0;

  for await (const { header, stream } of tarEntries(file, limits.outer, subject)) {
    const name = header.name;
    if (name.startsWith('/')) throw gpkgError('BAD_MEMBER', `member '${name}' has an absolute path`, subject);
    const parts = name.split('/');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '' || parts[0] === '..' || parts[0] === '.') {
      throw gpkgError('BAD_MEMBER', `member '${name}' is not of the form <dir>/<name>`, subject);
    }
    const [dir, base] = parts as [string, string];
    if (prefix === undefined) prefix = dir;
    else if (dir !== prefix) throw gpkgError('BAD_MEMBER', `member '${name}' is outside the common directory '${prefix}/'`, subject);
    if (seen.has(base)) throw gpkgError('BAD_MEMBER', `member '${base}' appears twice (same name attack)`, subject);
    seen.add(base);
    if (header.type !== 'file') throw gpkgError('BAD_MEMBER', `member '${name}' is not a regular file`, subject);
    if (index === 0 && base !== 'gpkg-1') throw gpkgError('NOT_GPKG', `first member is '${base}', not the gpkg-1 format marker`, subject);
    if (manifest !== undefined) throw gpkgError('BAD_MEMBER', `member '${base}' follows the Manifest, which must be last`, subject);
    index++;

    const digester = memberHash(thread, opts.threads === true || (header.size !== undefined && header.size >= THREAD_MIN_BYTES));
    if (base === 'Manifest') {
      const bytes = await readEntry(stream, 1 << 20, 'Manifest', subject);
      manifest = parseManifest(bytes, subject);
      signed ||= manifest.clearsigned;
      continue;
    }
    if (base === 'gpkg-1' || base.endsWith('.sig')) {
      if (base.endsWith('.sig')) signed = true;
      const bytes = await readEntry(stream, 1 << 20, base, subject);
      digester.update(bytes);
    } else if (/^metadata\.tar(\.[a-z0-9]+)?$/.test(base)) {
      if (metadataFiles) throw gpkgError('BAD_MEMBER', 'two metadata members', subject);
      if (image) throw gpkgError('BAD_MEMBER', 'metadata member after the image member', subject);
      const m = decompressMember(stream, base, subject, (c) => digester.update(c));
      const limited = m.out.pipe(byteLimiter(limits.maxMetadataBytes, limits.maxRatio, limits.ratioFloor, m.rawBytes, base, subject));
      m.out.on('error', (e) => limited.destroy(e));
      limited.on('close', () => m.out.destroy());
      metadataFiles = await readMetadataTar(limited, limits.maxMetadataBytes, subject);
    } else if (/^image\.tar(\.[a-z0-9]+)?$/.test(base)) {
      if (image) throw gpkgError('BAD_MEMBER', 'two image members', subject);
      const m = decompressMember(stream, base, subject, (c) => digester.update(c));
      compression = m.compression;
      // Straight from the decompressor, limits checked per chunk: no stream stage in between.
      const check = limitCheck(limits.maxImageBytes, limits.maxRatio, limits.ratioFloor, m.rawBytes, base, subject);
      image = await digestImageTar(m.out, limits.image, subject, 'gpkg', (c) => check(c.length), opts.listing);
    } else {
      throw gpkgError('BAD_MEMBER', `unexpected member '${base}'`, subject);
    }
    computed.set(base, { size: digester.size(), digests: await digester.digest() });
  }

  // The digest must cover every byte, including tar padding after the last member.
  if (!file.readableEnded) await new Promise<void>((resolve, reject) => file.once('end', () => resolve()).once('error', reject));
  if (index === 0) throw gpkgError('NOT_GPKG', 'empty archive: no gpkg-1 format marker', subject);
  if (!manifest) throw gpkgError('MISSING_MEMBER', 'no Manifest member', subject);
  if (!metadataFiles) throw gpkgError('MISSING_MEMBER', 'no metadata member', subject);
  if (!image || !compression) throw gpkgError('MISSING_MEMBER', 'no image member', subject);
  for (const [name, c] of computed) checkMember(manifest, name, c.size, c.digests, subject);
  for (const name of manifest.entries.keys()) {
    if (!computed.has(name)) throw new BinswarmError('MANIFEST_MISMATCH', `Manifest lists '${name}', which is not in the archive`, { subject });
  }

  const { sha256, md5, sha1 } = await archiveHash.digest();
  return {
    basename: prefix!,
    compression,
    signed,
    metadata: parseMetadata(metadataFiles, subject),
    metadataFiles,
    imageDigest: image.imageDigest,
    ...(image.listing !== undefined ? { imageListing: image.listing } : {}),
    imageEntries: image.entries,
    imageBytes: image.bytes,
    archive: { sha256: sha256!, size, ...(md5 ? { md5, sha1 } : {}) },
  };
}

/** `metadata/KEY` files → Map(KEY → content). */
async function readMetadataTar(source: Readable, max: number, subject?: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  let total = 0;
  for await (const { header, stream } of tarEntries(source, { maxEntries: 10_000, maxTotalBytes: max }, subject)) {
    const name = header.name.replace(/^\.\//, '');
    if (header.type === 'directory' && (name === 'metadata' || name === 'metadata/')) continue;
    const m = /^metadata\/([^/]+)$/.exec(name);
    if (!m || header.type !== 'file') throw gpkgError('BAD_MEMBER', `unexpected metadata entry '${name}'`, subject);
    if (files.has(m[1]!)) throw gpkgError('BAD_MEMBER', `metadata entry '${m[1]}' appears twice`, subject);
    const content = await readEntry(stream, max - total, `metadata/${m[1]}`, subject);
    total += content.length;
    files.set(m[1]!, content);
  }
  return files;
}
