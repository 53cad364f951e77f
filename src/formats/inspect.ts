/**
 * One call that reads a binary package (.gpkg.tar or .tbz2) and returns
 * everything the rest of binswarm needs: identity, build config and digests.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BinswarmError } from '../errors.js';
import { buildKeyOf, configKeyOf, type BuildConfig } from './build-config.js';
import { decompressor, type Compression } from './compression.js';
import { buildConfigOf, metadataDigestOf, metadataListingOf, outputDigestOf } from './digests.js';
import { DEFAULT_GPKG_LIMITS, readGpkg, type GpkgLimits } from './gpkg-read.js';
import { digestImageTar } from './image-tar.js';
import { parseMetadata, type PackageMetadata } from './metadata.js';
import { outputMetadataOf, type OutputMetadata } from './output-metadata.js';
import { asTypedStreamError, limitError } from './tar.js';
import { readXpak } from './xpak.js';

export type InspectErrorCode = 'UNKNOWN_PACKAGE_FORMAT';

export interface PackageInfo {
  path: string;
  format: 'gpkg' | 'xpak';
  cpv: string;
  category: string;
  pf: string;
  slot: string;
  subslot: string;
  buildId: number | undefined;
  eapi: string;
  chost: string;
  use: string[];
  iuse: string[];
  cflags: string;
  cxxflags: string;
  ldflags: string;
  compression: Compression;
  signed: boolean;
  archive: { sha256: string; size: number };
  /** Of the archive: the digests a Packages index carries (only with `portageDigests`). */
  md5?: string;
  sha1?: string;
  imageDigest: string;
  metadataDigest: string;
  outputDigest: string;
  buildKey: string;
  configKey: string;
  buildConfig: BuildConfig;
  metadata: PackageMetadata;
  /** What a gateway lists this output from without the archive (see output-metadata.ts). */
  outputMetadata: OutputMetadata;
  /** The canonical listings imageDigest and metadataDigest hash (with `listings`). */
  listings?: { image: string; metadata: string };
}

export interface InspectOptions {
  /** The format when the name does not say (content-addressed blobs have no extension). */
  format?: 'gpkg' | 'xpak';
  limits?: Partial<GpkgLimits>;
  /** Also compute the archive's MD5 and SHA1 (for Packages indexes; MD5 is slow). */
  portageDigests?: boolean;
  /** Also return the canonical image and metadata listings (uploaded by builders to explain disputes). */
  listings?: boolean;
  signal?: AbortSignal;
}

/** Decompress a small in-memory blob (e.g. environment.bz2) with a size cap. */
export async function decompressSmall(data: Buffer, c: Compression, max: number, what: string, subject?: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  await pipeline(Readable.from([data]), decompressor(c), async function (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      n += chunk.length;
      if (n > max) throw limitError(`${what} decompresses to more than ${max} bytes`, subject);
      chunks.push(chunk);
    }
  });
  return Buffer.concat(chunks);
}

/** Metadata files as hashed by metadataDigest: environment.bz2 replaced by its content. */
async function digestableMetadata(files: Map<string, Buffer>, subject: string): Promise<Map<string, Buffer>> {
  const out = new Map(files);
  const env = files.get('environment.bz2');
  if (env !== undefined) {
    out.delete('environment.bz2');
    out.set('environment', await decompressSmall(env, 'bzip2', 64 * 1024 * 1024, 'environment.bz2', subject));
  }
  return out;
}

async function fileDigests(path: string, signal?: AbortSignal): Promise<{ sha256: string; md5: string; sha1: string }> {
  const hashes = ['sha256', 'md5', 'sha1'].map((a) => createHash(a));
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20, signal })) {
    for (const h of hashes) h.update(c as Buffer);
  }
  const [sha256, md5, sha1] = hashes.map((h) => h.digest('hex')) as [string, string, string];
  return { sha256, md5, sha1 };
}

