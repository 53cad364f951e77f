/**
 * The installed-package database (`ROOT/var/db/pkg/CAT/PF/`, FORMATS.md):
 * one directory per installed package, one file per metadata key. Read with
 * the same parser as gpkg metadata, so an installed package derives exactly
 * the build config (and configKey) the binary it came from carries.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BinswarmError, isBinswarmError } from '../errors.js';
import { buildKeyOf, configKeyOf, type BuildConfig } from './build-config.js';
import { buildConfigOf } from './digests.js';
import { parseMetadata } from './metadata.js';

export type VdbErrorCode = 'NO_VDB' | 'BAD_VDB_ENTRY';

/** Files a census never needs (large, or about the local install, not the build). */
const SKIP = new Set(['CONTENTS', 'environment.bz2', 'NEEDED', 'NEEDED.ELF.2', 'COUNTER', 'BINPKGMD5', 'REPO_REVISIONS']);
/** Per-file bound: metadata keys are small; the ebuild is the largest file read. */
const MAX_FILE = 4 * 1024 * 1024;

export interface InstalledPackage {
  cpv: string;
  slot: string;
  /** The package's directory. */
  dir: string;
  config: BuildConfig;
  configKey: string;
  buildKey: string;
}

export interface VdbReport {
  packages: InstalledPackage[];
  /** Entries that could not be read, with the reason (the rest still count). */
  problems: { dir: string; code: string; message: string }[];
}

async function readSmall(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (st.size > MAX_FILE) throw new BinswarmError<VdbErrorCode>('BAD_VDB_ENTRY', `${path} is larger than ${MAX_FILE} bytes`, { subject: path });
    const buf = Buffer.alloc(st.size);
    await fh.read(buf, 0, st.size, 0);
    return buf;
  } finally {
    await fh.close();
  }
}

/** One `CAT/PF` directory → its metadata files (regular files only; no symlinks followed). */
export async function readVdbEntry(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const d of await readdir(dir, { withFileTypes: true })) {
    if (!d.isFile() || SKIP.has(d.name)) continue;
    files.set(d.name, await readSmall(join(dir, d.name)));
  }
  return files;
}

export function vdbPath(root: string): string {
  return join(root, 'var', 'db', 'pkg');
}

/** A package database directory (`ROOT/var/db/pkg`), sorted by cpv. A missing database is an error; a broken entry is a problem. */
export async function readVdb(base: string): Promise<VdbReport> {
  const st = await stat(base).catch(() => undefined);
  if (!st?.isDirectory()) throw new BinswarmError<VdbErrorCode>('NO_VDB', `no installed-package database at ${base}`, { subject: base });
  const report: VdbReport = { packages: [], problems: [] };
  const categories = (await readdir(base, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort();
  for (const cat of categories) {
    const entries = (await readdir(join(base, cat), { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('-')).map((d) => d.name).sort();
    for (const pf of entries) {
      const dir = join(base, cat, pf);
      try {
        const md = parseMetadata(await readVdbEntry(dir), dir);
        if (md.category !== cat || md.pf !== pf) throw new BinswarmError<VdbErrorCode>('BAD_VDB_ENTRY', `directory ${cat}/${pf} records ${md.cpv}`, { subject: dir });
        const config = buildConfigOf(md);
        report.packages.push({ cpv: md.cpv, slot: md.subslot !== md.slot ? `${md.slot}/${md.subslot}` : md.slot, dir, config, configKey: configKeyOf(config), buildKey: buildKeyOf(config) });
      } catch (e) {
        if (!isBinswarmError(e) && (e as NodeJS.ErrnoException).code === undefined) throw e;
        report.problems.push({ dir, code: isBinswarmError(e) ? e.code : String((e as NodeJS.ErrnoException).code), message: (e as Error).message });
      }
    }
  }
  return report;
}
