/**
 * What builders must agree on (DESIGN.md "Words"):
 *   imageDigest    = sha256 of the canonical image tree listing;
 *   metadataDigest = sha256 of the canonical listing of the metadata files
 *                    that can install or execute anything;
 *   outputDigest   = sha256(imageDigest ‖ metadataDigest), the two raw
 *                    32-byte digests concatenated.
 * All three are lowercase hex. Nothing here depends on archive order,
 * mtimes or compression, so two archives of one tree digest the same.
 */
import { createHash } from 'node:crypto';
import { BinswarmError } from '../errors.js';
import type { BuildConfig } from './build-config.js';
import type { PackageMetadata } from './metadata.js';

export type DigestErrorCode = 'DUPLICATE_ENTRY' | 'BAD_ENTRY';

export const IMAGE_TAG = 'binswarm-image-v1\n';
export const METADATA_TAG = 'binswarm-metadata-v1\n';

/** Tar entry types as binswarm names them in the image listing. */
export type ImageEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'chardev' | 'blockdev' | 'fifo';

export interface ImageEntry {
  type: ImageEntryType;
  /** Path relative to `image/`, no leading or trailing slash; the root itself is `.`. */
  path: string;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Files: size and hex sha256 of the content. */
  size?: number;
  sha256?: string;
  /** Symlinks and hard links: the target as stored. */
  target?: string;
  /** Device nodes: major/minor. */
  dev?: [number, number];
}

/** Accumulates image entries in any order; the digest sorts them by path bytes. */
export class ImageDigester {
  private readonly entries = new Map<string, string>();

  add(e: ImageEntry, subject?: string): void {
    if (this.entries.has(e.path)) {
      // A second entry for one path would silently replace the first on
      // extraction: two archives could then digest alike yet install differently.
      throw new BinswarmError<DigestErrorCode>('DUPLICATE_ENTRY', `image has two entries for '${e.path}'`, { subject });
    }
    const fields: (string | number)[] = [e.type, e.path, (e.mode & 0o7777).toString(8).padStart(4, '0'), e.uid, e.gid];
    if (e.type === 'file') fields.push(e.size ?? 0, e.sha256 ?? '');
    if (e.type === 'symlink' || e.type === 'hardlink') fields.push(e.target ?? '');
    if (e.type === 'chardev' || e.type === 'blockdev') fields.push(...(e.dev ?? [0, 0]));
    // One JSON array per line: unambiguous for any byte in a path (spaces, newlines).
    this.entries.set(e.path, JSON.stringify(fields));
  }

  get count(): number {
    return this.entries.size;
  }

