/**
 * Reads an image tar (`image/...` entries) into an ImageDigester without
 * touching the disk: file contents are hashed as they stream past. The tar
 * is framed as Portage's extractor frames it (tar-strict.ts) and every entry
 * passes the image entry rule (image-entry.ts) first.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ImageDigester, type ImageEntry } from './digests.js';
import { ImageEntryRule } from './image-entry.js';
import type { TarLimits } from './tar.js';
import { feedStrictParser, StrictTarParser } from './tar-strict.js';

export interface ImageSummary {
  imageDigest: string;
  entries: number;
  /** Sum of file sizes. */
  bytes: number;
  /** The canonical image listing (when asked for). */
  listing?: string;
}

/** gpkg images hold `image/...`; XPAK tarballs hold the tree itself (`./usr/...`). */
export type ImageLayout = 'gpkg' | 'xpak';

/**
 * `onChunk` sees each decompressed chunk first (byte limits); throwing from it stops the read with that error.
 * `wantListing` also returns the canonical listing the digest is computed over (to explain disputes).
 */
export async function digestImageTar(source: Readable, limits: Partial<TarLimits>, subject?: string, layout: ImageLayout = 'gpkg', onChunk?: (c: Buffer) => void, wantListing = false): Promise<ImageSummary> {
  const rule = new ImageEntryRule(layout === 'gpkg' ? 'image' : undefined, subject);
  const digester = new ImageDigester();
  let bytes = 0;
  let file: { base: Omit<ImageEntry, 'size' | 'sha256'>; hash: Hash; size: number } | undefined;
  // Synchronous from the source's 'data' events: the decompressor is read as fast as it writes (tar-strict.ts).
  const parser = new StrictTarParser(
    {
      entry(h) {
        const { type, path, target } = rule.check(h);
        const base = { type, path, mode: h.mode, uid: h.uid, gid: h.gid };
        if (type === 'file') file = { base, hash: createHash('sha256'), size: 0 };
        else if (type === 'symlink') digester.add({ ...base, target: h.linkname ?? '' }, subject);
        // Hard link targets are archive names; the digest holds them image-relative, like paths.
        else if (type === 'hardlink') digester.add({ ...base, target }, subject);
        else digester.add(base, subject);
      },
      data(chunk) {
        file!.hash.update(chunk);
        file!.size += chunk.length;
      },
      endEntry() {
        if (!file) return;
        bytes += file.size;
        digester.add({ ...file.base, size: file.size, sha256: file.hash.digest('hex') }, subject);
        file = undefined;
      },
    },
    limits,
    subject,
  );
  await new Promise<void>((resolve, reject) => {
    let done = false;
    const fail = (e: unknown) => {
      if (done) return;
      done = true;
      source.destroy();
      reject(e);
    };
    feedStrictParser(source, parser, {
      subject,
      stopped: () => done,
      fail,
      end: () => {
        done = true;
        resolve();
      },
      onChunk,
    });
  });
  return { imageDigest: digester.digest(), entries: digester.count, bytes, ...(wantListing ? { listing: digester.listing() } : {}) };
}
