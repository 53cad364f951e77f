/**
 * The swarm downloader behind the BlobFetcher interface, writing into a
 * BlobStore: partial state under blobs/partial/ (resumable), registered in
 * the store while it runs so the node's blob server already serves the
 * pieces it has, and installed under the final name only once the whole
 * archive is verified. With a coordinator client it looks up pieceRoot and
 * fresh holders on the tracker, reports bad holders (when it has a key) and
 * announces itself as a partial, then complete, holder (when it has a URL).
 */
import type { CoordinatorClient } from '../api/client.js';
import { BinswarmError } from '../errors.js';
import type { BlobStore } from './blob-store.js';
import type { BlobFetcher, FetchOptions, FetchResult, Holder } from './fetch-blob.js';
import { PartialFile } from './partial-file.js';
import { swarmDownload, type SwarmHolder, type SwarmOptions, type SwarmProgress, type SwarmResult } from './swarm.js';
import type { TokenBucket } from './token-bucket.js';

export interface SwarmFetcherOptions {
  client?: CoordinatorClient;
  /** Report bad holders to the coordinator (needs a client with a key). */
  report?: boolean;
  /** Our own blob server's URL: announce partial and complete holding. */
  announceUrl?: string;
  bucket?: TokenBucket;
  perHolder?: number;
  stallMs?: number;
  onSwarmProgress?: (sha256: string, p: SwarmProgress) => void;
}

/** Holders as the tracker lists them (complete first; partial ones flagged). */
export async function trackerHolders(client: CoordinatorClient, sha256: string): Promise<SwarmHolder[]> {
  const a = await client.archive(sha256);
  return (a?.holders ?? []).map((h) => ({ url: h.url, peer: h.peer, partial: h.partial === true }));
}

export class SwarmFetcher implements BlobFetcher {
  private readonly running = new Map<string, Promise<FetchResult & { swarm: SwarmResult }>>();

  constructor(private readonly store: BlobStore, private readonly opts: SwarmFetcherOptions = {}) {}

  fetch(sha256: string, size: number, holders: Holder[], opts: FetchOptions & Pick<SwarmOptions, 'onProgress'> = {}): Promise<FetchResult & { swarm: SwarmResult }> {
    // One download per archive at a time (the gateway may ask twice).
    let p = this.running.get(sha256);
    if (!p) {
      p = this.run(sha256, size, holders, opts).finally(() => this.running.delete(sha256));
      this.running.set(sha256, p);
    }
    return p;
  }

  private async run(sha256: string, size: number, holders: Holder[], opts: FetchOptions & Pick<SwarmOptions, 'onProgress'>): Promise<FetchResult & { swarm: SwarmResult }> {
    const { client } = this.opts;
    let pieceRoot = opts.pieceRoot;
    if (!pieceRoot) {
      const a = client ? await client.archive(sha256) : undefined;
      if (!a) throw new BinswarmError('BLOB_UNAVAILABLE', `pieceRoot of ${sha256.slice(0, 16)}… unknown (no coordinator, or it does not know the archive)`);
      if (a.size !== size) throw new BinswarmError('BLOB_SIZE_MISMATCH', `the coordinator says ${a.size} bytes, expected ${size}`);
      pieceRoot = a.pieceRoot;
    }
    const path = this.store.partialPath(sha256);
    const self = this.opts.announceUrl?.replace(/\/+$/, '');
    const list = holders.filter((h) => h.url.replace(/\/+$/, '') !== self);
    let announced = false;
    try {
      const r = await swarmDownload({ sha256, size, pieceRoot }, list, path, {
        perHolder: this.opts.perHolder,
        stallMs: this.opts.stallMs,
        bucket: this.opts.bucket,
        signal: opts.signal,
        onProgress: (p) => {
          opts.onProgress?.(p);
          this.opts.onSwarmProgress?.(sha256, p);
        },
        onBadHolder: (h, reason) => {
          if (this.opts.report && client) void client.reportHolder(sha256, h.peer, reason).catch(() => undefined);
        },
        refreshHolders: client ? async () => (await trackerHolders(client, sha256)).filter((h) => h.url.replace(/\/+$/, '') !== self) : undefined,
        onPartial: (pf) => {
          this.store.partials.set(sha256, { path, size, have: pf.have, pieces: pf.pieces });
          if (self && client && !announced) {
            announced = true;
            void client.announceHolder(sha256, self, { partial: true }).catch(() => undefined);
          }
        },
      });
      await this.store.install(path, sha256, r.file.pieces);
      await PartialFile.discard(path, true);
      if (self && client) await client.announceHolder(sha256, self).catch(() => undefined);
      const top = Object.entries(r.servedBy).sort((a, b) => b[1] - a[1])[0]?.[0];
      const from = list.find((h) => h.url === top) ?? list[0] ?? { url: '', peer: '' };
      return { from, badHolders: r.badHolders.map((b) => ({ holder: { url: b.holder.url, peer: b.holder.peer }, reason: b.reason })), swarm: r };
    } finally {
      this.store.partials.delete(sha256);
    }
  }
}
