/**
 * Reads a `.gpkg.tar` in one streaming pass, enforcing the reader rules of
 * Portage's lib/portage/gpkg.py (marker, one common prefix, one `/` per
 * name, no duplicates, Manifest covering exactly the members present) and
 * computing every digest on the way. The image is never written to disk.
 * All three tars (container, metadata, image) are framed as Portage's
 * tarfile frames them (tar-strict.ts); each chunk read is pushed through
 * the members (gpkg-members.ts) in one synchronous call.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { BinswarmError } from '../errors.js';
import type { Compression } from './compression.js';
import { GpkgMembers, gpkgError, limitCheck, THREAD_MIN_BYTES, type GpkgErrorCode } from './gpkg-members.js';
import { HashThreads, inlineHash } from './hash-thread.js';
import { checkMember } from './manifest.js';
import { sharedReadStream } from './shared-read.js';
import { parseMetadata, type PackageMetadata } from './metadata.js';
import { tarError, type TarLimits } from './tar.js';
import { StrictTarParser } from './tar-strict.js';

export type { GpkgErrorCode };

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

async function readGpkgFrom(file: Readable, path: string, size: number, threads: HashThreads | undefined, opts: ReadOptions): Promise<GpkgContents> {
  const subject = path;
  const limits = { ...DEFAULT_GPKG_LIMITS, ...opts.limits };
  const archiveAlgs = opts.portageDigests ? ['sha256', 'md5', 'sha1'] : ['sha256'];
  const archiveHash = threads ? threads.stream(archiveAlgs) : inlineHash(archiveAlgs);
  const members = new GpkgMembers(threads, opts.threads === true, limits, {
    readMetadata(dec, compressedSoFar, name) {
      const limited = dec.pipe(byteLimiter(limits.maxMetadataBytes, limits.maxRatio, limits.ratioFloor, compressedSoFar, name, subject));
      dec.on('error', (e) => limited.destroy(e));
      limited.on('close', () => dec.destroy());
      return readMetadataTar(limited, limits.maxMetadataBytes, subject);
    },
    image: { limits: limits.image, listing: opts.listing === true },
  }, subject);
  // The container is framed as Portage's tarfile frames it, like the image (tar-strict.ts).
  const outer = new StrictTarParser(members, limits.outer, subject);
  try {
    // Every byte is hashed, including tar padding after the last member.
    for await (const chunk of file) {
      archiveHash.update(chunk as Buffer);
      outer.push(chunk as Buffer);
      threads?.flush();
      if (members.wait) {
        await members.wait;
        members.wait = undefined;
      }
      if (members.failure) throw members.failure;
    }
    outer.end();
    if (members.index === 0) throw gpkgError('NOT_GPKG', 'empty archive: no gpkg-1 format marker', subject);
    // What decompressed beside the parser fails first (a hostile image entry, corrupt data), as when it was read in line.
    const metadataFiles = await members.metadata;
    const image = await members.image;
    const { manifest, compression } = members;
    if (!manifest) throw gpkgError('MISSING_MEMBER', 'no Manifest member', subject);
    if (!metadataFiles) throw gpkgError('MISSING_MEMBER', 'no metadata member', subject);
    if (!image || !compression) throw gpkgError('MISSING_MEMBER', 'no image member', subject);
    for (const [name, c] of members.computed) {
      const { size: n, digests } = await c;
      checkMember(manifest, name, n, digests, subject);
    }
    for (const name of manifest.entries.keys()) {
      if (!members.computed.has(name)) throw new BinswarmError('MANIFEST_MISMATCH', `Manifest lists '${name}', which is not in the archive`, { subject });
    }
    const { sha256, md5, sha1 } = await archiveHash.digest();
    return {
      basename: members.prefix!,
      compression,
      signed: members.signed,
      metadata: parseMetadata(metadataFiles, subject),
      metadataFiles,
      imageDigest: image.imageDigest,
      ...(image.listing !== undefined ? { imageListing: image.listing } : {}),
      imageEntries: image.entries,
      imageBytes: image.bytes,
      archive: { sha256: sha256!, size, ...(md5 ? { md5, sha1 } : {}) },
    };
  } finally {
    members.destroy();
  }
}

/**
 * `metadata/KEY` files → Map(KEY → content). Framed by the strict parser,
 * like the container and the image: Portage reads this tar with tarfile too.
 */
async function readMetadataTar(source: Readable, max: number, subject?: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  let current: { key: string; parts: Uint8Array[] } | undefined;
  const parser = new StrictTarParser(
    {
      entry(h) {
        const name = h.name.replace(/^\.\//, '');
        if (h.type === 'directory' && (name === 'metadata' || name === 'metadata/')) return;
        const m = /^metadata\/([^/]+)$/.exec(name);
        if (!m || h.type !== 'file') throw gpkgError('BAD_MEMBER', `unexpected metadata entry '${name}'`, subject);
        if (files.has(m[1]!)) throw gpkgError('BAD_MEMBER', `metadata entry '${m[1]}' appears twice`, subject);
        current = { key: m[1]!, parts: [] };
      },
      // Views of the decompressor's chunks, which are never reused.
      data: (part) => current!.parts.push(part),
      endEntry() {
        if (current) files.set(current.key, Buffer.concat(current.parts));
        current = undefined;
      },
    },
    { maxEntries: 10_000, maxTotalBytes: max },
    subject,
  );
  try {
    for await (const chunk of source) parser.push(chunk as Buffer);
    parser.end();
  } catch (e) {
    throw tarError(e, subject);
  }
  return files;
}
