/**
 * Reads a tlog-tiles log over HTTP: from the coordinator's /log/, a mirror
 * or any static server holding a copied tile directory. Nothing here is
 * trusted: callers check what they read against a signed checkpoint.
 */
import { BinswarmError } from '../errors.js';
import { tilePath, TILE_WIDTH, type TileRef } from '../log/tiles.js';

export type TileClientErrorCode = 'LOG_UNREACHABLE' | 'TILE_MISSING' | 'TILE_TOO_LARGE';

/** A full entry bundle of maximal entries; anything bigger is not a tile. */
const MAX_TILE = TILE_WIDTH * (2 + 0xffff);

export class TileClient {
  readonly base: string;
  /** HTTP requests made (benchmarks and tests count them). */
  requests = 0;

  constructor(base: string, private readonly timeoutMs = 30_000) {
    this.base = base.replace(/\/+$/, '');
  }

  private async get(path: string, signal?: AbortSignal): Promise<Response> {
    this.requests += 1;
    const url = `${this.base}/${path}`;
    try {
      const timeout = AbortSignal.timeout(this.timeoutMs);
      return await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (e) {
      throw new BinswarmError<TileClientErrorCode>('LOG_UNREACHABLE', `cannot reach the log at ${this.base}: ${(e as Error).message}`, { cause: e });
    }
  }

  async checkpoint(signal?: AbortSignal): Promise<string> {
    const res = await this.get('checkpoint', signal);
    if (!res.ok) throw new BinswarmError<TileClientErrorCode>(res.status === 404 ? 'TILE_MISSING' : 'LOG_UNREACHABLE', `GET ${this.base}/checkpoint: ${res.status}`);
    const text = await res.text();
    if (text.length > 1 << 16) throw new BinswarmError<TileClientErrorCode>('TILE_TOO_LARGE', 'checkpoint is larger than 64 KiB');
    return text;
  }

  /** A tile's bytes; a missing partial tile falls back to the full one (the spec lets servers drop partials). */
  async tile(t: TileRef, signal?: AbortSignal): Promise<Buffer> {
    let res = await this.get(tilePath(t), signal);
    if (res.status === 404 && t.width < TILE_WIDTH) {
      await res.body?.cancel();
      res = await this.get(tilePath({ ...t, width: TILE_WIDTH }), signal);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new BinswarmError<TileClientErrorCode>(res.status === 404 ? 'TILE_MISSING' : 'LOG_UNREACHABLE', `GET ${this.base}/${tilePath(t)}: ${res.status}`);
    }
    const len = Number(res.headers.get('content-length') ?? 0);
    if (len > MAX_TILE) throw new BinswarmError<TileClientErrorCode>('TILE_TOO_LARGE', `tile ${tilePath(t)} claims ${len} bytes`);
    const body = Buffer.from(await res.arrayBuffer());
    if (body.length > MAX_TILE) throw new BinswarmError<TileClientErrorCode>('TILE_TOO_LARGE', `tile ${tilePath(t)} has ${body.length} bytes`);
    return body;
  }
}
