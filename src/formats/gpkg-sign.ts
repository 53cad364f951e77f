/**
 * Signs a `.gpkg.tar` the way Portage does (lib/portage/gpkg.py,
 * `update_signature`): every data member keeps its exact bytes and gets a
 * detached armored signature `<member>.sig` right after it; the Manifest
 * lists every member (the `.sig`s too) and is clearsigned. `gpkg-1` is not
 * signed, as in Portage. Existing signatures are dropped and made anew.
 *
 * Only the container changes, so metadata, image, imageDigest and
 * outputDigest stay what was attested. signVerifiedGpkg proves it without
 * decompressing anything: the bytes signed hash to the verified archive's
 * sha256, every member copied hashes as it did when it was signed, and the
 * written file is read back against its own Manifest, as Portage will.
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
import { tarEntries, type TarLimits } from './tar.js';

export type GpkgSignErrorCode = 'SIGNED_COPY_DIFFERS' | 'BAD_MEMBER' | 'SIGNED_COPY_TOO_BIG';

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

function differs(why: string, subject: string): BinswarmError<GpkgSignErrorCode> {
  return new BinswarmError<GpkgSignErrorCode>('SIGNED_COPY_DIFFERS', why, { subject });
}

/** A file read once, its sha256 (and more) computed on the way. */
function hashedStream(path: string, algs: string[]): { stream: ReturnType<typeof createReadStream>; digests: () => string[] } {
  const hs = algs.map((a) => createHash(a));
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  stream.on('data', (c) => hs.forEach((h) => h.update(c as Buffer)));
  return { stream, digests: () => hs.map((h) => h.digest('hex')) };
}

/** Hashes of each member of a container as it streams by → its Manifest line. */
async function memberLine(name: string, stream: AsyncIterable<unknown>, tap?: (c: Buffer) => Promise<void> | void): Promise<string> {
  const hashes = HASHES.map(([n, alg]) => [n, createHash(alg)] as const);
  let size = 0;
  for await (const c of stream) {
    size += (c as Buffer).length;
    for (const [, h] of hashes) h.update(c as Buffer);
    await tap?.(c as Buffer);
  }
  return lineOf(name, size, hashes.map(([n, h]) => [n, h.digest('hex')]));
}

/** Pass 1: hash and sign each data member as it streams past; the sha256 of all the bytes read. */
async function readMembers(src: string, signer: GpkgSigner): Promise<{ prefix: string; members: Member[]; sha256: string }> {
  const members: Member[] = [];
  let prefix: string | undefined;
  const file = hashedStream(src, ['sha256']);
  for await (const { header, stream } of tarEntries(file.stream, OUTER_LIMITS, src)) {
    const [dir, base, ...rest] = header.name.split('/');
    if (!dir || !base || rest.length > 0 || (prefix !== undefined && dir !== prefix)) throw new BinswarmError<GpkgSignErrorCode>('BAD_MEMBER', `member '${header.name}' is not <dir>/<name>`, { subject: src });
    prefix = dir;
    if (base === 'Manifest' || base.endsWith('.sig')) continue; // made anew below
    const toGpg = new PassThrough({ highWaterMark: 1 << 20 });
    const signing = base === 'gpkg-1' ? undefined : signer.detachSign(toGpg);
    signing?.catch(() => undefined); // awaited below; a gpg that dies early also ends the wait for drain
    const line = await memberLine(base, stream, async (c) => {
      if (signing && !toGpg.write(c)) await Promise.race([new Promise((r) => toGpg.once('drain', r)), signing]);
    });
    toGpg.end();
    const sigBytes = signing ? await signing : undefined;
    members.push({ name: base, size: header.size ?? 0, mtime: header.mtime, line, sig: sigBytes && { bytes: sigBytes, line: digestBuffer(`${base}.sig`, sigBytes) } });
  }
  if (prefix === undefined || members[0]?.name !== 'gpkg-1') throw new BinswarmError<GpkgSignErrorCode>('BAD_MEMBER', 'not a gpkg: no gpkg-1 marker first', { subject: src });
  return { prefix, members, sha256: file.digests()[0]! };
}

