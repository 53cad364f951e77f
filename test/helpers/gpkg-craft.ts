/** Builds gpkg archives member by member, so tests can craft broken and hostile ones. */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { pack } from 'tar-stream';

export interface Member {
  name: string;
  data: Buffer;
  type?: 'file' | 'directory' | 'symlink';
}

/** An uncompressed tar of the given entries, in the given order. */
export async function tarOf(entries: { name: string; data?: Buffer; type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device'; linkname?: string; mode?: number }[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const collect = (async () => {
    for await (const c of p) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      p.entry(
        { name: e.name, type: e.type ?? 'file', mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644), linkname: e.linkname, uid: 0, gid: 0, mtime: new Date(0) },
        e.data ?? Buffer.alloc(0),
        (err?: Error | null) => (err ? reject(err) : resolve()),
      ),
    );
  }
  p.finalize();
  await collect;
  return Buffer.concat(chunks);
}

export function compressWith(program: 'zstd' | 'xz' | 'bzip2' | 'gzip', data: Buffer, args: string[] = []): Buffer {
  return execFileSync(program, ['-c', ...args], { input: data, maxBuffer: 1 << 30 });
}

export function manifestLine(name: string, data: Buffer): string {
  const b = createHash('blake2b512').update(data).digest('hex');
  const s = createHash('sha512').update(data).digest('hex');
  return `DATA ${name} ${data.length} BLAKE2B ${b} SHA512 ${s}`;
}

export function manifestFor(members: Member[]): Buffer {
  return Buffer.from(members.map((m) => manifestLine(m.name.split('/').pop()!, m.data)).join('\n') + '\n');
}

/** A minimal valid package: metadata and image members (zstd) for `app-misc/demo-1.0`. */
export async function demoMembers(opts: { prefix?: string; imageMember?: Buffer; metadata?: Record<string, string> } = {}): Promise<Member[]> {
  const prefix = opts.prefix ?? 'demo-1.0';
  const md = opts.metadata ?? { CATEGORY: 'app-misc\n', PF: 'demo-1.0\n', SLOT: '0\n', EAPI: '8\n', USE: 'amd64\n', CHOST: 'x86_64-pc-linux-gnu\n' };
  const metaTar = await tarOf([{ name: 'metadata/', type: 'directory' }, ...Object.entries(md).map(([k, v]) => ({ name: `metadata/${k}`, data: Buffer.from(v) }))]);
  const imageTar = await tarOf([
      { name: 'image/', type: 'directory' },
      { name: 'image/usr/', type: 'directory' },
      { name: 'image/usr/share/', type: 'directory' },
      { name: 'image/usr/share/demo.txt', data: Buffer.from('demo\n') },
    ]);
  return [
    { name: `${prefix}/gpkg-1`, data: Buffer.alloc(0) },
    { name: `${prefix}/metadata.tar.zst`, data: compressWith('zstd', metaTar) },
    { name: `${prefix}/image.tar.zst`, data: opts.imageMember ?? compressWith('zstd', imageTar) },
  ];
}

/** Outer gpkg tar of `members` followed by a Manifest over them (unless `manifest` is given). */
export async function craftGpkg(members: Member[], manifest?: Buffer | null): Promise<Buffer> {
  const prefix = members[0]?.name.split('/')[0] ?? 'demo-1.0';
  const entries = members.map((m) => ({ name: m.name, data: m.data, type: m.type }));
  if (manifest !== null) entries.push({ name: `${prefix}/Manifest`, data: manifest ?? manifestFor(members), type: 'file' });
  return tarOf(entries);
}

/** One entry of a byte-exact tar: raw name bytes, any typeflag, optional PAX records before it. */
export interface RawEntry {
  name: Buffer | string;
  /** Typeflag character: '0' file, '1' hard link, '2' symlink, '3'/'4' devices, '5' dir, '6' fifo, anything else. */
  typeflag?: string;
  linkname?: Buffer | string;
  data?: Buffer;
  mode?: number;
  /** PAX extended header records (e.g. { path: Buffer }), written as a 'x' entry first. */
  pax?: Record<string, Buffer | string>;
}

function rawHeader(name: Buffer, typeflag: string, size: number, linkname: Buffer, mode: number): Buffer {
  const h = Buffer.alloc(512);
  name.copy(h, 0, 0, Math.min(100, name.length));
  const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  h.write(oct(mode, 8), 100, 'latin1');
  h.write(oct(0, 8), 108, 'latin1');
  h.write(oct(0, 8), 116, 'latin1');
  h.write(oct(size, 12), 124, 'latin1');
  h.write(oct(0, 12), 136, 'latin1');
  h.write(typeflag.slice(0, 1), 156, 'latin1');
  linkname.copy(h, 157, 0, Math.min(100, linkname.length));
  h.write('ustar\0' + '00', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return h;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/**
 * A tar written byte by byte, for what tar-stream's packer will not write:
 * NUL or invalid UTF-8 in names (via PAX), unknown typeflags, names that
 * are not normalised.
 */
export function rawTar(entries: RawEntry[]): Buffer {
  const out: Buffer[] = [];
  const buf = (x: Buffer | string | undefined) => (x === undefined ? Buffer.alloc(0) : Buffer.isBuffer(x) ? x : Buffer.from(x));
  for (const e of entries) {
    if (e.pax) {
      const body = Buffer.concat(Object.entries(e.pax).map(([k, v]) => paxRecord(k, buf(v))));
      out.push(rawHeader(Buffer.from('PaxHeader'), 'x', body.length, Buffer.alloc(0), 0o644), padded(body));
    }
    const data = e.data ?? Buffer.alloc(0);
    const typeflag = e.typeflag ?? '0';
    out.push(rawHeader(buf(e.name), typeflag, data.length, buf(e.linkname), e.mode ?? (typeflag === '5' ? 0o755 : 0o644)), padded(data));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

/** demoMembers() with `imageTar` (uncompressed) as its zstd image: everything else valid, Manifest included by craftGpkg. */
export async function withImage(imageTar: Buffer): Promise<Member[]> {
  return demoMembers({ imageMember: compressWith('zstd', imageTar) });
}
