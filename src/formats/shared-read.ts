/**
 * A file as a stream of Buffers over SharedArrayBuffers, so hash workers can
 * read the very bytes the main thread parses without a copy (hash-thread.ts).
 * Each chunk gets a fresh buffer (never reused), so views handed to a
 * worker, to tar-stream or to a child's stdin stay valid as long as anyone
 * holds them. `throttle` is asked before each read: while it returns a
 * promise (the hash workers are behind) the file waits.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

export interface SharedReadOptions {
  chunkSize?: number;
  signal?: AbortSignal;
  throttle?: () => Promise<void> | undefined;
}

export function sharedReadStream(path: string, opts: SharedReadOptions = {}): Readable {
  const chunkSize = opts.chunkSize ?? 1 << 20;
  let fh: FileHandle | undefined;
  let position = 0;
  const stream = new Readable({
    // One chunk ahead is enough: the reads are large and the consumer is fast.
    highWaterMark: chunkSize,
    async construct(cb) {
      try {
        fh = await open(path, 'r');
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    async read() {
      try {
        await opts.throttle?.();
        opts.signal?.throwIfAborted();
        const buf = Buffer.from(new SharedArrayBuffer(chunkSize));
        const { bytesRead } = await fh!.read(buf, 0, chunkSize, position);
        position += bytesRead;
        this.push(bytesRead === 0 ? null : buf.subarray(0, bytesRead));
      } catch (e) {
        this.destroy(e as Error);
      }
    },
    async destroy(err, cb) {
      await fh?.close().catch(() => undefined);
      cb(err);
    },
  });
  // Like fs.ReadStream: who reads it may name it.
  (stream as unknown as { path: string }).path = path;
  return stream;
}