/** Reads the written container back: every member exactly as its Manifest line says; its sha256, md5, sha1. */
async function checkWritten(out: string, expected: string[]): Promise<{ sha256: string; size: number; md5: string; sha1: string }> {
  const file = hashedStream(out, ['sha256', 'md5', 'sha1']);
  const got: string[] = [];
  let size = 0;
  file.stream.on('data', (c) => (size += (c as Buffer).length));
  for await (const { header, stream } of tarEntries(file.stream, OUTER_LIMITS, out)) {
    const base = header.name.split('/')[1]!;
    if (base === 'Manifest') for await (const _ of stream) void _;
    else got.push(await memberLine(base, stream));
  }
  if (got.join('\n') !== expected.join('\n')) throw differs('the written container does not hold the members signed', out);
  const [sha256, md5, sha1] = file.digests() as [string, string, string];
  return { sha256, size, md5, sha1 };
}

export interface SignedGpkg {
  sha256: string;
  size: number;
  md5: string;
  sha1: string;
  /** sha256 of the source bytes that were signed. */
  sourceSha256: string;
}

/**
 * How much a signed copy may grow over its source: two detached signatures
 * and the clearsigned Manifest (about 6 KiB with an RSA-4096 key). A gateway
 * pads every copy to source size + this, so the SIZE it lists before it has
 * the archive is the size it serves.
 */
export const SIGNED_COPY_SLACK = 16 * 1024;

/**
 * Writes `out`: the members of `src` with signatures and a clearsigned
 * Manifest. With `padTo`, zero bytes after the end-of-archive blocks make it
 * exactly that size (tar readers stop at the end-of-archive marker).
 * Returns the new archive's digests.
 */
export async function signGpkg(src: string, out: string, signer: GpkgSigner, opts: { padTo?: number } = {}): Promise<SignedGpkg> {
  const { prefix, members, sha256: sourceSha256 } = await readMembers(src, signer);
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
      // The bytes copied must be the bytes signed (the source could change between the passes).
      let copied: Promise<string> | undefined;
      await new Promise<void>((resolve, reject) => {
        const entry = p.entry({ ...outer, name: `${prefix}/${m.name}`, type: 'file', size: m.size, mtime: m.mtime }, (err?: Error | null) => (err ? reject(err) : resolve()));
        const tee = new PassThrough({ highWaterMark: 1 << 20 });
        copied = memberLine(m.name, tee);
        copied.catch(reject);
        pipeline(stream, tee, entry as unknown as NodeJS.WritableStream).catch(reject);
      });
      if ((await copied) !== m.line) throw differs(`${m.name} changed between signing and copying`, src);
      if (m.sig) await addEntry(p, { ...outer, name: `${prefix}/${m.name}.sig`, type: 'file', mtime: m.mtime }, m.sig.bytes);
    }
    await addEntry(p, { ...outer, name: `${prefix}/Manifest`, type: 'file', mtime: members[0]!.mtime }, manifest);
    p.finalize();
    await done;
    const fh = await open(tmp, 'r+');
    if (opts.padTo !== undefined) {
      const { size } = await fh.stat();
      if (size > opts.padTo || opts.padTo % 512 !== 0) {
        await fh.close();
        throw new BinswarmError<GpkgSignErrorCode>('SIGNED_COPY_TOO_BIG', `the signed copy is ${size} bytes, over the ${opts.padTo} listed for it (a signing key with very large signatures?)`, { subject: src });
      }
      await fh.truncate(opts.padTo);
    }
    await fh.sync();
    await fh.close();
    const written = await checkWritten(tmp, members.flatMap((m) => [m.line, ...(m.sig ? [m.sig.line] : [])]));
    await rename(tmp, out);
    return { ...written, sourceSha256 };
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Signs an archive binswarm already verified (`sha256` is what it verified):
 * the bytes signed must be those, so the copy holds the attested output.
 */
export async function signVerifiedGpkg(verified: { path: string; sha256: string }, out: string, signer: GpkgSigner, opts: { padTo?: number } = {}): Promise<SignedGpkg> {
  const signed = await signGpkg(verified.path, out, signer, opts);
  if (signed.sourceSha256 !== verified.sha256) {
    await rm(out, { force: true });
    throw differs('the archive changed since it was verified', verified.path);
  }
  return signed;
}
