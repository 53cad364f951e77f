/**
 * A push parser for image tars, written for two reasons (tar-stream still
 * reads the outer gpkg container and the small metadata tar):
 *
 *  - Speed. The image is the bulk of every package. tar-stream gives each
 *    entry its own stream and each chunk a promise round trip; while the
 *    main thread waits on those, the decompressor's 64 KiB pipe fills and
 *    zstd stalls, so decompression and hashing ran in series. This parser is
 *    fed each decompressed chunk synchronously and hands file content to the
 *    sink as subarrays of that chunk (no copy, no stream per entry).
 *
 *  - Agreement with what installs the package. Portage extracts images with
 *    Python's tarfile, which frames some archives differently from
 *    tar-stream: it stops at the first zero block or at a header it cannot
 *    parse, never skips "content" of a symlink, directory or device, applies
 *    PAX uid/gid and global PAX records, lets the first of two GNU long
 *    names win. Each such difference lets an archive install entries the
 *    digest never saw (or the reverse). Here every archive on which readers
 *    could disagree is refused: numbers must be well-formed octal (or
 *    base-256), the checksum exact, at most one name header per entry, no
 *    name-carrying global PAX records, nothing but zeros after the end
 *    marker. For every archive it accepts, entries, names, sizes and content
 *    are what tar-stream reported before (digests did not change), except
 *    that PAX uid/gid are applied as tarfile applies them.
 */
import type { Readable } from 'node:stream';
import { BinswarmError } from '../errors.js';
import { DEFAULT_TAR_LIMITS, limitError, tarError, type TarErrorCode, type TarLimits } from './tar.js';

/** One entry's header, in tar-stream's vocabulary (type null: a typeflag no image may hold). */
export interface StrictTarHeader {
  name: string;
  type: string | null;
  linkname: string | null;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  devmajor: number;
  devminor: number;
}

export interface TarSink {
  /** A header; for entries with content, data() follows, then endEntry(). Throwing stops the parse. */
  entry(h: StrictTarHeader): void;
  data(bytes: Uint8Array): void;
  endEntry(): void;
}

const TYPES: Record<number, string> = { 0: 'file', 1: 'link', 2: 'symlink', 3: 'character-device', 4: 'block-device', 5: 'directory', 6: 'fifo', 7: 'contiguous-file' };
/** Types whose size counts content blocks (tarfile: regular files, and types it does not know). */
const DATAFUL = new Set(['file', 'contiguous-file', null]);
const META_MAX = 1 << 20;
const X = 0x78; // 'x' PAX per-entry
const G = 0x67; // 'g' PAX global
const L = 0x4c; // 'L' GNU long name
const K = 0x4b; // 'K' GNU long link name

const utf8 = new TextDecoder('utf-8');

function bad(message: string, subject?: string): BinswarmError<TarErrorCode> {
  return new BinswarmError<TarErrorCode>('BAD_TAR', `not a valid tar stream: ${message}`, { subject });
}

/** A NUL-terminated string field (lossy UTF-8: the entry rule refuses U+FFFD). */
function str(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return utf8.decode(b.subarray(off, end));
}

export class StrictTarParser {
  private readonly lim: TarLimits;
  private readonly hdr = new Uint8Array(512);
  private hdrFill = 0;
  private mode: 'header' | 'data' | 'meta' | 'pad' | 'ended' = 'header';
  private remaining = 0;
  private pad = 0;
  private metaType = 0;
  private meta: Uint8Array[] = [];
  private longName: string | undefined;
  private longLink: string | undefined;
  private pax: Map<string, string> | undefined;
  private entries = 0;
  private total = 0;

  constructor(
    private readonly sink: TarSink,
    limits: Partial<TarLimits> = {},
    private readonly subject?: string,
  ) {
    this.lim = { ...DEFAULT_TAR_LIMITS, ...limits };
  }

  push(chunk: Uint8Array): void {
    let off = 0;
    const len = chunk.length;
    while (off < len) {
      if (this.mode === 'header') {
        let block: Uint8Array;
        if (this.hdrFill === 0 && len - off >= 512) {
          block = chunk.subarray(off, off + 512);
          off += 512;
        } else {
          const n = Math.min(512 - this.hdrFill, len - off);
          this.hdr.set(chunk.subarray(off, off + n), this.hdrFill);
          this.hdrFill += n;
          off += n;
          if (this.hdrFill < 512) return;
          this.hdrFill = 0;
          block = this.hdr;
        }
        this.header(block);
      } else if (this.mode === 'data' || this.mode === 'meta') {
        const n = Math.min(this.remaining, len - off);
        const part = chunk.subarray(off, off + n);
        off += n;
        this.remaining -= n;
        if (this.mode === 'data') this.sink.data(part);
        else this.meta.push(part.slice());
        if (this.remaining === 0) this.finishBody();
      } else if (this.mode === 'pad') {
        const n = Math.min(this.pad, len - off);
        off += n;
        this.pad -= n;
        if (this.pad === 0) this.mode = 'header';
      } else {
        for (; off < len; off++) {
          if (chunk[off] !== 0) throw bad('data after the end-of-archive zero block (extractors stop there: it would be digested but never installed)', this.subject);
        }
      }
    }
  }

