/**
 * Following a tiled log: from the right edge of the last verified tree,
 * fetch the entry bundles up to a new checkpoint's size, hash every leaf,
 * extend the edge and compare its root with the checkpoint's. A match proves
 * at once that every new entry is in the signed tree and that the new tree
 * extends the old one (the edge is the old tree), with no proof requests.
 * Entries are handed to the caller as they are checked in order; the caller
 * keeps them provisional until this returns. The bundle buffers fetchBundle
 * returns are consumed: their length prefixes are overwritten while hashing.
 */
import { BinswarmError } from '../errors.js';
import type { Checkpoint } from './checkpoint.js';
import { leafHashInPlace } from './merkle.js';
import { bundlesBetween, decodeBundle, TILE_WIDTH, TreeEdge, type TileRef } from './tiles.js';

export type FollowErrorCode = 'ROOT_MISMATCH' | 'LOG_ROLLBACK';

export interface FollowOptions {
  edge: TreeEdge;
  to: Checkpoint;
  fetchBundle: (t: TileRef) => Promise<Uint8Array>;
  /** Called in log order, one bundle's new entries at a time. */
  onEntries?: (first: number, entries: Uint8Array[]) => void | Promise<void>;
  /** Bundles in flight at once. */
  concurrency?: number;
}

export class RootMismatchError extends BinswarmError<'ROOT_MISMATCH'> {
  constructor(message: string, readonly computed: Uint8Array) {
    super('ROOT_MISMATCH', message);
  }
}

/** Returns the extended edge, whose root equals the checkpoint's; otherwise throws ROOT_MISMATCH (nothing returned is to be kept). */
export async function followLog(o: FollowOptions): Promise<TreeEdge> {
  const from = o.edge.size;
  const to = o.to.size;
  if (to < from) throw new BinswarmError<FollowErrorCode>('LOG_ROLLBACK', `log went back from size ${from} to ${to}`);
  const edge = o.edge.clone();
  const refs = bundlesBetween(from, to);
  const window = Math.max(1, o.concurrency ?? 8);
  const inflight: Promise<Uint8Array>[] = [];
  let next = 0;
  const launch = () => {
    while (inflight.length < window && next < refs.length) {
      const p = o.fetchBundle(refs[next++]!);
      // Awaited in order below; a later failure must not go unhandled while an earlier one throws.
      p.catch(() => undefined);
      inflight.push(p);
    }
  };
  launch();
  for (const ref of refs) {
    const data = await inflight.shift()!;
    launch();
    const all = decodeBundle(data, ref.width);
    // The first bundle may start before our size: those entries are already in the edge.
    const skip = Math.max(0, from - ref.index * TILE_WIDTH);
    const fresh = skip > 0 ? all.slice(skip) : all;
    // The bundle's length prefixes are spent: hash each entry in place (see leafHashInPlace).
    for (const e of fresh) edge.appendLeafHash(leafHashInPlace(e));
    await o.onEntries?.(ref.index * TILE_WIDTH + skip, fresh);
  }
  const root = edge.root();
  if (Buffer.compare(Buffer.from(root), Buffer.from(o.to.root)) !== 0) {
    throw new RootMismatchError(`the log's entries up to size ${to} do not hash to the checkpoint's root: the log is not what was signed, or it forked`, root);
  }
  return edge;
}
