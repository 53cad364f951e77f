/**
 * The one rule for entries of a package image: which tar entries may be
 * read, digested and extracted at all. Every path that reads an image —
 * inspect, publish, the gateway (all via image-tar.ts) and extraction
 * (extract.ts) — checks each entry here, in archive order, so a package is
 * never attested, listed or installed when an extractor (ours, Portage's
 * Python tarfile, GNU tar) could write outside the image root with it.
 *
 * Refused (HOSTILE_ENTRY, naming the entry and the rule):
 *   outside-image       an entry not under `image/` (gpkg layout)
 *   absolute            an absolute name
 *   dot-dot             a `..` component (refused even when it would stay inside)
 *   bad-name            NUL (no path can hold it), bytes that were not valid
 *                       UTF-8 (decoded lossily, two different names would
 *                       digest alike yet install differently), an empty
 *                       symlink target (no filesystem can create it)
 *   root-not-directory  `image/` itself as a symlink, file, … (everything
 *                       below it would be written wherever it points)
 *   parent-not-directory an entry below an earlier symlink, file or link
 *                       (an extractor would write through the symlink)
 *   duplicate           a second entry for one path (it would replace the
 *                       first after a hard link or parent check was passed)
 *   hardlink-target     a hard link whose target is outside the image or not
 *                       an earlier regular file of the image
 *   device              character/block devices and FIFOs: a device node is a
 *                       window onto the host's hardware, outside any root
 *   hidden-content      a directory, link or device with a non-zero size:
 *                       tar-stream skips that many bytes as its content,
 *                       Python's tarfile (Portage) reads them as further
 *                       entries — entries nobody checked
 *   unsupported-type    anything else (sparse, volume labels, unknown flags)
 *
 * Symlinks may point anywhere, absolute targets included: a symlink is
 * created as a link, never followed while extracting (writing through one
 * is `parent-not-directory`), and once installed an absolute target such as
 * `/usr/lib/libfoo.so.1` resolves inside the root the package is merged
 * into. Packages are full of them; refusing them would refuse real packages.
 */
import { BinswarmError } from '../errors.js';
import type { ImageEntryType } from './digests.js';

export type ImageEntryErrorCode = 'HOSTILE_ENTRY';

export type HostileRule =
  | 'outside-image'
  | 'absolute'
  | 'dot-dot'
  | 'bad-name'
  | 'root-not-directory'
  | 'parent-not-directory'
  | 'duplicate'
  | 'hardlink-target'
  | 'device'
  | 'hidden-content'
  | 'unsupported-type';

/** A refused entry: `entry` is the name as stored, `rule` one of HostileRule. */
export class HostileEntryError extends BinswarmError<ImageEntryErrorCode> {
  constructor(
    readonly entry: string,
    readonly rule: HostileRule,
    readonly why: string,
    subject?: string,
  ) {
    // JSON quoting keeps the message on one line whatever bytes the name holds.
    super('HOSTILE_ENTRY', `image entry ${JSON.stringify(entry)} refused (rule ${rule}): ${why}`, { subject });
  }

  override withSubject(subject: string): HostileEntryError {
    return this.subject !== undefined ? this : new HostileEntryError(this.entry, this.rule, this.why, subject);
  }
}

/** What the rule needs of a tar header (tar-stream's names for types; null = unknown typeflag). */
export interface RawImageEntry {
  name: string;
  type: string | null | undefined;
  linkname?: string | null;
  size?: number;
}

export interface CheckedImageEntry {
  type: ImageEntryType;
  /** Relative to the image root, components joined by `/`; the root itself is `.`. */
  path: string;
  /** The same as components (empty for the root). */
  parts: string[];
  /** Hard links: the target's image-relative path (an earlier regular file). */
  target?: string;
}

const TYPES: Record<string, ImageEntryType> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'dir',
  symlink: 'symlink',
  link: 'hardlink',
  'character-device': 'chardev',
  'block-device': 'blockdev',
  fifo: 'fifo',
};

type Normalised = { parts: string[] } | { rule: HostileRule; why: string };

/**
 * Checks entries of one image in archive order (it remembers earlier ones).
 * `prefix` is the directory everything must be under (`image` in a gpkg),
 * or undefined when the tar holds the tree itself (XPAK's `./usr/...`).
 */
export class ImageEntryRule {
  /** Image-relative path → type of every entry accepted so far. */
  private readonly seen = new Map<string, ImageEntryType>();
  /** Directories that earlier entries were written into (explicit or not). */
  private readonly parents = new Set<string>();
  private readonly prefix: string[];

