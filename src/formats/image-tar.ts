/**
 * Reads an image tar (`image/...` entries) into an ImageDigester without
 * touching the disk: file contents are hashed as they stream past.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Header as Headers } from 'tar-stream';
import { BinswarmError } from '../errors.js';
import { ImageDigester, imageRelativePath, type ImageEntryType } from './digests.js';
import { tarEntries, type TarLimits } from './tar.js';

export type ImageTarErrorCode = 'BAD_IMAGE';

const TYPES: Partial<Record<NonNullable<Headers['type']>, ImageEntryType>> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'dir',
  symlink: 'symlink',
  link: 'hardlink',
  'character-device': 'chardev',
  'block-device': 'blockdev',
  fifo: 'fifo',
};

export interface ImageSummary {
  imageDigest: string;
  entries: number;
  /** Sum of file sizes. */
  bytes: number;
}

/** gpkg images hold `image/...`; XPAK tarballs hold the tree itself (`./usr/...`). */
export type ImageLayout = 'gpkg' | 'xpak';

function xpakRelativePath(name: string): string | undefined {
  const rel = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (rel.startsWith('/')) return undefined;
  return rel === '' || rel === '.' ? '.' : rel;
}

export async function digestImageTar(source: Readable, limits: Partial<TarLimits>, subject?: string, layout: ImageLayout = 'gpkg'): Promise<ImageSummary> {
  const relative = layout === 'gpkg' ? imageRelativePath : xpakRelativePath;
  const digester = new ImageDigester();
  let bytes = 0;
  for await (const { header, stream } of tarEntries(source, limits, subject)) {
    const type = TYPES[header.type ?? 'file'];
    const path = relative(header.name);
    if (type === undefined) {
      throw new BinswarmError<ImageTarErrorCode>('BAD_IMAGE', `image entry '${header.name}' has unsupported type ${header.type}`, { subject });
    }
    if (path === undefined) {
      throw new BinswarmError<ImageTarErrorCode>('BAD_IMAGE', `image entry '${header.name}' is outside the image root`, { subject });
    }
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
      // Hard link targets are archive names; make them image-relative like paths.
      digester.add({ ...base, target: relative(header.linkname ?? '') ?? header.linkname ?? '' }, subject);
    } else if (type === 'chardev' || type === 'blockdev') {
      digester.add({ ...base, dev: [header.devmajor ?? 0, header.devminor ?? 0] }, subject);
    } else {
      digester.add(base, subject);
    }
  }
  return { imageDigest: digester.digest(), entries: digester.count, bytes };
}
