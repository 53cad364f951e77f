/**
 * StrictTarParser (tar-strict.ts) as an iteration over entries with content
 * streams, for extraction, which writes files asynchronously: the extractor
 * frames an image exactly as the reader that verified it. Content flows
 * through a PassThrough per entry; when one is full the source pauses.
 */
import { PassThrough, type Readable } from 'node:stream';
import { feedStrictParser, StrictTarParser, type StrictTarHeader } from './tar-strict.js';
import type { TarLimits } from './tar.js';

export async function* strictTarEntries(source: Readable, limits: Partial<TarLimits> = {}, subject?: string): AsyncGenerator<{ header: StrictTarHeader; stream: Readable }, void, undefined> {
  const queue: { header: StrictTarHeader; stream: PassThrough }[] = [];
  let current: PassThrough | undefined;
  let failure: unknown;
  let ended = false;
  let waiting: (() => void) | undefined;
  let paused = false;
  const wake = () => {
    const w = waiting;
    waiting = undefined;
    w?.();
  };
  const fail = (e: unknown) => {
    failure ??= e;
    current?.destroy(e as Error);
    source.destroy();
    wake();
  };
  const parser = new StrictTarParser(
    {
      entry(header) {
        current = new PassThrough({ highWaterMark: 1 << 20 });
        queue.push({ header, stream: current });
        wake();
      },
      data(bytes) {
        if (!current!.write(bytes) && !paused) {
          paused = true;
          source.pause();
          current!.once('drain', () => {
            paused = false;
            source.resume();
          });
        }
      },
      endEntry() {
        current!.end();
        current = undefined;
      },
    },
    limits,
    subject,
  );
  feedStrictParser(source, parser, {
    subject,
    stopped: () => failure !== undefined,
    fail,
    end: () => {
      ended = true;
      wake();
    },
  });
  try {
    for (;;) {
      const next = queue.shift();
      if (next) {
        yield next;
        // Whatever the consumer left of this entry is drained so the source can move on.
        if (!next.stream.readableEnded && !next.stream.destroyed) {
          await new Promise<void>((resolve) => {
            next.stream.once('end', resolve).once('close', resolve).once('error', resolve);
            next.stream.resume();
          });
        }
        continue;
      }
      if (failure !== undefined) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (waiting = resolve));
    }
  } finally {
    if (!ended) {
      current?.destroy();
      source.destroy();
    }
  }
}