  constructor(
    prefix: string | undefined,
    private readonly subject?: string,
  ) {
    this.prefix = (prefix ?? '').split('/').filter((c) => c !== '' && c !== '.');
  }

  private refuse(entry: string, rule: HostileRule, why: string): never {
    throw new HostileEntryError(entry, rule, why, this.subject);
  }

  /** Name → components under the root, or the rule it breaks. */
  private normalise(name: string, what: string): Normalised {
    if (name.includes('\0')) return { rule: 'bad-name', why: `${what} holds a NUL byte` };
    if (name.includes('\uFFFD')) return { rule: 'bad-name', why: `${what} is not valid UTF-8` };
    if (name.startsWith('/')) return { rule: 'absolute', why: `${what} is absolute` };
    const parts = name.split('/').filter((c) => c !== '' && c !== '.');
    if (parts.includes('..')) return { rule: 'dot-dot', why: `${what} has a '..' component` };
    if (this.prefix.some((c, i) => parts[i] !== c)) return { rule: 'outside-image', why: `${what} is not under ${this.prefix.join('/')}/` };
    return { parts: parts.slice(this.prefix.length) };
  }

  check(e: RawImageEntry): CheckedImageEntry {
    const type = TYPES[e.type ?? ''];
    if (type === undefined) this.refuse(e.name, 'unsupported-type', `type ${e.type ?? 'unknown'} is not one an image may hold`);
    const n = this.normalise(e.name, 'the name');
    if ('rule' in n) this.refuse(e.name, n.rule, n.why);
    const parts = n.parts;
    const path = parts.length === 0 ? '.' : parts.join('/');
    if (type !== 'file' && (e.size ?? 0) > 0) this.refuse(e.name, 'hidden-content', `a ${type} with ${e.size} bytes of content, which extractors read differently`);
    if (type === 'chardev' || type === 'blockdev' || type === 'fifo') this.refuse(e.name, 'device', `${type === 'fifo' ? 'a FIFO' : 'a device node'} in a package`);
    if (parts.length === 0 && type !== 'dir') this.refuse(e.name, 'root-not-directory', `the image root is a ${type}, not a directory`);
    // Old archivers marked directories by a trailing '/' alone, and Python's tarfile still reads them so.
    if (type !== 'dir' && e.name.endsWith('/')) this.refuse(e.name, 'bad-name', `a ${type} whose name ends in '/', which names a directory`);
    if (this.seen.has(path)) this.refuse(e.name, 'duplicate', `an earlier entry already has the path ${JSON.stringify(path)}`);
    if (type !== 'dir' && this.parents.has(path)) this.refuse(e.name, 'duplicate', `earlier entries are inside ${JSON.stringify(path)}, so it is a directory`);
    let above = '';
    for (let i = 0; i < parts.length - 1; i++) {
      above = i === 0 ? parts[0]! : `${above}/${parts[i]}`;
      const t = this.seen.get(above);
      if (t !== undefined && t !== 'dir') this.refuse(e.name, 'parent-not-directory', `it would be written through the ${t} ${JSON.stringify(above)}`);
    }
    if (e.linkname?.includes('\0')) this.refuse(e.name, 'bad-name', 'the link target holds a NUL byte');
    if (e.linkname?.includes('\uFFFD')) this.refuse(e.name, 'bad-name', 'the link target is not valid UTF-8');
    if (type === 'symlink' && !e.linkname) this.refuse(e.name, 'bad-name', 'the symlink target is empty');
    let target: string | undefined;
    if (type === 'hardlink') {
      const linkname = e.linkname ?? '';
      const t0 = this.normalise(linkname, `the hard link target ${JSON.stringify(linkname)}`);
      if ('rule' in t0) this.refuse(e.name, 'hardlink-target', t0.why);
      target = t0.parts.join('/');
      const t = this.seen.get(target);
      if (t0.parts.length === 0 || (t !== 'file' && t !== 'hardlink')) {
        this.refuse(e.name, 'hardlink-target', `the hard link target ${JSON.stringify(linkname)} is not an earlier regular file of the image`);
      }
    }
    this.seen.set(path, type);
    above = '';
    for (let i = 0; i < parts.length - 1; i++) {
      above = i === 0 ? parts[0]! : `${above}/${parts[i]}`;
      this.parents.add(above);
    }
    return { type, path, parts, ...(target !== undefined ? { target } : {}) };
  }
}