async function inspectXpak(path: string, opts: InspectOptions): Promise<Omit<PackageInfo, 'metadataDigest' | 'outputDigest' | 'buildKey' | 'configKey' | 'buildConfig' | 'outputMetadata' | 'listings'> & { files: Map<string, Buffer>; imageListing: string | undefined }> {
  const x = await readXpak(path);
  const metadata = parseMetadata(x.metadata, path);
  const limits = { ...DEFAULT_GPKG_LIMITS, ...opts.limits };
  const image = createReadStream(path, { start: x.imageOffset, end: x.imageOffset + x.imageLength - 1, highWaterMark: 1 << 20, signal: opts.signal });
  const dec = decompressor('bzip2');
  image.pipe(dec);
  image.on('error', (e) => dec.destroy(e));
  const summary = await digestImageTar(dec, limits.image, path, 'xpak', undefined, opts.listings);
  const { sha256, md5, sha1 } = await fileDigests(path, opts.signal);
  return {
    path,
    format: 'xpak',
    ...identity(metadata),
    compression: 'bzip2',
    signed: false,
    archive: { sha256, size: x.fileSize },
    md5,
    sha1,
    imageDigest: summary.imageDigest,
    imageListing: summary.listing,
    metadata,
    files: x.metadata,
  };
}

function identity(md: PackageMetadata) {
  return {
    cpv: md.cpv,
    category: md.category,
    pf: md.pf,
    slot: md.slot,
    subslot: md.subslot,
    buildId: md.buildId,
    eapi: md.eapi,
    chost: md.chost,
    use: md.use,
    iuse: md.iuse,
    cflags: md.cflags,
    cxxflags: md.cxxflags,
    ldflags: md.ldflags,
  };
}

export function packageFormatOf(path: string): 'gpkg' | 'xpak' | undefined {
  if (path.endsWith('.gpkg.tar')) return 'gpkg';
  if (path.endsWith('.tbz2') || path.endsWith('.xpak')) return 'xpak';
  return undefined;
}

export async function inspectPackage(path: string, opts: InspectOptions = {}): Promise<PackageInfo> {
  try {
    return await inspectUnchecked(path, opts);
  } catch (e) {
    throw asTypedStreamError(e, path);
  }
}

async function inspectUnchecked(path: string, opts: InspectOptions): Promise<PackageInfo> {
  const format = opts.format ?? packageFormatOf(path);
  if (!format) {
    throw new BinswarmError<InspectErrorCode>('UNKNOWN_PACKAGE_FORMAT', 'not a binary package (expected .gpkg.tar or .tbz2)', { subject: path });
  }
  let base: Awaited<ReturnType<typeof inspectXpak>>;
  if (format === 'gpkg') {
    const g = await readGpkg(path, { limits: opts.limits, portageDigests: opts.portageDigests, listing: opts.listings, signal: opts.signal });
    base = {
      path,
      format,
      ...identity(g.metadata),
      compression: g.compression,
      signed: g.signed,
      archive: { sha256: g.archive.sha256, size: g.archive.size },
      ...(g.archive.md5 ? { md5: g.archive.md5, sha1: g.archive.sha1 } : {}),
      imageDigest: g.imageDigest,
      imageListing: g.imageListing,
      metadata: g.metadata,
      files: g.metadataFiles,
    };
  } else {
    base = await inspectXpak(path, opts);
  }
  const { files, imageListing, ...rest } = base;
  const digestable = await digestableMetadata(files, path);
  const metadataDigest = metadataDigestOf(digestable);
  const buildConfig = buildConfigOf(base.metadata);
  return {
    ...rest,
    ...(opts.listings && imageListing !== undefined ? { listings: { image: imageListing, metadata: metadataListingOf(digestable) } } : {}),
    metadataDigest,
    outputDigest: outputDigestOf(base.imageDigest, metadataDigest),
    outputMetadata: outputMetadataOf(base.imageDigest, digestable),
    buildKey: buildKeyOf(buildConfig),
    configKey: configKeyOf(buildConfig),
    buildConfig,
  };
}
