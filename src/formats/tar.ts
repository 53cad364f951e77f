/**
 * Bounded iteration over the entries of a tar stream (ustar, GNU and PAX, via
 * tar-stream). Every tar binswarm reads comes from someone else, so counts,
 * sizes and name lengths are capped before anything is buffered.
 */
import { Readable } from 'node:stream';
// Loaded on first use: reading a gpkg needs only tar-strict.ts (saves ~15 ms of every `binswarm inspect`).
import type { Header as Headers } from 'tar-stream';
import { BinswarmError } from '../errors.js';

export type TarErrorCode = 'TRUNCATED' | 'BAD_TAR' | 'LIMIT_EXCEEDED';

export interface TarLimits {
  /** Most entries in one tar. */
  maxEntries: number;
  /** Most bytes of entry content in one tar, summed. */
  maxTotalBytes: number;
  /** Most bytes in one entry. */
  maxEntrySize: number;
  /** Longest entry name or link target. */
  maxNameLength: number;
}

export const DEFAULT_TAR_LIMITS: TarLimits = {
  maxEntries: 1_000_000,
  maxTotalBytes: 64 * 1024 ** 3,
  maxEntrySize: 16 * 1024 ** 3,
  maxNameLength: 4096,
};

export interface TarEntry {
  header: Headers;
  /** The entry's content; must be consumed (or left alone: it is drained after the loop body). */
  stream: Readable;
}

export function tarError(e: unknown, subject: string | undefined): BinswarmError {
  if (e instanceof BinswarmError) return subject === undefined ? e : e.withSubject(subject);
  const msg = (e as Error)?.message ?? String(e);
  if (/unexpected end/i.test(msg)) return new BinswarmError<TarErrorCode>('TRUNCATED', 'tar stream is truncated', { cause: e, subject });
  return new BinswarmError<TarErrorCode>('BAD_TAR', `not a valid tar stream: ${msg}`, { cause: e, subject });
}

export function limitError(what: string, subject?: string): BinswarmError<TarErrorCode> {
  return new BinswarmError<TarErrorCode>('LIMIT_EXCEEDED', what, { subject });
}

/**
 * Yields each entry in order. Errors of the source (e.g. a decompressor that
 * found corrupt input) and of the tar parser surface as BinswarmError.
 */
export async function* tarEntries(
  source: Readable,
  limits: Partial<TarLimits> = {},
  subject?: string,
): AsyncGenerator<TarEntry, void, undefined> {
  const lim = { ...DEFAULT_TAR_LIMITS, ...limits };
  let sourceError: unknown;
  let ex: ReturnType<typeof import('tar-stream').extract> | undefined;
  // Listen before the first await: the source may fail while tar-stream loads.
  source.on('error', (e) => {
    sourceError = e;
    ex?.destroy(e);
  });
  ex = (await import('tar-stream')).extract();
  if (sourceError) ex.destroy(sourceError as Error);
  source.pipe(ex);
  let count = 0;
  let total = 0;
  let finished = false;
  try {
    for await (const entry of ex) {
      const header = entry.header;
      count += 1;
      if (count > lim.maxEntries) throw limitError(`more than ${lim.maxEntries} tar entries`, subject);
      const size = header.size ?? 0;
      if (size > lim.maxEntrySize) throw limitError(`entry ${header.name} is ${size} bytes, over the ${lim.maxEntrySize}-byte limit`, subject);
      total += size;
      if (total > lim.maxTotalBytes) throw limitError(`tar content exceeds ${lim.maxTotalBytes} bytes`, subject);
      if (header.name.length > lim.maxNameLength || (header.linkname?.length ?? 0) > lim.maxNameLength) {
        throw limitError(`entry name longer than ${lim.maxNameLength} bytes`, subject);
      }
      // tar-stream entries are streamx streams (no readableEnded): track the end ourselves.
      const stream = entry as unknown as Readable;
      // The parser may already have failed (input ended mid-entry) and destroyed this
      // entry before we got it; its events are gone, so check now or wait forever.
      if ((entry as unknown as { destroying: boolean }).destroying || stream.destroyed) {
        throw new BinswarmError<TarErrorCode>('TRUNCATED', `tar stream is truncated (in ${header.name})`, { subject });
      }
      let done = false;
      const onDone = () => {
        done = true;
      };
      stream.once('end', onDone);
      stream.once('close', onDone);
      stream.once('error', onDone);
      yield { header, stream };
      // Drain whatever the consumer left so the parser can move on.
      if (!done) {
        await new Promise<void>((resolve) => {
          stream.once('end', () => resolve());
          stream.once('close', () => resolve());
          stream.once('error', () => resolve());
          stream.resume();
        });
      }
    }
    finished = true;
  } catch (e) {
    throw tarError(sourceError ?? e, subject);
  } finally {
    // Also when the consumer stops early (its own error, or `break`): the
    // generator is closed without reaching `catch`, and a decompressor child
    // process still feeding `source` would keep running and hold the event loop.
    if (!finished) {
      source.unpipe(ex);
      source.destroy();
      ex.destroy();
    }
  }
  if (sourceError) throw tarError(sourceError, subject);
}

/** Read a whole entry into memory, refusing more than `max` bytes. */
export async function readEntry(stream: Readable, max: number, what: string, subject?: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > max) throw limitError(`${what} is larger than ${max} bytes`, subject);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Errors that escape a consumer's loop body when the stream under it breaks
 * (streamx "Stream was destroyed", premature close) say nothing useful; the
 * input was corrupt, so report that as a typed error.
 */
export function asTypedStreamError(e: unknown, subject?: string): unknown {
  if (e instanceof BinswarmError) return e;
  const code = (e as { code?: string })?.code;
  if (code === 'STREAM_DESTROYED' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED' || /destroyed|premature/i.test((e as Error)?.message ?? '')) {
    return new BinswarmError<TarErrorCode>('BAD_TAR', 'archive is corrupt (its stream ended unexpectedly)', { cause: e, subject });
  }
  return e;
}

/**
 * Pipe a tar entry into `dest`. If the archive breaks mid-entry the entry is
 * destroyed without ending; `dest` (e.g. a decompressor waiting for more
 * input) must then fail too, or whoever reads it would wait forever.
 */
export function pipeEntry(entry: Readable, dest: NodeJS.WritableStream & { destroy(e?: Error): unknown }, what: string, subject?: string): void {
  let ended = false;
  entry.once('end', () => {
    ended = true;
  });
  entry.once('close', () => {
    if (!ended) dest.destroy(new BinswarmError<TarErrorCode>('TRUNCATED', `${what} is truncated`, { subject }));
  });
  entry.once('error', (e: Error) => dest.destroy(e));
  entry.pipe(dest);
}
