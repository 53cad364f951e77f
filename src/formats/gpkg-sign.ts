/**
 * Signs a `.gpkg.tar` the way Portage does (lib/portage/gpkg.py,
 * `update_signature`): every data member keeps its exact bytes and gets a
 * detached armored signature `<member>.sig` right after it; the Manifest
 * lists every member (the `.sig`s too) and is clearsigned. `gpkg-1` is not
 * signed, as in Portage. Existing signatures are dropped and made anew.
 *
 * Only the container changes, so metadata, image, imageDigest and
 * outputDigest stay what was attested; the caller re-reads the result to
 * prove it (see signVerifiedGpkg).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename as pathBasename, dirname, join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack, type Pack } from 'tar-stream';
import { BinswarmError } from '../errors.js';
import { MANIFEST_HASHES } from './manifest.js';
import { inspectPackage, type PackageInfo } from './inspect.js';
import { tarEntries, type TarLimits } from './tar.js';

export type GpkgSignErrorCode = 'SIGNED_COPY_DIFFERS' | 'BAD_MEMBER';

/** What signing needs from an OpenPGP implementation (src/formats/openpgp.ts's Gpg has it). */
export interface GpkgSigner {
  detachSign(data: Readable): Promise<Buffer>;
  clearsign(text: Buffer): Promise<Buffer>;
}

const OUTER_LIMITS: Partial<TarLimits> = { maxEntries: 16, maxNameLength: 512 };
const HASHES = Object.entries(MANIFEST_HASHES).filter(([n]) => n !== 'SHA256');

interface Member {
  name: string;
  size: number;
  mtime: Date | undefined;
  line: string;
  sig?: { bytes: Buffer; line: string };
}

function lineOf(name: string, size: number, digests: [string, string][]): string {
  return ['DATA', name, size, ...digests.flat()].join(' ');
}

function digestBuffer(name: string, data: Buffer): string {
  return lineOf(name, data.length, HASHES.map(([n, alg]) => [n, createHash(alg).update(data).digest('hex')]));
}

function addEntry(p: Pack, header: Parameters<Pack['entry']>[0], body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => p.entry(header, body, (err?: Error | null) => (err ? reject(err) : resolve())));
}

/** Pass 1: hash and sign each data member as it streams past. */
async function readMembers(src: string, signer: GpkgSigner): Promise<{ prefix: string; members: Member[] }> {
  const members: Member[] = [];
  let prefix: string | undefined;
  for await (const { header, stream } of tarEntries(createReadStream(src, { highWaterMark: 1 << 20 }), OUTER_LIMITS, src)) {
    const [dir, base, ...rest] = header.name.split('/');
    if (!dir || !base || rest.length > 0 || (prefix !== undefined && dir !== prefix)) throw new BinswarmError<GpkgSignErrorCode>('BAD_MEMBER', `member '${header.name}' is not <dir>/<name>`, { subject: src });
    prefix = dir;
    if (base === 'Manifest' || base.endsWith('.sig')) continue; // made anew below
    const hashes = HASHES.map(([n, alg]) => [n, createHash(alg)] as const);
    let size = 0;
    const toGpg = new PassThrough({ highWaterMark: 1 << 20 });
    const signing = base === 'gpkg-1' ? undefined : signer.detachSign(toGpg);
    signing?.catch(() => undefined); // awaited below; a gpg that dies early also ends the wait for drain
    for await (const c of stream) {
      size += (c as Buffer).length;
      for (const [, h] of hashes) h.update(c as Buffer);
      if (signing && !toGpg.write(c)) await Promise.race([new Promise((r) => toGpg.once('drain', r)), signing]);
    }
    toGpg.end();
    const line = lineOf(base, size, hashes.map(([n, h]) => [n, h.digest('hex')]));
    const sigBytes = signing ? await signing : undefined;
    members.push({ name: base, size, mtime: header.mtime, line, sig: sigBytes && { bytes: sigBytes, line: digestBuffer(`${base}.sig`, sigBytes) } });
  }
  if (prefix === undefined || members[0]?.name !== 'gpkg-1') throw new BinswarmError<GpkgSignErrorCode>('BAD_MEMBER', 'not a gpkg: no gpkg-1 marker first', { subject: src });
  return { prefix, members };
}

/** Writes `out`: the members of `src` with signatures and a clearsigned Manifest. Returns the new archive's digests. */
export async function signGpkg(src: string, out: string, signer: GpkgSigner): Promise<{ sha256: string; size: number; md5: string; sha1: string }> {
  const { prefix, members } = await readMembers(src, signer);
  const manifestText = Buffer.from(members.flatMap((m) => [m.line, ...(m.sig ? [m.sig.line] : [])]).join('\n') + '\n');
  const manifest = await signer.clearsign(manifestText);
  const tmp = join(dirname(out), `.${pathBasename(out)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const p = pack();
    const done = pipeline(p, createWriteStream(tmp));
    const byName = new Map(members.map((m) => [m.name, m]));
    const outer = { mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root' };
    // Pass 2: copy each member's bytes unchanged, its signature right after it.
    for await (const { header, stream } of tarEntries(createReadStream(src, { highWaterMark: 1 << 20 }), OUTER_LIMITS, src)) {
      const m = byName.get(header.name.split('/')[1]!);
      if (!m) continue;
      await new Promise<void>((resolve, reject) => {
        const entry = p.entry({ ...outer, name: `${prefix}/${m.name}`, type: 'file', size: m.size, mtime: m.mtime }, (err?: Error | null) => (err ? reject(err) : resolve()));
        pipeline(stream, entry as unknown as NodeJS.WritableStream).catch(reject);
      });
      if (m.sig) await addEntry(p, { ...outer, name: `${prefix}/${m.name}.sig`, type: 'file', mtime: m.mtime }, m.sig.bytes);
    }
    await addEntry(p, { ...outer, name: `${prefix}/Manifest`, type: 'file', mtime: members[0]!.mtime }, manifest);
    p.finalize();
    await done;
    const fh = await open(tmp, 'r+');
    await fh.sync();
    await fh.close();
    await rename(tmp, out);
  } finally {
    await rm(tmp, { force: true });
  }
  const hs = ['sha256', 'md5', 'sha1'].map((a) => createHash(a));
  let size = 0;
  for await (const c of createReadStream(out, { highWaterMark: 1 << 20 })) {
    size += (c as Buffer).length;
    for (const h of hs) h.update(c as Buffer);
  }
  const [sha256, md5, sha1] = hs.map((h) => h.digest('hex')) as [string, string, string];
  return { sha256, size, md5, sha1 };
}

/**
 * Signs an archive binswarm already verified and proves the copy holds the
 * same output: it is read completely again (Manifest, digests) and its
 * outputDigest and buildKey must equal the verified original's.
 */
export async function signVerifiedGpkg(verified: Pick<PackageInfo, 'path' | 'outputDigest' | 'buildKey'>, out: string, signer: GpkgSigner): Promise<{ sha256: string; size: number; md5: string; sha1: string }> {
  const written = await signGpkg(verified.path, out, signer);
  const again = await inspectPackage(out, { format: 'gpkg' });
  if (!again.signed || again.outputDigest !== verified.outputDigest || again.buildKey !== verified.buildKey) {
    await rm(out, { force: true });
    throw new BinswarmError<GpkgSignErrorCode>('SIGNED_COPY_DIFFERS', 'the signed copy does not hold the verified output', { subject: verified.path });
  }
  return written;
}
