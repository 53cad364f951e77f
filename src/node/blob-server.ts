/**
 * GET/HEAD /blobs/sha256/<ab>/<hex> with single byte ranges, `<hex>.pieces`
 * (the piece hash list) and `<hex>.have` (the bitmap of pieces held), under
 * an upload-rate limit (token bucket) and a cap on concurrent uploads. The
 * URL is the blob's path under the store directory, so nginx or a bucket
 * serving the same directory answers the same requests (a static server has
 * no `.have`: downloaders treat it as holding everything). While a download
 * is in progress its verified pieces are already served.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Bitfield } from '../transfer/bitfield.js';
import type { BlobStore } from '../transfer/blob-store.js';
import { PIECE_SIZE } from '../transfer/pieces.js';
import { throttle, type TokenBucket } from '../transfer/token-bucket.js';

export interface BlobRouteOptions {
  /** Most simultaneous blob responses; past it → 503 with Retry-After. */
  maxConcurrent?: number;
  /** Upload-rate limit shared by every response. */
  bucket?: TokenBucket;
}

export interface BlobServerStats {
  bytesServed: number;
  requests: number;
  active: number;
}

function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // ignore what we do not understand (RFC 9110: serve the whole)
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

const NAME = /^([0-9a-f]{64})(\.pieces|\.have)?$/;

export function registerBlobRoutes(app: FastifyInstance, store: BlobStore, opts: BlobRouteOptions = {}): BlobServerStats {
  const stats: BlobServerStats = { bytesServed: 0, requests: 0, active: 0 };
  const max = opts.maxConcurrent ?? 64;
  // Both the on-disk layout (what a static mirror serves) and the short form of DESIGN.md.
  app.route({ method: ['GET', 'HEAD'], url: '/blobs/sha256/:name', handler: (req, reply) => serve(req, reply, (req.params as { name: string }).name, undefined) });
  app.route({ method: ['GET', 'HEAD'], url: '/blobs/sha256/:prefix/:name', handler: (req, reply) => serve(req, reply, (req.params as { name: string }).name, (req.params as { prefix: string }).prefix) });

  const badName = (reply: FastifyReply) => reply.status(400).send({ error: { code: 'BAD_DIGEST', message: 'expected /blobs/sha256/<ab>/<64 hex>[.pieces|.have]' } });
  const notHere = (reply: FastifyReply) => reply.status(404).type('application/json').send({ error: { code: 'NOT_FOUND', message: 'no such blob here' } });

  async function serve(req: FastifyRequest, reply: FastifyReply, name: string, prefix: string | undefined) {
    const m = NAME.exec(name);
    if (!m || (prefix !== undefined && prefix !== m[1]!.slice(0, 2))) return badName(reply);
    const hex = m[1]!;
    const size = await store.size(hex);
    const partial = size === undefined ? store.partials.get(hex) : undefined;
    if (m[2] === '.pieces') {
      const list = size !== undefined ? await store.pieceList(hex) : partial ? Buffer.concat(partial.pieces) : undefined;
      return list ? reply.type('application/octet-stream').send(list) : notHere(reply);
    }
    if (m[2] === '.have') {
      if (size !== undefined) return reply.type('application/octet-stream').send(Buffer.from(Bitfield.full(Math.max(1, Math.ceil(size / PIECE_SIZE))).bytes));
      return partial ? reply.type('application/octet-stream').send(Buffer.from(partial.have.bytes)) : notHere(reply);
    }
    const total = size ?? partial?.size;
    if (total === undefined) return notHere(reply);
    if (stats.active >= max) return reply.status(503).header('retry-after', '2').send({ error: { code: 'BUSY', message: 'too many downloads at once' } });
    void reply.header('accept-ranges', 'bytes').type('application/octet-stream');
    const range = req.headers.range ? parseRange(req.headers.range, total) : undefined;
    if (range === 'unsatisfiable') return reply.status(416).type('application/json').header('content-range', `bytes */${total}`).send({ error: { code: 'RANGE', message: 'range not satisfiable' } });
    const [start, end] = range ? [range.start, range.end] : [0, total - 1];
    if (partial) {
      // Only verified pieces of a download in progress, and only by range.
      if (!range) return notHere(reply);
      for (let i = Math.floor(start / PIECE_SIZE); i <= Math.floor(end / PIECE_SIZE); i++) if (!partial.have.has(i)) return notHere(reply);
    }
    void reply.header('content-length', String(total === 0 ? 0 : end - start + 1));
    if (range) void reply.status(206).header('content-range', `bytes ${start}-${end}/${total}`);
    if (req.method === 'HEAD' || total === 0) return reply.send();
    stats.active++;
    stats.requests++;
    const file = partial ? createReadStream(partial.path, { start, end, highWaterMark: 1 << 20 }) : store.openRead(hex, { start, end });
    const counted = async function* (src: AsyncIterable<Uint8Array>) {
      for await (const c of src) {
        stats.bytesServed += c.length;
        yield c;
      }
    };
    let body: Readable = file;
    // A client that goes away stops its paced stream at once (not when the bucket next lets it through).
    const gone = new AbortController();
    reply.raw.once('close', () => gone.abort());
    if (opts.bucket) body = Readable.from(counted(throttle(file, opts.bucket, gone.signal)), { objectMode: false });
    else file.on('data', (c: Buffer) => (stats.bytesServed += c.length));
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        stats.active--;
        file.destroy();
      }
    };
    body.once('close', release);
    reply.raw.once('close', release);
    return reply.send(body);
  }
  return stats;
}
