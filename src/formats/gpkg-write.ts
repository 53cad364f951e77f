/**
 * Writes a `.gpkg.tar` laid out as Portage writes it (lib/portage/gpkg.py):
 * `<basename>/gpkg-1`, `metadata.tar.<x>`, `image.tar.<x>`, `Manifest`.
 * Deterministic: entries sorted by path bytes, fixed mtimes, single-threaded
 * compressors — the same tree and metadata always give the same bytes. The
 * image is streamed to a temp file, never held in memory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, open, readdir, readlink, rename, rm } from 'node:fs/promises';
import { basename as pathBasename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack, type Pack } from 'tar-stream';
import { BinswarmError } from '../errors.js';
import { compressor, suffixFor, type Compression } from './compression.js';
import { MANIFEST_HASHES } from './manifest.js';

export type GpkgWriteErrorCode = 'BAD_TREE';

export interface Owner {
  uid: number;
  gid: number;
  uname: string;
  gname: string;
}

export interface WriteGpkgOptions {
  /** Directory whose contents become `image/…`. */
  imageDir: string;
  /** Metadata files, e.g. { CATEGORY: 'app-misc\n', PF: 'hello-1.0\n', … }. */
  metadata: Record<string, string | Buffer>;
  /** Output path of the .gpkg.tar. */
  out: string;
  /** Member directory, e.g. `hello-1.0` (or `hello-1.0-1` for multi-instance). */
  basename: string;
  compression?: Exclude<Compression, 'none'>;
  /** Owner for every image entry (builders run unprivileged; Portage images are root-owned). Default root. */
  owner?: Owner | 'preserve';
  /** mtime of every entry, seconds. Default SOURCE_DATE_EPOCH or 0. */
  mtime?: number;
}

const ROOT: Owner = { uid: 0, gid: 0, uname: 'root', gname: 'root' };

function defaultMtime(): number {
  const s = Number(process.env.SOURCE_DATE_EPOCH);
  return Number.isInteger(s) && s >= 0 ? s : 0;
}

function finishPack(p: Pack): void {
  p.finalize();
}

function addEntry(p: Pack, header: Parameters<Pack['entry']>[0], body?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    p.entry(header, body ?? Buffer.alloc(0), (err?: Error | null) => (err ? reject(err) : resolve()));
  });
}

/** Walk `dir` depth-first, yielding paths relative to it sorted by bytes at every level. */
async function* walk(dir: string, rel = ''): AsyncGenerator<string> {
  const names = (await readdir(join(dir, rel))).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    const r = rel === '' ? name : `${rel}/${name}`;
    yield r;
    const st = await lstat(join(dir, r));
    if (st.isDirectory()) yield* walk(dir, r);
  }
}

/** Writes the inner image tar, compressed, to `tmp`. */
async function writeImageTar(imageDir: string, tmp: string, c: Compression, owner: Owner | 'preserve', mtime: number): Promise<void> {
  const p = pack();
  const done = pipeline(p, compressor(c), createWriteStream(tmp));
  const own = (st: { uid: number; gid: number }) => (owner === 'preserve' ? { uid: st.uid, gid: st.gid } : owner);
  const mtimeDate = new Date(mtime * 1000);
  const inodes = new Map<string, string>();
  const writing = (async () => {
    const rootSt = await lstat(imageDir);
    await addEntry(p, { name: 'image/', type: 'directory', mode: rootSt.mode & 0o7777, mtime: mtimeDate, ...own(rootSt) });
    for await (const rel of walk(imageDir)) {
      const abs = join(imageDir, rel);
      const st = await lstat(abs);
      const base = { name: `image/${rel}`, mode: st.mode & 0o7777, mtime: mtimeDate, ...own(st) };
      if (st.isDirectory()) await addEntry(p, { ...base, name: `${base.name}/`, type: 'directory' });
      else if (st.isSymbolicLink()) await addEntry(p, { ...base, type: 'symlink', linkname: await readlink(abs) });
      else if (st.isFile()) {
        const inode = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? inodes.get(inode) : undefined;
        if (first !== undefined) {
          await addEntry(p, { ...base, type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1) inodes.set(inode, base.name);
        await new Promise<void>((resolve, reject) => {
          const entry = p.entry({ ...base, type: 'file', size: st.size }, (err?: Error | null) => (err ? reject(err) : resolve()));
          pipeline(createReadStream(abs), entry as unknown as NodeJS.WritableStream).catch(reject);
        });
      } else {
        throw new BinswarmError<GpkgWriteErrorCode>('BAD_TREE', `unsupported file type (device, socket or FIFO) in image: ${rel}`, { subject: abs });
      }
    }
    finishPack(p);
  })();
  writing.catch((e) => p.destroy(e));
  await Promise.all([writing, done]);
}

async function compressBuffer(data: Buffer, c: Compression): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const comp = compressor(c);
  const collect = (async () => {
    for await (const chunk of comp) chunks.push(chunk as Buffer);
  })();
  comp.end(data);
  await collect;
  return Buffer.concat(chunks);
}

async function metadataTar(metadata: Record<string, string | Buffer>, mtime: number): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const collect = (async () => {
    for await (const chunk of p) chunks.push(chunk as Buffer);
  })();
  const mtimeDate = new Date(mtime * 1000);
  await addEntry(p, { name: 'metadata/', type: 'directory', mode: 0o755, mtime: mtimeDate, ...ROOT });
  const names = Object.keys(metadata).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    if (name.includes('/') || name === '' || name === '.' || name === '..') {
      throw new BinswarmError<GpkgWriteErrorCode>('BAD_TREE', `invalid metadata key '${name}'`);
    }
    const v = metadata[name]!;
    await addEntry(p, { name: `metadata/${name}`, type: 'file', mode: 0o644, mtime: mtimeDate, ...ROOT }, typeof v === 'string' ? Buffer.from(v) : v);
  }
  p.finalize();
  await collect;
  return Buffer.concat(chunks);
}

