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
