/**
 * Portage's own signature check stays on: after the gateway has verified an
 * archive against the policy, it serves a copy signed with the local
 * OpenPGP key that `binswarm setup-portage` made and installed in
 * /etc/portage/gnupg. The copy is another blob in the gateway's store
 * (content-addressed, re-hashed before each serve like any other); which
 * copy belongs to which verified archive is remembered in
 * DIR/portage-signed.json so a restart keeps the same bytes (and the same
 * SIZE/MD5/SHA1 in Packages, which Portage caches).
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SIGNED_COPY_SLACK, signVerifiedGpkg, type GpkgSigner } from '../formats/gpkg-sign.js';
import { Gpg, type GpgOptions } from '../formats/openpgp.js';
import type { BlobStore } from '../transfer/blob-store.js';

/** The bytes the gateway serves for one verified archive. */
export interface ServedCopy {
  sha256: string;
  size: number;
  md5: string;
  sha1: string;
}

/** A verified archive, as the gateway hands it to the signing hook. */
export interface VerifiedArchive {
  path: string;
  sha256: string;
  /** Its attested size: the copy is padded to signedSizeOf(size). */
  size: number;
  outputDigest: string;
  buildKey: string;
}

export type SignForPortage = (archive: VerifiedArchive) => Promise<ServedCopy>;

/**
 * The size of the signed copy of an archive of `size` bytes, known before the
 * archive is fetched: the lazy gateway lists it as SIZE (Portage requires
 * SIZE and checks the downloaded file against it).
 */
export const signedSizeOf = (size: number): number => size + SIGNED_COPY_SLACK;

/** What the gateway needs of the signing: make the copy, and which copy an archive already has. */
export interface PortageSigner {
  sign: SignForPortage;
  copyOf(archiveSha256: string): ServedCopy | undefined;
}

/** Default keyring of a gateway: DATA/gnupg (made by setup-portage, or by the first start). */
export const gatewayGnupgHome = (dataDir: string): string => join(dataDir, 'gnupg');
export const GATEWAY_KEY_UID = 'binswarm gateway (signs what your policy accepted) <binswarm-gateway@localhost>';

export class PortageSigning implements PortageSigner {
  private copies: Record<string, ServedCopy> | undefined;
  private constructor(
    private readonly dataDir: string,
    private readonly store: BlobStore,
    private readonly signer: GpkgSigner & { close?(): Promise<void> },
  ) {}

  /** With the gpg keyring `gpg.home`, making its key when it has none and no key was named. */
  static async open(dataDir: string, store: BlobStore, gpg: GpgOptions): Promise<PortageSigning> {
    const g = new Gpg(gpg);
    if (!gpg.key) await g.ensureKey(GATEWAY_KEY_UID);
    await g.signingKey();
    const s = new PortageSigning(dataDir, store, g);
    await s.load();
    return s;
  }

  static async withSigner(dataDir: string, store: BlobStore, signer: GpkgSigner): Promise<PortageSigning> {
    const s = new PortageSigning(dataDir, store, signer);
    await s.load();
    return s;
  }

  /** The signed copy already made of an archive, if any (loaded at open). */
  copyOf(archiveSha256: string): ServedCopy | undefined {
    return this.copies?.[archiveSha256];
  }

  private file(): string {
    return join(this.dataDir, 'portage-signed.json');
  }

  private async load(): Promise<Record<string, ServedCopy>> {
    if (this.copies) return this.copies;
    try {
      this.copies = JSON.parse(await readFile(this.file(), 'utf8')) as Record<string, ServedCopy>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      this.copies = {};
    }
    return this.copies;
  }

  private async save(): Promise<void> {
    const tmp = `${this.file()}.${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, JSON.stringify(this.copies));
    await rename(tmp, this.file());
  }

  /** The hook the gateway calls once an archive is verified: the signed copy to serve in its place. */
  readonly sign: SignForPortage = async (archive) => {
    const copies = await this.load();
    const known = copies[archive.sha256];
    if (known && known.size === signedSizeOf(archive.size) && (await this.store.has(known.sha256))) return known;
    const tmp = join(this.store.dir, 'blobs', 'tmp', `${randomBytes(8).toString('hex')}.signed`);
    try {
      const copy = await signVerifiedGpkg({ path: archive.path, sha256: archive.sha256 }, tmp, this.signer, { padTo: signedSizeOf(archive.size) });
      await this.store.importFile(tmp, { expectedSha256: copy.sha256, expectedSize: copy.size });
      copies[archive.sha256] = copy;
      await this.save();
      return copy;
    } finally {
      await rm(tmp, { force: true });
    }
  };

  async close(): Promise<void> {
    await this.signer.close?.();
  }
}
