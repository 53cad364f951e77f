/**
 * Reads an image tar (`image/...` entries) into an ImageDigester without
 * touching the disk: file contents are hashed as they stream past. Every
 * entry passes the image entry rule (image-entry.ts) first.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ImageDigester } from './digests.js';
import { ImageEntryRule } from './image-entry.js';
import { tarEntries, type TarLimits } from './tar.js';

export interface ImageSummary {
  imageDigest: string;
  entries: number;
  /** Sum of file sizes. */
  bytes: number;
}

/** gpkg images hold `image/...`; XPAK tarballs hold the tree itself (`./usr/...`). */
export type ImageLayout = 'gpkg' | 'xpak';

export async function digestImageTar(source: Readable, limits: Partial<TarLimits>, subject?: string, layout: ImageLayout = 'gpkg'): Promise<ImageSummary> {
  const rule = new ImageEntryRule(layout === 'gpkg' ? 'image' : undefined, subject);
  const digester = new ImageDigester();
  let bytes = 0;
  for await (const { header, stream } of tarEntries(source, limits, subject)) {
    const { type, path, target } = rule.check(header);
    const base = { type, path, mode: header.mode ?? 0, uid: header.uid ?? 0, gid: header.gid ?? 0 };
    if (type === 'file') {
      const h = createHash('sha256');
      let size = 0;
      for await (const chunk of stream) {
        h.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      bytes += size;
      digester.add({ ...base, size, sha256: h.digest('hex') }, subject);
    } else if (type === 'symlink') {
      digester.add({ ...base, target: header.linkname ?? '' }, subject);
    } else if (type === 'hardlink') {
      // Hard link targets are archive names; the digest holds them image-relative, like paths.
      digester.add({ ...base, target }, subject);
    } else {
      digester.add(base, subject);
    }
  }
  return { imageDigest: digester.digest(), entries: digester.count, bytes };
}
