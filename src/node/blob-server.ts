/**
 * GET/HEAD /blobs/sha256/<hex> with single byte ranges, and a connection cap.
 * The URL is the blob's path under the store directory, so nginx or a bucket
 * serving the same directory answers the same requests.
 */
import type { FastifyInstance } from 'fastify';
import { BlobStore } from '../transfer/blob-store.js';

export interface BlobRouteOptions {
  /** Most simultaneous blob responses; past it → 503 with Retry-After. */
  maxConcurrent?: number;
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

export function registerBlobRoutes(app: FastifyInstance, store: BlobStore, opts: BlobRouteOptions = {}): void {
  let active = 0;
  const max = opts.maxConcurrent ?? 64;
  // Both the on-disk layout (what a static mirror serves) and the short form of DESIGN.md.
  app.route({
    method: ['GET', 'HEAD'],
    url: '/blobs/sha256/:hex',
    handler: (req, reply) => serve(req as never, reply, (req.params as { hex: string }).hex.slice(0, 2)),
  });
  app.route({
    method: ['GET', 'HEAD'],
    url: '/blobs/sha256/:prefix/:hex',
    handler: (req, reply) => serve(req as never, reply, (req.params as { prefix: string }).prefix),
  });
  async function serve(req: import('fastify').FastifyRequest<{ Params: { hex: string } }>, reply: import('fastify').FastifyReply, prefix: string) {
    {
      const { hex } = req.params;
      if (!/^[0-9a-f]{64}$/.test(hex) || prefix !== hex.slice(0, 2)) return reply.status(400).send({ error: { code: 'BAD_DIGEST', message: 'expected /blobs/sha256/<ab>/<64 hex>' } });
      const size = await store.size(hex);
      if (size === undefined) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'no such blob here' } });
      if (active >= max) return reply.status(503).header('retry-after', '2').send({ error: { code: 'BUSY', message: 'too many downloads at once' } });
      void reply.header('accept-ranges', 'bytes').type('application/octet-stream');
      const range = req.headers.range ? parseRange(req.headers.range, size) : undefined;
      if (range === 'unsatisfiable') return reply.status(416).type('application/json').header('content-range', `bytes */${size}`).send({ error: { code: 'RANGE', message: 'range not satisfiable' } });
      const [start, end] = range ? [range.start, range.end] : [0, size - 1];
      void reply.header('content-length', String(size === 0 ? 0 : end - start + 1));
      if (range) void reply.status(206).header('content-range', `bytes ${start}-${end}/${size}`);
      if (req.method === 'HEAD' || size === 0) return reply.send();
      active++;
      const stream = store.openRead(hex, { start, end });
      stream.once('close', () => active--);
      return reply.send(stream);
    }
  }
}
