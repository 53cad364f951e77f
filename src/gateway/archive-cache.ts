/**
 * Archives on demand: when Portage asks for a listed package, its archive
 * is taken from the local cache or fetched from holders through the
 * BlobFetcher (sha256 and size checked as it streams), then read completely
 * — Manifest, members, outputDigest and buildKey must be the attested ones —
 * before a byte is served. Verified archives stay in a size-capped cache;
 * the least recently used ones go first.
 */
import { CoordinatorClient } from '../api/client.js';
import { BinswarmError, isBinswarmError } from '../errors.js';
import { inspectPackage } from '../formats/inspect.js';
import type { BlobStore } from '../transfer/blob-store.js';
import type { BlobFetcher } from '../transfer/fetch-blob.js';
import type { LocalDb } from './local-db.js';

export type ArchiveErrorCode = 'ARCHIVE_UNAVAILABLE' | 'ARCHIVE_MISMATCH';

export interface Wanted {
  archiveSha256: string;
  size: number;
  outputDigest: string;
  buildKey: string;
  cpv: string;
  pieceRoot?: string;
}

export class ArchiveCache {
  private readonly inflight = new Map<string, Promise<void>>();
  /** Archives read completely in this process (content-addressed: the reading stays true while the bytes do). */
  private readonly inspected = new Set<string>();

  constructor(
    private readonly store: BlobStore,
    private readonly db: LocalDb,
    private readonly fetcher: BlobFetcher,
    private readonly client: CoordinatorClient,
    private readonly capBytes: number,
    private readonly now: () => number,
    private readonly say: (line: string) => void,
  ) {}

  /** Resolves when the archive is in the cache, verified; the caller streams it after store.verify. */
  ensure(w: Wanted, signal?: AbortSignal): Promise<void> {
    const key = `${w.archiveSha256}/${w.outputDigest}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.load(w, signal).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async load(w: Wanted, signal?: AbortSignal): Promise<void> {
    const known = this.db.refusedOf(w.archiveSha256);
    if (known) throw new BinswarmError(known.code, `${w.cpv}: archive ${w.archiveSha256.slice(0, 16)}… was refused: ${known.reason}`);
    if (!(await this.store.has(w.archiveSha256))) {
      const info = await this.client.archive(w.archiveSha256);
      const holders = (info?.holders ?? []).map((h) => ({ url: h.url, peer: h.peer }));
      let got;
      try {
        got = await this.fetcher.fetch(w.archiveSha256, w.size, holders, { signal, pieceRoot: w.pieceRoot });
      } catch (e) {
        throw new BinswarmError<ArchiveErrorCode>('ARCHIVE_UNAVAILABLE', `${w.cpv}: ${(e as Error).message}`, { cause: e });
      }
      for (const bad of got.badHolders) {
        this.say(`holder ${bad.holder.peer.slice(0, 12)} served bad bytes for ${w.archiveSha256.slice(0, 16)}…: ${bad.reason}`);
        await this.client.reportHolder(w.archiveSha256, bad.holder.peer, bad.reason).catch(() => undefined);
      }
    }
    if (!this.inspected.has(w.archiveSha256)) {
      let refusal: { code: string; reason: string } | undefined;
      try {
        const info = await inspectPackage(this.store.path(w.archiveSha256), { format: 'gpkg', signal });
        if (info.outputDigest !== w.outputDigest || info.buildKey !== w.buildKey) refusal = { code: 'OUTPUT_MISMATCH', reason: 'the archive does not contain the attested output' };
        else if (this.db.archiveBuildTime(w.archiveSha256) !== (info.metadata.buildTime ?? null)) this.db.setArchiveBuildTime(w.archiveSha256, info.metadata.buildTime ?? null);
      } catch (e) {
        await this.store.remove(w.archiveSha256);
        this.db.dropCache(w.archiveSha256);
        // A missing decompressor or an I/O failure says nothing about the bytes: try again next time.
        if (!isBinswarmError(e) || e.code === 'COMPRESSOR_MISSING' || signal?.aborted) throw new BinswarmError<ArchiveErrorCode>('ARCHIVE_UNAVAILABLE', `${w.cpv}: archive could not be read: ${(e as Error).message}`, { cause: e });
        refusal = { code: e.code, reason: e.message };
      }
      if (refusal) {
        await this.store.remove(w.archiveSha256);
        this.db.dropCache(w.archiveSha256);
        this.db.refuse({ cpv: w.cpv, buildKey: w.buildKey, archive: w.archiveSha256, ...refusal });
        this.say(`${w.cpv}: archive ${w.archiveSha256.slice(0, 16)}… refused: ${refusal.reason} [${refusal.code}]`);
        throw new BinswarmError(refusal.code, `${w.cpv}: archive ${w.archiveSha256.slice(0, 16)}… refused: ${refusal.reason}`);
      }
      this.inspected.add(w.archiveSha256);
    }
    this.db.touchCache(w.archiveSha256, w.size, this.now());
    await this.evict(w.archiveSha256);
  }

  /** Drops least recently used archives until the cache fits its cap (never the one just asked for). */
  private async evict(keep: string): Promise<void> {
    const entries = this.db.cacheEntries();
    let total = entries.reduce((a, e) => a + e.size, 0);
    for (const e of entries) {
      if (total <= this.capBytes) break;
      if (e.sha256 === keep) continue;
      await this.store.remove(e.sha256);
      this.db.dropCache(e.sha256);
      this.inspected.delete(e.sha256);
      total -= e.size;
      this.say(`cache: evicted ${e.sha256.slice(0, 16)}… (${e.size} bytes, least recently used)`);
    }
  }

  /** Marks a cached archive as used now (served from cache). */
  touch(sha256: string, size: number): void {
    this.db.touchCache(sha256, size, this.now());
  }
}
