/**
 * Safe extraction of a tar (an image from someone else's package) into a
 * fresh directory. Every entry passes the same image entry rule as every
 * reader (image-entry.ts: paths stay under the root, nothing is written
 * through a symlink, hard links only to earlier files, no devices); the
 * filesystem checks below re-check the same on disk. Sizes, counts and the
 * compression ratio are bounded. Extraction
 * happens in a temp dir beside the target and is renamed into place only
 * on success, so a failure leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, link, lstat, mkdir, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BinswarmError } from '../errors.js';
import { decompressor, suffixFor } from './compression.js';
import { readGpkg } from './gpkg-read.js';
import { ImageEntryRule } from './image-entry.js';
import { strictTarEntries } from './tar-strict-entries.js';
import { asTypedStreamError, limitError, pipeEntry, tarEntries } from './tar.js';

export type ExtractErrorCode = 'LINK_ESCAPE' | 'TARGET_EXISTS' | 'BAD_ENTRY';

export interface ExtractOptions {
  /** Only entries under this prefix are extracted, with it removed (e.g. 'image/'). Others are HOSTILE_ENTRY. */
  stripPrefix?: string;
  /** Keep setuid/setgid bits (off by default: an unprivileged extraction has no use for them). */
  keepSetid?: boolean;
  maxTotalBytes?: number;
  maxEntries?: number;
  /** Highest extracted/compressed ratio, checked against `compressedBytes()` once past 64 MiB. */
  maxRatio?: number;
  compressedBytes?: () => number;
  signal?: AbortSignal;
}

export interface ExtractResult {
  entries: number;
  bytes: number;
}

function err(code: ExtractErrorCode, message: string, subject?: string) {
  return new BinswarmError<ExtractErrorCode>(code, message, { subject });
}

/** Create (or check) every parent of `parts` inside `root` as a real directory — never a symlink. */
async function ensureParents(root: string, parts: string[]): Promise<string> {
  let dir = root;
  for (const c of parts.slice(0, -1)) {
    dir = join(dir, c);
    const st = await lstat(dir).catch(() => undefined);
    if (st === undefined) await mkdir(dir, { mode: 0o755 });
    else if (st.isSymbolicLink()) throw err('LINK_ESCAPE', `'${parts.join('/')}' would be written through the symlink '${c}'`);
    else if (!st.isDirectory()) throw err('BAD_ENTRY', `'${parts.join('/')}': '${c}' is not a directory`);
  }
  return join(dir, parts[parts.length - 1]!);
}

async function removeExisting(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined) return;
  if (st.isDirectory()) throw err('BAD_ENTRY', `'${path}' already exists as a directory`);
  await rm(path);
}

