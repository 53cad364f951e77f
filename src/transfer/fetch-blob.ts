/**
 * How a node gets an archive it does not have. WholeArchiveFetcher takes the
 * whole archive from one holder at a time (the simple baseline); the piece
 * swarm (swarm-fetcher.ts) implements the same interface. Every byte is checked against the expected sha256 and size
 * while it streams into the blob store; a holder that sends anything else
 * is recorded (to report) and the next one is tried.
 */
import { Readable } from 'node:stream';
import { BinswarmError } from '../errors.js';
import { BlobStore } from './blob-store.js';

export interface Holder {
  url: string;
  peer: string;
}

export interface FetchResult {
  from: Holder;
  badHolders: { holder: Holder; reason: string }[];
}

export interface FetchOptions {
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
  /** The attested pieceRoot (the swarm looks it up on the coordinator when absent). */
  pieceRoot?: string;
}

/** How the gateway, mirrors and the CLI get an archive: WholeArchiveFetcher, or the piece swarm (SwarmFetcher). */
export interface BlobFetcher {
  fetch(sha256: string, size: number, holders: Holder[], opts?: FetchOptions): Promise<FetchResult>;
}

export class WholeArchiveFetcher implements BlobFetcher {
  constructor(private readonly store: BlobStore, private readonly timeoutMs = 120_000) {}

  async fetch(sha256: string, size: number, holders: Holder[], opts: FetchOptions = {}): Promise<FetchResult> {
    const badHolders: FetchResult['badHolders'] = [];
    for (const holder of holders) {
      const url = `${holder.url.replace(/\/+$/, '')}/${BlobStore.relPath(sha256)}`;
      try {
        const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(this.timeoutMs)]) : AbortSignal.timeout(this.timeoutMs);
        const res = await fetch(url, { signal });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        let got = 0;
        const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
        body.on('data', (c: Buffer) => opts.onProgress?.((got += c.length)));
        await this.store.put(body, { expectedSha256: sha256, expectedSize: size, signal });
        return { from: holder, badHolders };
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        badHolders.push({ holder, reason: (e as Error).message });
      }
    }
    throw new BinswarmError('BLOB_UNAVAILABLE', `no holder served ${sha256.slice(0, 16)}… correctly: ${badHolders.map((b) => `${b.holder.url}: ${b.reason}`).join('; ') || 'no holders'}`);
  }
}
