/**
 * The members of a gpkg, fed synchronously by the outer tar parser
 * (tar-strict.ts) from each chunk the reader reads: the gpkg rules on each
 * header, the Manifest digests of each member, and the decompressors of the
 * metadata and image members fed straight from the archive's buffers.
 *
 * Why push and not a stream per member: with tar-stream, every 1 MiB of the
 * image went file → extract → entry stream → pipe → decompressor → child
 * stdin, each hop a promise or 'drain' round trip with a small buffer, so
 * zstd was starved of input between chunks and the read ran mostly in
 * series (profiled: main thread and hash workers idle half the time, 1.5 s
 * wall for 1.6 s of CPU). Here a chunk is hashed, parsed and written to the
 * decompressor in one synchronous call; the reader awaits only when the
 * decompressor has more than WRITE_AHEAD bytes queued.
 */
import type { Duplex, Readable } from 'node:stream';
import { BinswarmError } from '../errors.js';
import { assertSupported, compressionFromName, decompressor, sniffCompression, type Compression } from './compression.js';
import { HashThreads, inlineHash } from './hash-thread.js';
import { digestImageTar, type ImageSummary } from './image-tar.js';
import { MANIFEST_HASHES, parseManifest, type Manifest } from './manifest.js';
import { limitError } from './tar.js';
import type { StrictTarHeader, TarSink } from './tar-strict.js';

export type GpkgErrorCode = 'NOT_GPKG' | 'BAD_MEMBER' | 'MISSING_MEMBER' | 'COMPRESSION_MISMATCH';

export function gpkgError(code: GpkgErrorCode, message: string, subject?: string): BinswarmError<GpkgErrorCode> {
  return new BinswarmError(code, message, { subject });
}

/** Compressed bytes queued in a decompressor's input before the reader waits. */
const WRITE_AHEAD = 8 << 20;
/** Members at least this big hash on the worker threads; smaller ones inline. */
export const THREAD_MIN_BYTES = 16 << 20;

export interface MemberLimits {
  maxMetadataBytes: number;
  maxImageBytes: number;
  maxRatio: number;
  ratioFloor: number;
}

/** Counts decompressed bytes; throws past an absolute limit or a suspicious ratio. */
export function limitCheck(max: number, ratio: number, floor: number, compressedSoFar: () => number, what: string, subject?: string): (bytes: number) => void {
  let n = 0;
  return (bytes) => {
    n += bytes;
    if (n > max) throw limitError(`${what} decompresses to more than ${max} bytes`, subject);
    if (n > floor && n > ratio * Math.max(1, compressedSoFar())) throw limitError(`${what} expands more than ${ratio}:1 (decompression bomb?)`, subject);
  };
}

/** What the reader does with one member's content. */
interface Member {
  feed(part: Uint8Array): void;
  end(): void;
}

export interface MemberHooks {
  /** Parses the decompressed metadata tar (its own limits apply). */
  readMetadata(source: Readable, compressedSoFar: () => number, name: string): Promise<Map<string, Buffer>>;
  image: { limits: Parameters<typeof digestImageTar>[1]; listing: boolean };
}

export class GpkgMembers implements TarSink {
  prefix: string | undefined;
  index = 0;
  manifest: Manifest | undefined;
  signed = false;
  metadata: Promise<Map<string, Buffer>> | undefined;
  image: Promise<ImageSummary> | undefined;
  compression: Compression | undefined;
  /** Manifest digests per member (not the Manifest itself). */
  readonly computed = new Map<string, Promise<{ size: number; digests: Record<string, string> }>>();
  /** Set when the reader should wait before pushing more (a decompressor's input is full). */
  wait: Promise<void> | undefined;
  /** The first failure of anything running beside the parser (decompression, image, metadata, workers). */
  failure: unknown;
  private readonly seen = new Set<string>();
  private readonly decompressors: Duplex[] = [];
  private current: Member | undefined;

  constructor(
    private readonly threads: HashThreads | undefined,
    private readonly forceThreads: boolean,
    private readonly limits: MemberLimits,
    private readonly hooks: MemberHooks,
    private readonly subject?: string,
  ) {}

  /** Remember a background promise's failure (and keep it from being unhandled). */
  private watch<T>(p: Promise<T>): Promise<T> {
    p.catch((e: unknown) => {
      this.failure ??= e;
    });
    return p;
  }

  entry(h: StrictTarHeader): void {
    const subject = this.subject;
    const name = h.name;
    if (name.startsWith('/')) throw gpkgError('BAD_MEMBER', `member '${name}' has an absolute path`, subject);
    const parts = name.split('/');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '' || parts[0] === '..' || parts[0] === '.') {
      throw gpkgError('BAD_MEMBER', `member '${name}' is not of the form <dir>/<name>`, subject);
    }
    const [dir, base] = parts as [string, string];
    if (this.prefix === undefined) this.prefix = dir;
    else if (dir !== this.prefix) throw gpkgError('BAD_MEMBER', `member '${name}' is outside the common directory '${this.prefix}/'`, subject);
    if (this.seen.has(base)) throw gpkgError('BAD_MEMBER', `member '${base}' appears twice (same name attack)`, subject);
    this.seen.add(base);
    if (h.type !== 'file') throw gpkgError('BAD_MEMBER', `member '${name}' is not a regular file`, subject);
    if (this.index === 0 && base !== 'gpkg-1') throw gpkgError('NOT_GPKG', `first member is '${base}', not the gpkg-1 format marker`, subject);
    if (this.manifest !== undefined) throw gpkgError('BAD_MEMBER', `member '${base}' follows the Manifest, which must be last`, subject);
    this.index++;