export async function extractTar(source: Readable, target: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  if (await lstat(target).catch(() => undefined)) throw err('TARGET_EXISTS', 'target already exists', target);
  const tmp = join(dirname(target), `.${basename(target)}.partial-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp, { mode: 0o700 });
  const maxTotal = opts.maxTotalBytes ?? 64 * 1024 ** 3;
  const maxRatio = opts.maxRatio ?? 1000;
  const dirModes: [string, number][] = [];
  const result: ExtractResult = { entries: 0, bytes: 0 };
  const rule = new ImageEntryRule(opts.stripPrefix, target);
  try {
    // Framed as the reader that verified the package frames it (tar-strict.ts), checked by the same rule.
    for await (const { header, stream } of strictTarEntries(source, { maxEntries: opts.maxEntries ?? 1_000_000, maxTotalBytes: maxTotal }, target)) {
      const { type, parts, target: linkTo } = rule.check(header);
      result.entries++;
      let mode = (header.mode ?? 0o644) & 0o7777;
      if (!opts.keepSetid) mode &= ~0o6000;
      if (parts.length === 0) {
        dirModes.push([tmp, mode]);
        continue;
      }
      const dest = await ensureParents(tmp, parts);
      switch (type) {
        case 'dir': {
          const st = await lstat(dest).catch(() => undefined);
          if (st?.isSymbolicLink()) throw err('LINK_ESCAPE', `directory '${parts.join('/')}' would replace a symlink`);
          if (!st) await mkdir(dest, { mode: 0o755 });
          dirModes.push([dest, mode]);
          break;
        }
        case 'file': {
          await removeExisting(dest);
          let n = 0;
          const counter = new Transform({
            transform(chunk: Buffer, _e, cb) {
              n += chunk.length;
              result.bytes += chunk.length;
              if (result.bytes > maxTotal) return cb(limitError(`extraction exceeds ${maxTotal} bytes`, target));
              const compressed = opts.compressedBytes?.();
              if (compressed !== undefined && result.bytes > 64 * 1024 * 1024 && result.bytes > maxRatio * Math.max(1, compressed)) {
                return cb(limitError(`extraction expands more than ${maxRatio}:1 (decompression bomb?)`, target));
              }
              cb(null, chunk);
            },
          });
          // 'wx' = O_CREAT|O_EXCL: never follows or overwrites whatever might sit at dest.
          await pipeline(stream, counter, createWriteStream(dest, { flags: 'wx', mode: 0o600 }));
          if (n !== (header.size ?? 0)) throw err('BAD_ENTRY', `'${parts.join('/')}' is shorter than its header says`, target);
          await chmod(dest, mode);
          break;
        }
        case 'symlink':
          await removeExisting(dest);
          await symlink(header.linkname ?? '', dest);
          break;
        case 'hardlink': {
          // The rule made it an earlier regular file inside the root; check the disk agrees.
          const targetParts = linkTo!.split('/');
          let linkTarget = tmp;
          for (const c of targetParts) {
            linkTarget = join(linkTarget, c);
          }
          const st = await lstat(linkTarget).catch(() => undefined);
          // Only to a regular file we extracted ourselves: a link to anything else could reach outside.
          if (!st?.isFile()) throw err('LINK_ESCAPE', `hard link '${header.name}' → '${header.linkname}' does not point to an extracted file`);
          for (let i = 1; i < targetParts.length; i++) {
            const p = (await lstat(join(tmp, ...targetParts.slice(0, i))).catch(() => undefined));
            if (!p?.isDirectory()) throw err('LINK_ESCAPE', `hard link target '${header.linkname}' passes through a non-directory`);
          }
          await removeExisting(dest);
          await link(linkTarget, dest);
          break;
        }
        default:
          throw err('BAD_ENTRY', `'${header.name}' has unsupported type ${header.type}`, target);
      }
    }
    // Directory modes last, deepest first, so a read-only directory does not block its own contents.
    for (const [d, mode] of dirModes.reverse()) await chmod(d, mode);
    await rename(tmp, target);
    return result;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    // A filesystem refusal (EEXIST, ENOTDIR, …) is the archive's fault here: the temp dir is ours and fresh.
    const code = (e as NodeJS.ErrnoException)?.code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && code !== 'ENOSPC' && code !== 'EDQUOT' && code !== 'EACCES') {
      throw err('BAD_ENTRY', `the archive cannot be extracted: ${(e as Error).message}`, target);
    }
    throw asTypedStreamError(e, target);
  }
}

/**
 * Verify a .gpkg.tar completely, then extract its image (without the `image/`
 * prefix) into `target`. Callers own the file (it sits in their verified
 * blob store), so it cannot change between the two passes.
 */
export async function extractGpkgImage(gpkgPath: string, target: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const contents = await readGpkg(gpkgPath, { signal: opts.signal });
  const file = createReadStream(gpkgPath, { highWaterMark: 1 << 20, signal: opts.signal });
  for await (const { header, stream } of tarEntries(file, { maxEntries: 16 }, gpkgPath)) {
    if (header.name === `${contents.basename}/image.tar${suffixFor(contents.compression)}`) {
      let compressed = 0;
      stream.on('data', (c: Buffer) => (compressed += c.length));
      const dec = decompressor(contents.compression);
      pipeEntry(stream, dec, 'image member', gpkgPath);
      return await extractTar(dec, target, { stripPrefix: 'image/', compressedBytes: () => compressed, ...opts });
    }
  }
  throw err('BAD_ENTRY', 'image member vanished between verification and extraction', gpkgPath);
}
