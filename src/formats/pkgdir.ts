/**
 * Checks a PKGDIR (or any binhost directory) against its `Packages` index:
 * every listed file exists with the SIZE/MD5/SHA1 the index claims and reads
 * as a valid package; every package file on disk is listed.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { isBinswarmError } from '../errors.js';
import { inspectPackage, packageFormatOf, type PackageInfo } from './inspect.js';
import { packagePath, readPackagesIndexFile, type PackagesIndex } from './packages-index.js';

export interface PkgdirProblem {
  path?: string;
  cpv?: string;
  code: string;
  message: string;
}

export interface PkgdirReport {
  packages: PackageInfo[];
  problems: PkgdirProblem[];
  index: PackagesIndex | undefined;
}

async function packageFiles(dir: string, depth = 0): Promise<string[]> {
  if (depth > 4) return [];
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...(await packageFiles(p, depth + 1)));
    else if (d.isFile() && packageFormatOf(d.name)) out.push(p);
  }
  return out;
}

export async function checkPkgdir(dir: string, opts: { onProgress?: (done: number, total: number, path: string) => void; signal?: AbortSignal } = {}): Promise<PkgdirReport> {
  const root = resolve(dir);
  const problems: PkgdirProblem[] = [];
  const packages: PackageInfo[] = [];
  let index: PackagesIndex | undefined;
  try {
    index = await readPackagesIndexFile(join(root, 'Packages'));
  } catch (e) {
    problems.push({ path: 'Packages', code: isBinswarmError(e) ? e.code : 'MISSING_INDEX', message: isBinswarmError(e) ? e.message : 'no readable Packages index' });
  }
  const onDisk = new Set((await packageFiles(root)).map((p) => relative(root, p)));
  const listed = new Set<string>();
  const blocks = index?.packages ?? [];
  let done = 0;
  for (const block of blocks) {
    const cpv = block.get('CPV');
    const rel = packagePath(block);
    if (!cpv || !rel) {
      problems.push({ cpv, code: 'BAD_ENTRY', message: 'index entry without CPV' });
      continue;
    }
    const abs = resolve(root, rel);
    // PATH comes from the index, which may be hostile: never look outside the directory.
    if (!abs.startsWith(root + sep)) {
      problems.push({ cpv, path: rel, code: 'BAD_ENTRY', message: `PATH '${rel}' points outside the directory` });
      continue;
    }
    listed.add(relative(root, abs));
    opts.onProgress?.(++done, blocks.length, rel);
    const st = await stat(abs).catch(() => undefined);
    if (!st?.isFile()) {
      problems.push({ cpv, path: rel, code: 'MISSING_FILE', message: 'listed in Packages but the file is missing' });
      continue;
    }
    let info: PackageInfo;
    try {
      info = await inspectPackage(abs, { portageDigests: true, signal: opts.signal });
    } catch (e) {
      if (!isBinswarmError(e)) throw e;
      problems.push({ cpv, path: rel, code: e.code, message: e.message });
      continue;
    }
    packages.push(info);
    const expect: [string, string | number | undefined, string | undefined][] = [
      ['SIZE', info.archive.size, block.get('SIZE')],
      ['MD5', info.md5, block.get('MD5')],
      ['SHA1', info.sha1, block.get('SHA1')],
    ];
    for (const [key, actual, claimed] of expect) {
      if (claimed === undefined) problems.push({ cpv, path: rel, code: 'MISSING_DIGEST', message: `index entry has no ${key}` });
      else if (String(actual) !== claimed) problems.push({ cpv, path: rel, code: `${key}_MISMATCH`, message: `${key} is ${actual}, the index says ${claimed}` });
    }
    if (info.cpv !== cpv) problems.push({ cpv, path: rel, code: 'CPV_MISMATCH', message: `the file holds ${info.cpv}` });
    const buildId = block.get('BUILD_ID');
    if (buildId !== undefined && info.buildId !== undefined && String(info.buildId) !== buildId) {
      problems.push({ cpv, path: rel, code: 'BUILD_ID_MISMATCH', message: `the file has BUILD_ID ${info.buildId}, the index says ${buildId}` });
    }
  }
  for (const rel of onDisk) {
    if (!listed.has(rel)) problems.push({ path: rel, code: 'UNLISTED_FILE', message: 'package file is not in the Packages index' });
  }
  return { packages, problems, index };
}
