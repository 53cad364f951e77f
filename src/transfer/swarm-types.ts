/** What the swarm downloader takes and reports (swarm.ts). */
import type { Bitfield } from './bitfield.js';
import type { PartialFile } from './partial-file.js';
import type { Clock, TokenBucket } from './token-bucket.js';

export type SwarmErrorCode = 'BLOB_UNAVAILABLE' | 'BLOB_DIGEST_MISMATCH';

export interface SwarmHolder {
  url: string;
  peer: string;
  /** Still downloading: ask it which pieces it has (`<hex>.have`). */
  partial?: boolean;
}

export interface SwarmProgress {
  have: number;
  total: number;
  bytes: number;
  size: number;
  /** Bytes this run has fetched (duplicates and rejected pieces included). */
  fetched: number;
  holders: number;
  /** Bytes per second over the run so far. */
  rate: number;
}

export interface SwarmOptions {
  /** Concurrent requests per holder. */
  perHolder?: number;
  /** A request that receives nothing for this long is a stall. */
  stallMs?: number;
  /** Shared download-rate limit. */
  bucket?: TokenBucket;
  signal?: AbortSignal;
  clock?: Clock;
  onProgress?: (p: SwarmProgress) => void;
  onBadHolder?: (holder: SwarmHolder, reason: string) => void;
  /** Asked again for holders when every known one is gone (the tracker). */
  refreshHolders?: () => Promise<SwarmHolder[]>;
  /** Called once the piece list is known and again per verified piece (lets a node serve what it has). */
  onPartial?: (pf: PartialFile) => void;
}

export interface SwarmResult {
  resumedPieces: number;
  fetchedPieces: number;
  fetchedBytes: number;
  badHolders: { holder: SwarmHolder; reason: string }[];
  /** Verified bytes per holder URL. */
  servedBy: Record<string, number>;
}

export interface HolderState {
  h: SwarmHolder;
  have: Bitfield | 'all';
  active: number;
  errors: number;
  stalls: number;
  dead?: string;
  busyUntil: number;
  /** In-flight requests and the pieces each is for. */
  requests: Map<AbortController, number[]>;
}