  /** The input ended: anything but a header boundary is a truncation. */
  end(): void {
    if (this.mode === 'ended' || (this.mode === 'header' && this.hdrFill === 0 && this.meta.length === 0 && !this.pendingMeta())) return;
    throw new BinswarmError<TarErrorCode>('TRUNCATED', 'tar stream is truncated', { subject: this.subject });
  }

  private pendingMeta(): boolean {
    return this.longName !== undefined || this.longLink !== undefined || this.pax !== undefined;
  }

  /** A strict numeric field: spaces, octal digits, then only NULs/spaces; or base-256 (positive). */
  private num(b: Uint8Array, off: number, len: number, what: string): number {
    if (b[off]! & 0x80) {
      if (b[off] !== 0x80) throw bad(`negative or malformed base-256 ${what}`, this.subject);
      let v = 0;
      for (let i = off + 1; i < off + len; i++) v = v * 256 + b[i]!;
      if (!Number.isSafeInteger(v)) throw bad(`${what} too large`, this.subject);
      return v;
    }
    let i = off;
    const end = off + len;
    while (i < end && b[i] === 0x20) i++;
    let v = 0;
    let digits = 0;
    for (; i < end && b[i]! >= 0x30 && b[i]! <= 0x37; i++, digits++) v = v * 8 + (b[i]! - 0x30);
    for (; i < end; i++) if (b[i] !== 0 && b[i] !== 0x20) throw bad(`malformed ${what} field`, this.subject);
    return digits === 0 ? 0 : v;
  }

  private header(b: Uint8Array): void {
    let zero = true;
    for (let i = 0; i < 512; i++) {
      if (b[i] !== 0) {
        zero = false;
        break;
      }
    }
    if (zero) {
      if (this.pendingMeta()) throw bad('a long-name or PAX header is followed by the end of the archive', this.subject);
      this.mode = 'ended';
      return;
    }
    let sum = 8 * 0x20;
    for (let i = 0; i < 148; i++) sum += b[i]!;
    for (let i = 156; i < 512; i++) sum += b[i]!;
    if (sum !== this.num(b, 148, 8, 'checksum')) throw bad('header checksum mismatch (corrupt, or not a tar)', this.subject);
    const ustar = b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72;
    const magic6 = b[262];
    const gnu = ustar && magic6 === 0x20 && b[263] === 0x20 && b[264] === 0;
    if (!ustar || (magic6 !== 0 && !gnu)) throw bad('unknown tar header format', this.subject);
    const t = b[156]!;
    const size = this.num(b, 124, 12, 'size');
    const mode = this.num(b, 100, 8, 'mode');
    const uid = this.num(b, 108, 8, 'uid');
    const gid = this.num(b, 116, 8, 'gid');
    this.num(b, 136, 12, 'mtime');
    const devmajor = this.num(b, 329, 8, 'devmajor');
    const devminor = this.num(b, 337, 8, 'devminor');
    if (t === X || t === G || t === L || t === K) {
      if (size > META_MAX) throw limitError(`a ${String.fromCharCode(t)} header of ${size} bytes`, this.subject);
      this.metaType = t;
      this.remaining = size;
      this.pad = (512 - (size % 512)) % 512;
      this.mode = 'meta';
      if (size === 0) this.finishBody();
      return;
    }
    // GNU headers keep times where ustar keeps the name prefix; tarfile would still read one there.
    if (gnu && b[345] !== 0) throw bad('GNU header with data in the ustar prefix field (readers disagree on its name)', this.subject);
    let name = str(b, 0, 100);
    if (!gnu && b[345] !== 0) name = `${str(b, 345, 155)}/${name}`;
    let linkname: string | null = b[157] === 0 ? null : str(b, 157, 100);
    const type = TYPES[t === 0 ? 0 : t - 0x30] ?? null;
    const pax = this.pax;
    if (this.longName !== undefined) name = this.longName;
    if (this.longLink !== undefined) linkname = this.longLink;
    const h: StrictTarHeader = { name, type, linkname, mode, uid, gid, size, devmajor, devminor };
    if (pax) {
      if (pax.get('path') === '' || pax.get('linkpath') === '') throw bad('an empty PAX path (readers disagree on what it means)', this.subject);
      if (pax.has('path')) h.name = pax.get('path')!;
      if (pax.has('linkpath')) h.linkname = pax.get('linkpath')!;
      if (pax.has('size')) h.size = this.decimal(pax.get('size')!, 'size');
      if (pax.has('uid')) h.uid = this.decimal(pax.get('uid')!, 'uid');
      if (pax.has('gid')) h.gid = this.decimal(pax.get('gid')!, 'gid');
    }
    this.longName = this.longLink = this.pax = undefined;

    this.entries++;
    if (this.entries > this.lim.maxEntries) throw limitError(`more than ${this.lim.maxEntries} tar entries`, this.subject);
    if (h.name.length > this.lim.maxNameLength || (h.linkname?.length ?? 0) > this.lim.maxNameLength) throw limitError(`entry name longer than ${this.lim.maxNameLength} bytes`, this.subject);
    // tarfile reads content blocks only for regular files (and types it does not know).
    const content = DATAFUL.has(type) ? h.size : 0;
    if (content > this.lim.maxEntrySize) throw limitError(`entry ${h.name} is ${content} bytes, over the ${this.lim.maxEntrySize}-byte limit`, this.subject);
    this.total += content;
    if (this.total > this.lim.maxTotalBytes) throw limitError(`tar content exceeds ${this.lim.maxTotalBytes} bytes`, this.subject);
    this.sink.entry(h);
    this.remaining = content;
    this.pad = (512 - (content % 512)) % 512;
    this.mode = 'data';
    if (content === 0) this.finishBody();
  }

