/**
 * Legacy XPAK binary packages (`.tbz2`): a bzip2 tarball with the metadata
 * appended (lib/portage/xpak.py):
 *   [tar.bz2][XPAKPACK][index_len:u32be][data_len:u32be][index][data][XPAKSTOP][xpak_len:u32be][STOP]
 * Index entries: name_len:u32be name data_offset:u32be data_len:u32be.
 * Read from the end, with every length checked against the file.
 */
import { open } from 'node:fs/promises';
import { BinswarmError } from '../errors.js';

export type XpakErrorCode = 'BAD_XPAK' | 'TRUNCATED';

export interface XpakContents {
  metadata: Map<string, Buffer>;
  /** The tar.bz2 image occupies [0, imageLength) of the file. */
  imageOffset: number;
  imageLength: number;
  fileSize: number;
}

/** No real XPAK blob comes near this; it bounds what a hostile file makes us read. */
const MAX_XPAK_BYTES = 64 * 1024 * 1024;

export async function readXpak(path: string): Promise<XpakContents> {
  const bad = (why: string, code: XpakErrorCode = 'BAD_XPAK') => new BinswarmError<XpakErrorCode>(code, why, { subject: path });
  const fh = await open(path, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    if (fileSize < 16) throw bad('file too short to be an XPAK package', 'TRUNCATED');
    const tail = Buffer.alloc(8);
    await fh.read(tail, 0, 8, fileSize - 8);
    if (tail.subarray(4).toString('latin1') !== 'STOP') throw bad('no XPAK trailer (STOP) at the end of the file');
    const xpakLen = tail.readUInt32BE(0);
    // xpak_len counts from XPAKPACK through XPAKSTOP.
    if (xpakLen < 24 || xpakLen > MAX_XPAK_BYTES || xpakLen + 8 > fileSize) throw bad(`XPAK length ${xpakLen} does not fit the file`);
    const start = fileSize - 8 - xpakLen;
    const blob = Buffer.alloc(xpakLen);
    await fh.read(blob, 0, xpakLen, start);
    if (blob.subarray(0, 8).toString('latin1') !== 'XPAKPACK') throw bad('XPAK blob does not start with XPAKPACK');
    if (blob.subarray(xpakLen - 8).toString('latin1') !== 'XPAKSTOP') throw bad('XPAK blob does not end with XPAKSTOP');
    const indexLen = blob.readUInt32BE(8);
    const dataLen = blob.readUInt32BE(12);
    if (16 + indexLen + dataLen + 8 !== xpakLen) throw bad('XPAK index and data lengths do not add up');
    const index = blob.subarray(16, 16 + indexLen);
    const data = blob.subarray(16 + indexLen, 16 + indexLen + dataLen);
    const metadata = new Map<string, Buffer>();
    let p = 0;
    while (p < index.length) {
      if (p + 4 > index.length) throw bad('XPAK index entry is truncated');
      const nameLen = index.readUInt32BE(p);
      if (nameLen === 0 || nameLen > 4096 || p + 4 + nameLen + 8 > index.length) throw bad('XPAK index entry has a bad name length');
      const name = index.subarray(p + 4, p + 4 + nameLen).toString('utf8');
      const off = index.readUInt32BE(p + 4 + nameLen);
      const len = index.readUInt32BE(p + 8 + nameLen);
      if (off + len > data.length) throw bad(`XPAK entry '${name}' points past the data`);
      if (name.includes('/') || name === '.' || name === '..') throw bad(`XPAK entry has an unsafe name '${name}'`);
      if (metadata.has(name)) throw bad(`XPAK entry '${name}' appears twice`);
      metadata.set(name, Buffer.from(data.subarray(off, off + len)));
      p += 12 + nameLen;
    }
    return { metadata, imageOffset: 0, imageLength: start, fileSize };
  } finally {
    await fh.close();
  }
}

/** Builds an XPAK blob (tests and re-packing); the inverse of the reader above. */
export function encodeXpak(metadata: Map<string, Buffer>): Buffer {
  const names = [...metadata.keys()];
  const indexParts: Buffer[] = [];
  const dataParts: Buffer[] = [];
  let off = 0;
  for (const name of names) {
    const value = metadata.get(name)!;
    const n = Buffer.from(name, 'utf8');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(n.length);
    const tail = Buffer.alloc(8);
    tail.writeUInt32BE(off, 0);
    tail.writeUInt32BE(value.length, 4);
    indexParts.push(head, n, tail);
    dataParts.push(value);
    off += value.length;
  }
  const index = Buffer.concat(indexParts);
  const data = Buffer.concat(dataParts);
  const lens = Buffer.alloc(8);
  lens.writeUInt32BE(index.length, 0);
  lens.writeUInt32BE(data.length, 4);
  const body = Buffer.concat([Buffer.from('XPAKPACK', 'latin1'), lens, index, data, Buffer.from('XPAKSTOP', 'latin1')]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32BE(body.length, 0);
  trailer.write('STOP', 4, 'latin1');
  return Buffer.concat([body, trailer]);
}