async function digestsOfFile(path: string): Promise<{ size: number; line: string[] }> {
  const hs = Object.entries(MANIFEST_HASHES)
    .filter(([n]) => n !== 'SHA256')
    .map(([n, alg]) => [n, createHash(alg)] as const);
  let size = 0;
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) {
    size += (c as Buffer).length;
    for (const [, h] of hs) h.update(c as Buffer);
  }
  return { size, line: hs.flatMap(([n, h]) => [n, h.digest('hex')]) };
}

function manifestLine(name: string, data: Buffer): string {
  const parts = Object.entries(MANIFEST_HASHES)
    .filter(([n]) => n !== 'SHA256')
    .flatMap(([n, alg]) => [n, createHash(alg).update(data).digest('hex')]);
  return ['DATA', name, data.length, ...parts].join(' ');
}

export interface WrittenGpkg {
  path: string;
  sha256: string;
  size: number;
}

export async function writeGpkg(opts: WriteGpkgOptions): Promise<WrittenGpkg> {
  const c = opts.compression ?? 'zstd';
  const mtime = opts.mtime ?? defaultMtime();
  const owner = opts.owner ?? ROOT;
  if (!/^[A-Za-z0-9_][A-Za-z0-9+_.-]*$/.test(opts.basename)) {
    throw new BinswarmError<GpkgWriteErrorCode>('BAD_TREE', `invalid package basename '${opts.basename}'`);
  }
  const suffix = suffixFor(c);
  const tag = randomBytes(6).toString('hex');
  const imageTmp = join(dirname(opts.out), `.${pathBasename(opts.out)}.${tag}.image`);
  const outTmp = join(dirname(opts.out), `.${pathBasename(opts.out)}.${tag}.tmp`);
  try {
    await writeImageTar(opts.imageDir, imageTmp, c, owner, mtime);
    const meta = await compressBuffer(await metadataTar(opts.metadata, mtime), c);
    const image = await digestsOfFile(imageTmp);
    const marker = Buffer.alloc(0);
    const manifest = Buffer.from(
      [manifestLine('gpkg-1', marker), manifestLine(`metadata.tar${suffix}`, meta), ['DATA', `image.tar${suffix}`, image.size, ...image.line].join(' ')].join('\n') + '\n',
    );
    const p = pack();
    const done = pipeline(p, createWriteStream(outTmp));
    const mtimeDate = new Date(mtime * 1000);
    const outer = { mode: 0o644, mtime: mtimeDate, ...ROOT };
    const dir = opts.basename;
    await addEntry(p, { ...outer, name: `${dir}/gpkg-1`, type: 'file' }, marker);
    await addEntry(p, { ...outer, name: `${dir}/metadata.tar${suffix}`, type: 'file' }, meta);
    await new Promise<void>((resolve, reject) => {
      const entry = p.entry({ ...outer, name: `${dir}/image.tar${suffix}`, type: 'file', size: image.size }, (err?: Error | null) => (err ? reject(err) : resolve()));
      pipeline(createReadStream(imageTmp), entry as unknown as NodeJS.WritableStream).catch(reject);
    });
    await addEntry(p, { ...outer, name: `${dir}/Manifest`, type: 'file' }, manifest);
    p.finalize();
    await done;
    const fh = await open(outTmp, 'r+');
    await fh.sync();
    await fh.close();
    await rename(outTmp, opts.out);
    const h = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(opts.out, { highWaterMark: 1 << 20 })) {
      h.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return { path: opts.out, sha256: h.digest('hex'), size };
  } finally {
    await rm(imageTmp, { force: true });
    await rm(outTmp, { force: true });
  }
}