  private decimal(v: string, what: string): number {
    if (!/^\d{1,15}$/.test(v)) throw bad(`malformed PAX ${what} '${v.slice(0, 20)}'`, this.subject);
    return Number(v);
  }

  private finishBody(): void {
    if (this.mode === 'data') this.sink.endEntry();
    else {
      const data = Buffer.concat(this.meta);
      this.meta = [];
      this.applyMeta(data);
    }
    this.mode = this.pad > 0 ? 'pad' : 'header';
  }

  private applyMeta(data: Buffer): void {
    const t = this.metaType;
    if (t === L || t === K) {
      if ((t === L ? this.longName : this.longLink) !== undefined || this.pax?.has(t === L ? 'path' : 'linkpath')) throw bad('two long-name headers for one entry (readers disagree on which wins)', this.subject);
      const s = str(data, 0, data.length);
      if (t === L) this.longName = s;
      else this.longLink = s;
      return;
    }
    const records = new Map<string, string>();
    let pos = 0;
    while (pos < data.length) {
      let sp = pos;
      while (sp < data.length && data[sp]! >= 0x30 && data[sp]! <= 0x39) sp++;
      const len = Number(data.subarray(pos, sp).toString('latin1'));
      if (sp === pos || data[sp] !== 0x20 || !(len > sp - pos + 1) || pos + len > data.length || data[pos + len - 1] !== 0x0a) throw bad('malformed PAX record', this.subject);
      const rec = data.subarray(sp + 1, pos + len - 1);
      const eq = rec.indexOf(0x3d);
      if (eq <= 0) throw bad('malformed PAX record', this.subject);
      records.set(utf8.decode(rec.subarray(0, eq)), utf8.decode(rec.subarray(eq + 1)));
      pos += len;
    }
    const applied = ['path', 'linkpath', 'size', 'uid', 'gid'];
    for (const k of records.keys()) {
      if (k.startsWith('GNU.sparse')) throw bad('sparse files are not supported in images', this.subject);
      if (t === G && applied.includes(k)) throw bad(`a global PAX header sets '${k}' (readers apply it differently)`, this.subject);
    }
    if (t === G) return;
    if (this.pax !== undefined) throw bad('two PAX headers for one entry', this.subject);
    if ((records.has('path') && this.longName !== undefined) || (records.has('linkpath') && this.longLink !== undefined)) throw bad('both a GNU long name and a PAX name for one entry (readers disagree on which wins)', this.subject);
    this.pax = records;
  }
}

/**
 * Feeds `source` into `parser` from its 'data' events, synchronously, so a
 * decompressor is read as fast as it writes. The first error — the
 * parser's or the stream's (as a tar error naming `subject`) — goes to
 * `fail`; a clean end of both to `end`. Chunks after `stopped()` are
 * ignored; `onChunk` sees each chunk before the parser does.
 */
export function feedStrictParser(source: Readable, parser: StrictTarParser, o: { subject?: string; stopped: () => boolean; fail: (e: unknown) => void; end: () => void; onChunk?: (chunk: Buffer) => void }): void {
  source.on('data', (chunk: Buffer) => {
    if (o.stopped()) return;
    try {
      o.onChunk?.(chunk);
      parser.push(chunk);
    } catch (e) {
      o.fail(e);
    }
  });
  source.once('end', () => {
    try {
      parser.end();
    } catch (e) {
      return o.fail(e);
    }
    o.end();
  });
  source.once('error', (e) => o.fail(tarError(e, o.subject)));
}
