/**
 * Copies a tiled log into a directory laid out as tlog-tiles, so any static
 * server (nginx, a bucket, a CDN origin) can serve it. The copy is checked
 * before the checkpoint is written: its entries must hash to the root of
 * the checkpoint being published, so a mirror never serves a log that does
 * not match its own checkpoint.
 */
import { mkdir, rename, writeFile, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseSignedCheckpoint } from './checkpoint.js';
import { followLog } from './follow.js';
import { TILE_HEIGHT, TILE_WIDTH, tilePath, tileWidth, TreeEdge, type TileRef } from './tiles.js';

export interface MirrorSource {
  checkpoint(): Promise<string>;
  tile(t: TileRef): Promise<Uint8Array>;
}

async function put(dir: string, rel: string, data: Uint8Array): Promise<void> {
  const path = join(dir, rel);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, data);
  await rename(`${path}.tmp`, path);
}

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(
    () => true,
    () => false,
  );
}

/** Every tile a checkpoint of `size` needs: hash tiles at each level, then entry bundles. */
export function tilesFor(size: number): TileRef[] {
  const out: TileRef[] = [];
  for (let level = 0; ; level++) {
    const nodes = Math.floor(size / 2 ** (TILE_HEIGHT * level));
    for (let n = 0; n * TILE_WIDTH < nodes; n++) out.push({ level, index: n, width: tileWidth(level, n, size) });
    if (nodes <= TILE_WIDTH) break;
  }
  for (let n = 0; n * TILE_WIDTH < size; n++) out.push({ level: 'entries', index: n, width: tileWidth(0, n, size) });
  return out;
}

/**
 * Copies what is missing (full tiles already there are immutable), checks
 * the entries against the checkpoint, then publishes the checkpoint.
 */
export async function mirrorTiles(src: MirrorSource, dir: string, progress?: (done: number, total: number) => void): Promise<{ size: number; fetched: number }> {
  const text = await src.checkpoint();
  const cp = parseSignedCheckpoint(text).checkpoint;
  const refs = tilesFor(cp.size);
  let fetched = 0;
  let done = 0;
  const get = async (ref: TileRef): Promise<Uint8Array> => {
    const rel = tilePath(ref);
    progress?.(++done, refs.length);
    if (ref.width === TILE_WIDTH && (await exists(join(dir, rel)))) return readFile(join(dir, rel));
    const data = await src.tile(ref);
    fetched += 1;
    await put(dir, rel, data);
    return data;
  };
  for (const ref of refs) if (ref.level !== 'entries') await get(ref);
  await followLog({ edge: TreeEdge.empty(), to: cp, fetchBundle: get, concurrency: 4 });
  await put(dir, 'checkpoint', Buffer.from(text));
  return { size: cp.size, fetched };
}