  private sortedKeys(): string[] {
    return [...this.entries.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  digest(): string {
    const h = createHash('sha256').update(IMAGE_TAG);
    for (const k of this.sortedKeys()) h.update(this.entries.get(k)!).update('\n');
    return h.digest('hex');
  }

  /** The canonical image listing: exactly the bytes digest() hashes (what explains a dispute). */
  listing(): string {
    return IMAGE_TAG + this.sortedKeys().map((k) => this.entries.get(k)! + '\n').join('');
  }
}

/**
 * Metadata files left out of metadataDigest, with the reason. Everything
 * else — the ebuild, the saved environment (its pkg_* functions run at
 * install time), SLOT, RDEPEND, … — is in. Add a key here only if it cannot
 * change what is installed or executed.
 */
export const METADATA_EXCLUDED: Readonly<Record<string, string>> = {
  BUILD_TIME: 'when the build ran; differs on every rebuild, never executed',
  BUILD_ID: 'assigned by the local PKGDIR (multi-instance counter), not by the build',
  SIZE: 'total image size, already covered by imageDigest',
  NEEDED: 'scanelf report derived from the image; present only if the builder had scanelf',
  'NEEDED.ELF.2': 'scanelf report derived from the image; present only if the builder had scanelf',
  PROVIDES: 'soname list derived from the image by scanelf; depends on the builder having scanelf',
  REQUIRES: 'soname list derived from the image by scanelf; depends on the builder having scanelf',
  FEATURES: "the builder's whole FEATURES; the output-affecting ones are in the build config",
  REPO_REVISIONS: 'git revision of the repository at build time; the ebuild itself is hashed',
  COUNTER: 'VDB merge counter (installed-package database only)',
  BINPKGMD5: 'VDB record of the binary package digest (installed-package database only)',
  CONTENTS: 'VDB file list (installed-package database only), derived from the image',
  'environment.bz2': 'replaced by its decompressed content (key "environment"), so the bzip2 implementation does not matter',
};

/**
 * metadataDigest over `files` (name → content). `environment.bz2` must be
 * passed decompressed as `environment`.
 */
export function metadataDigestOf(files: Map<string, Buffer>): string {
  return createHash('sha256').update(metadataListingOf(files)).digest('hex');
}

/**
 * The same digest from a listing of (name, size, sha256): what a gateway
 * checks before it believes metadata it did not read from an archive.
 */
export function metadataDigestOfListing(files: readonly { name: string; size: number; sha256: string }[]): string {
  const sorted = files.filter((f) => !(f.name in METADATA_EXCLUDED)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const h = createHash('sha256').update(METADATA_TAG);
  for (const f of sorted) h.update(JSON.stringify([f.name, f.size, f.sha256])).update('\n');
  return h.digest('hex');
}

/** The canonical metadata listing: exactly the bytes metadataDigestOf hashes. */
export function metadataListingOf(files: Map<string, Buffer>): string {
  const names = [...files.keys()].filter((k) => !(k in METADATA_EXCLUDED)).sort();
  let out = METADATA_TAG;
  for (const name of names) {
    const content = files.get(name)!;
    out += JSON.stringify([name, content.length, createHash('sha256').update(content).digest('hex')]) + '\n';
  }
  return out;
}

export function outputDigestOf(imageDigest: string, metadataDigest: string): string {
  return createHash('sha256').update(Buffer.from(imageDigest, 'hex')).update(Buffer.from(metadataDigest, 'hex')).digest('hex');
}

/**
 * FEATURES that change what a build produces. Everything else in FEATURES
 * (sandboxing, locking, logging, fetch behaviour) does not touch the output.
 */
export const OUTPUT_AFFECTING_FEATURES = [
  'binpkg-docompress',
  'binpkg-dostrip',
  'compressdebug',
  'dedupdebug',
  'installsources',
  'nodoc',
  'noinfo',
  'noman',
  'nostrip',
  'splitdebug',
  'strip',
] as const;

/** Gentoo profile arches; the one in USE is the build's arch (Portage puts ARCH into USE). */
const ARCHES = new Set(['alpha', 'amd64', 'arm', 'arm64', 'hppa', 'ia64', 'loong', 'm68k', 'mips', 'ppc', 'ppc64', 'riscv', 's390', 'sparc', 'x86']);

/**
 * `:=` dependencies as recorded at build time (`dev-libs/libgreet:0/1=` →
 * `dev-libs/libgreet:0/1`), from a USE-evaluated dependency string.
 */
export function depAbiFromDepend(...depends: string[]): string[] {
  const out = new Set<string>();
  const re = /^!{0,2}(?:[<>]=?|=|~)?([A-Za-z0-9_][A-Za-z0-9+_.-]*\/[A-Za-z0-9_][A-Za-z0-9+_-]*?)(?:-[0-9][^:[\s]*)?:([A-Za-z0-9_][A-Za-z0-9+_.-]*)\/([A-Za-z0-9_][A-Za-z0-9+_.-]*)=/;
  for (const dep of depends) {
    for (const tok of dep.split(/\s+/)) {
      const m = re.exec(tok);
      if (m) out.add(`${m[1]}:${m[2]}/${m[3]}`);
    }
  }
  return [...out].sort();
}

/**
 * Sonames a build links, from REQUIRES (`x86_64: libc.so.6 libfoo.so.1`, one
 * or more `category: sonames` groups): sorted, distinct, the multilib
 * category dropped — the same names PROVIDES/REQUIRES are compared by when
 * the coordinator plans ABI rebuilds (builder/job-loop.ts abiOf).
 */
export function linksFromRequires(requires: string): string[] {
  return [...new Set(requires.split(/\s+/).filter((w) => w !== '' && !w.endsWith(':')))].sort();
}

export function buildConfigOf(md: PackageMetadata): BuildConfig {
  const iuse = new Set(md.iuse);
  const features = new Set<string>(OUTPUT_AFFECTING_FEATURES);
  const links = linksFromRequires(md.requires);
  return {
    v: 1,
    cpv: md.cpv,
    repo: md.repository,
    ebuild: md.ebuild ? createHash('sha256').update(md.ebuild).digest('hex') : '',
    eclasses: [...new Set(md.inherited)].sort(),
    eapi: md.eapi,
    chost: md.chost,
    arch: md.use.find((f) => ARCHES.has(f)) ?? '',
    use: [...new Set(md.use.filter((f) => iuse.has(f)))].sort(),
    cflags: md.cflags,
    cxxflags: md.cxxflags,
    ldflags: md.ldflags,
    features: [...new Set(md.features.filter((f) => features.has(f)))].sort(),
    installMask: md.installMask,
    depAbi: depAbiFromDepend(md.rdepend, md.depend),
    // Only when there are some: a package without REQUIRES keeps its old buildKey.
    ...(links.length > 0 ? { links } : {}),
  };
}
