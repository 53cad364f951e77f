/**
 * The log published as C2SP tlog-tiles under /log/: the checkpoint (with
 * the witness cosignatures collected so far), hash tiles from the stored
 * Merkle nodes and entry bundles from the stored leaves. Full tiles never
 * change, so they carry a year-long immutable Cache-Control and are kept in
 * a byte-capped memory cache here: the read load of many followers lands
 * on a CDN, a mirror or that cache, not on the database.
 */
import type { FastifyInstance } from 'fastify';
import { BinswarmError } from '../errors.js';
import { encodeBundle, encodeHashTile, parseTilePath, TILE_HEIGHT, TILE_WIDTH, tileWidth, type TileRef } from '../log/tiles.js';
import type { Store } from './store/types.js';

export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** A partial tile is final for its width too, but is replaced by wider ones: keep it briefly. */
export const PARTIAL = 'public, max-age=60';

/** Least recently used first out, capped by total bytes. */
class ByteLru {
  private readonly map = new Map<string, Buffer>();
  private bytes = 0;
  constructor(private readonly cap: number) {}
  get(k: string): Buffer | undefined {
    const v = this.map.get(k);
    if (v) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: string, v: Buffer): void {
    if (v.length > this.cap) return;
    this.map.set(k, v);
    this.bytes += v.length;
    for (const [old, b] of this.map) {
      if (this.bytes <= this.cap) break;
      this.map.delete(old);
      this.bytes -= b.length;
    }
  }
}

export interface TileSource {
  /** The tile's bytes, or undefined when the log is not that far yet. */
  tile(t: TileRef): Promise<Buffer | undefined>;
}

export function storeTiles(store: Store, cacheBytes = 64 * 1024 * 1024): TileSource {
  const cache = new ByteLru(cacheBytes);
  return {
    async tile(t) {
      const key = `${t.level}/${t.index}/${t.width}`;
      const hit = cache.get(key);
      if (hit) return hit;
      const size = await store.log.size();
      let out: Buffer | undefined;
      if (t.level === 'entries') {
        if (tileWidth(0, t.index, size) < t.width) return undefined;
        const leaves = await store.getLeaves(t.index * TILE_WIDTH, t.index * TILE_WIDTH + t.width);
        if (leaves.length !== t.width) throw new BinswarmError('LOG_NODE_MISSING', `log leaves of bundle ${t.index} are missing`);
        out = encodeBundle(leaves);
      } else {
        if (tileWidth(t.level, t.index, size) < t.width) return undefined;
        const hashes = await store.logNodeRange(t.level * TILE_HEIGHT, t.index * TILE_WIDTH, t.index * TILE_WIDTH + t.width);
        if (hashes.length !== t.width) throw new BinswarmError('LOG_NODE_MISSING', `log nodes of tile ${t.level}/${t.index} are missing`);
        out = encodeHashTile(hashes);
      }
      cache.set(key, out);
      return out;
    },
  };
}

/** Static, cacheable reads: rate limits belong to whatever serves them at scale (CDN, mirror), not per request here. */
const NO_LIMIT = { config: { rateLimit: false } } as const;

/** How long one read of the published checkpoint answers every follower (they poll it; it is no-cache for them). */
export const CHECKPOINT_TTL_MS = 1000;

/** Registers the routes; returns what drops the cached checkpoint (after a write to this coordinator). */
export function registerTileRoutes(app: FastifyInstance, tiles: TileSource, checkpoint: () => Promise<string | undefined>, now: () => number = Date.now, ttlMs = CHECKPOINT_TTL_MS): () => void {
  let cached: { at: number; text: Promise<string | undefined> } | undefined;
  app.get('/log/checkpoint', NO_LIMIT, async (_req, reply) => {
    // Many gateways polling at once cost one store read per second, not one each.
    if (!cached || now() - cached.at >= ttlMs) {
      cached = { at: now(), text: checkpoint() };
      cached.text.catch(() => (cached = undefined));
    }
    const cp = await cached.text;
    if (!cp) throw new BinswarmError('NOT_FOUND', 'the log is empty');
    return reply.header('cache-control', 'no-cache').type('text/plain; charset=utf-8').send(cp);
  });
  app.get('/log/tile/*', NO_LIMIT, async (req, reply) => {
    let ref: TileRef;
    try {
      ref = parseTilePath(`tile/${(req.params as { '*': string })['*']}`);
    } catch (e) {
      throw new BinswarmError('NOT_FOUND', (e as Error).message);
    }
    const bytes = await tiles.tile(ref);
    if (!bytes) throw new BinswarmError('NOT_FOUND', 'the log has not reached this tile yet');
    return reply.header('cache-control', ref.width === TILE_WIDTH ? IMMUTABLE : PARTIAL).type('application/octet-stream').send(bytes);
  });
  return () => {
    cached = undefined;
  };
}
