/**
 * Byte-rate limiting: a token bucket shared by every stream of one node
 * (all uploads, or all downloads). Written here rather than taken from npm:
 * the maintained limiters (limiter, bottleneck) count requests against the
 * wall clock, while this needs byte-sized takes that a stream awaits for
 * backpressure, and an injected clock and timer so it can be tested without
 * sleeping.
 */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export class TokenBucket {
  private tokens: number;
  private last: number;
  /** Waiters are served in order so a big take cannot starve behind small ones. */
  private queue: Promise<void> = Promise.resolve();

  /** `rate` bytes per second; `burst` bytes may go at once (default: a tenth of a second's worth, at least 64 KiB). */
  constructor(readonly rate: number, readonly burst = Math.max(64 * 1024, rate / 10), private readonly clock: Clock = systemClock) {
    if (!(rate > 0)) throw new RangeError('rate must be positive');
    this.tokens = this.burst;
    this.last = clock.now();
  }

  private refill(): void {
    const t = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.rate) / 1000);
    this.last = t;
  }

  /** Resolves when `n` bytes may be sent (n may exceed the burst: it is paid for in debt). */
  take(n: number, signal?: AbortSignal): Promise<void> {
    const next = this.queue.then(async () => {
      this.refill();
      if (this.tokens < Math.min(n, this.burst)) await this.clock.sleep(((Math.min(n, this.burst) - this.tokens) * 1000) / this.rate, signal);
      this.refill();
      this.tokens -= n;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** A stream transform that paces chunks through a bucket (null bucket: no limit). */
export async function* throttle(source: AsyncIterable<Uint8Array>, bucket: TokenBucket | undefined, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    if (bucket) {
      // Big chunks go in burst-sized slices so pacing stays smooth.
      for (let at = 0; at < chunk.length; at += bucket.burst) {
        const part = chunk.subarray(at, at + bucket.burst);
        await bucket.take(part.length, signal);
        yield part;
      }
    } else yield chunk;
  }
}