    if (base === 'Manifest') {
      this.current = this.collect(1 << 20, 'Manifest', (bytes) => {
        this.manifest = parseManifest(bytes, subject);
        this.signed ||= this.manifest.clearsigned;
      });
      return;
    }
    const digester = this.memberHash(this.forceThreads || h.size >= THREAD_MIN_BYTES);
    let member: Member;
    if (base === 'gpkg-1' || base.endsWith('.sig')) {
      if (base.endsWith('.sig')) this.signed = true;
      member = this.collect(1 << 20, base, () => undefined);
    } else if (/^metadata\.tar(\.[a-z0-9]+)?$/.test(base)) {
      if (this.metadata) throw gpkgError('BAD_MEMBER', 'two metadata members', subject);
      if (this.image) throw gpkgError('BAD_MEMBER', 'metadata member after the image member', subject);
      member = this.decompress(base, (dec, raw) => {
        this.metadata = this.watch(this.hooks.readMetadata(dec, raw, base));
      });
    } else if (/^image\.tar(\.[a-z0-9]+)?$/.test(base)) {
      if (this.image) throw gpkgError('BAD_MEMBER', 'two image members', subject);
      member = this.decompress(base, (dec, raw, compression) => {
        this.compression = compression;
        const l = this.limits;
        // Straight from the decompressor, limits checked per chunk: no stream stage in between.
        const check = limitCheck(l.maxImageBytes, l.maxRatio, l.ratioFloor, raw, base, subject);
        this.image = this.watch(digestImageTar(dec, this.hooks.image.limits, subject, 'gpkg', (c) => check(c.length), this.hooks.image.listing));
      });
    } else {
      throw gpkgError('BAD_MEMBER', `unexpected member '${base}'`, subject);
    }
    this.current = {
      feed: (part) => {
        digester.update(part);
        member.feed(part);
      },
      end: () => {
        member.end();
        const size = digester.size;
        this.computed.set(base, this.watch(digester.digest().then((digests) => ({ size, digests }))));
      },
    };
  }

  data(part: Uint8Array): void {
    this.current!.feed(part);
  }

  endEntry(): void {
    const m = this.current!;
    this.current = undefined;
    m.end();
  }

  /** Stop every decompressor (and its child process). */
  destroy(): void {
    for (const d of this.decompressors) d.destroy();
  }

  /** The Manifest's digests of one member, keyed by Manifest name (BLAKE2B, SHA512). */
  private memberHash(large: boolean): { update(c: Uint8Array): void; size: number; digest(): Promise<Record<string, string>> } {
    const names = Object.keys(MANIFEST_HASHES);
    const algs = names.map((n) => MANIFEST_HASHES[n]!);
    const h = this.threads && large ? this.threads.stream(algs) : inlineHash(algs);
    return {
      update: (c) => h.update(c),
      get size() {
        return h.size;
      },
      digest: async () => {
        const d = await h.digest();
        return Object.fromEntries(names.map((n) => [n, d[MANIFEST_HASHES[n]!]!]));
      },
    };
  }

  /** A small member kept whole (at most `max` bytes). Parts are views of the reader's buffers, which are never reused. */
  private collect(max: number, what: string, done: (bytes: Buffer) => void): Member {
    const parts: Uint8Array[] = [];
    let n = 0;
    return {
      feed: (part) => {
        n += part.length;
        if (n > max) throw limitError(`${what} is larger than ${max} bytes`, this.subject);
        parts.push(part);
      },
      end: () => done(Buffer.concat(parts)),
    };
  }

  /** A compressed member: its bytes go to the decompressor its name says, checking the magic bytes agree. */
  private decompress(name: string, start: (out: Duplex, compressedSoFar: () => number, c: Compression) => void): Member {
    const compression = compressionFromName(name);
    assertSupported(compression, this.subject);
    const dec = decompressor(compression);
    this.decompressors.push(dec);
    let raw = 0;
    start(dec, () => raw, compression);
    return {
      feed: (part) => {
        if (raw === 0) {
          const sniffed = sniffCompression(part);
          if (sniffed !== undefined && sniffed !== compression) throw gpkgError('COMPRESSION_MISMATCH', `${name} is named ${compression} but holds ${sniffed} data`, this.subject);
        }
        raw += part.length;
        if (dec.destroyed) return;
        dec.write(part);
        if (dec.writableLength > WRITE_AHEAD && !this.wait) {
          this.wait = new Promise<void>((resolve) => {
            const done = () => {
              dec.off('drain', done).off('close', done);
              resolve();
            };
            dec.on('drain', done).on('close', done);
          });
        }
      },
      end: () => {
        if (!dec.destroyed) dec.end();
      },
    };
  }
}
