/**
 * The `Packages` index entry Portage writes for one binary package, built
 * from the package's own metadata (lib/portage/dbapi/bintree.py
 * `_pkgindex_keys` + `_pkgindex_entry`). A gateway lists what it serves with
 * these, so an entry must say exactly what the archive says — Portage picks
 * packages by USE, SLOT and dependencies from the index, not from the file.
 */
import type { PackageMetadata } from './metadata.js';

/**
 * Metadata files copied verbatim into the entry (Portage's `_pkgindex_keys`
 * minus derived ones). REPO_REVISIONS is left out: Portage writes it only for
 * the package added last (`_init_aux_keys`), and no reader needs it.
 */
const COPIED_KEYS = [
  'BDEPEND',
  'DEFINED_PHASES',
  'DEPEND',
  'EAPI',
  'IDEPEND',
  'IUSE',
  'KEYWORDS',
  'LICENSE',
  'PDEPEND',
  'PROPERTIES',
  'PROVIDES',
  'RDEPEND',
  'REQUIRES',
  'RESTRICT',
  'USE',
] as const;

/** Values the index header usually carries for every package; an entry repeats them only when it differs. */
const HEADER_DEFAULTS: Record<string, string> = { SLOT: '0' };

export interface EntryOptions {
  /** Path of the archive relative to the binhost root, e.g. `app-misc/hello/hello-1.0-3.gpkg.tar`. */
  path: string;
  size: number;
  /** Left out when undefined: Portage then checks SIZE only (a gateway has verified the sha256 before serving). */
  md5?: string;
  sha1?: string;
  /** Overrides the metadata BUILD_ID (the gateway assigns its own, monotone per CPV). */
  buildId?: number;
  /** Overrides BUILD_TIME (a rebuild must look newer to `--rebuilt-binaries`). */
  buildTime?: number;
  /** File mtime in seconds. */
  mtime?: number;
  /** Index header values; entry keys equal to them are left out (as Portage does for CHOST). */
  header?: Map<string, string>;
}

function text(md: PackageMetadata, key: string): string {
  const b = md.raw.get(key);
  if (b === undefined) return '';
  return b.toString('utf8').replace(/\n+$/, '').replace(/\n/g, ' ');
}

/** The entry as an ordered map: sorted keys, then MTIME and REPO (Portage's order). */
export function packagesEntryOf(md: PackageMetadata, opts: EntryOptions): Map<string, string> {
  const fields: Record<string, string> = {};
  for (const key of COPIED_KEYS) {
    const v = text(md, key);
    if (v !== '') fields[key] = v;
  }
  const buildTime = opts.buildTime ?? md.buildTime;
  if (buildTime !== undefined) fields.BUILD_TIME = String(buildTime);
  const buildId = opts.buildId ?? md.buildId;
  if (buildId !== undefined) fields.BUILD_ID = String(buildId);
  fields.CPV = md.cpv;
  const slot = md.subslot !== '' && md.subslot !== md.slot ? `${md.slot}/${md.subslot}` : md.slot;
  if (slot !== HEADER_DEFAULTS.SLOT) fields.SLOT = slot;
  if (md.chost !== '' && md.chost !== opts.header?.get('CHOST')) fields.CHOST = md.chost;
  if (opts.md5 !== undefined) fields.MD5 = opts.md5;
  if (opts.sha1 !== undefined) fields.SHA1 = opts.sha1;
  fields.SIZE = String(opts.size);
  fields.PATH = opts.path;

  const entry = new Map<string, string>();
  for (const key of Object.keys(fields).sort()) entry.set(key, fields[key]!);
  if (opts.mtime !== undefined) entry.set('MTIME', String(opts.mtime));
  if (md.repository !== '') entry.set('REPO', md.repository);
  return entry;
}
