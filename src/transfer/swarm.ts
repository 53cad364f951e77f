/**
 * The piece swarm downloader (in the manner of BitTorrent's piece picker):
 * one archive, many holders, 1 MiB pieces over HTTP Range. Each holder gets
 * a few request slots; a free slot takes the rarest missing piece that
 * holder has (ties: lowest index, which keeps disk writes and the running
 * sha256 sequential), so fast holders naturally serve more. When nothing is
 * left unrequested, idle slots duplicate in-flight pieces (endgame) and the
 * first verified copy wins. Every piece is checked against the piece list,
 * itself checked against the attested pieceRoot, before it is written. A
 * holder that sends a bad piece is banned at once; one that stalls or keeps
 * failing is dropped; both are returned (and passed to onBadHolder) so the
 * caller can report them. Progress is on disk (PartialFile): a killed
 * download resumes with only what is missing.
 */
import { createHash } from 'node:crypto';
import { BinswarmError } from '../errors.js';
import { Bitfield } from './bitfield.js';
import { PartialFile } from './partial-file.js';
import { decodePieceList, pieceCount, pieceSpan } from './pieces.js';
import { systemClock, type Clock, type TokenBucket } from './token-bucket.js';

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

interface HolderState {
  h: SwarmHolder;
  have: Bitfield | 'all';
  active: number;
  errors: number;
  stalls: number;
  dead?: string;
  busyUntil: number;
  /** In-flight requests and the piece each is for. */
  requests: Map<AbortController, number>;
}

const blobUrl = (base: string, hex: string) => `${base.replace(/\/+$/, '')}/blobs/sha256/${hex.slice(0, 2)}/${hex}`;

/** GET a small side file (piece list, bitmap) with a timeout; undefined on 404 or any failure. */
async function getBytes(url: string, signal: AbortSignal | undefined, timeoutMs: number, max: number): Promise<Buffer | undefined> {
  try {
    const s = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
    const res = await fetch(url, { signal: s });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    const len = Number(res.headers.get('content-length') ?? 0);
    if (len > max) {
      await res.body?.cancel();
      return undefined;
    }
    const buf = Buffer.from(await res.arrayBuffer());
    return buf.length <= max ? buf : undefined;
  } catch {
    signal?.throwIfAborted();
    return undefined;
  }
}

export async function swarmDownload(
  archive: { sha256: string; size: number; pieceRoot: string },
  initialHolders: SwarmHolder[],
  dataPath: string,
  opts: SwarmOptions = {},
): Promise<SwarmResult & { file: PartialFile }> {
  const { sha256, size, pieceRoot } = archive;
  const clock = opts.clock ?? systemClock;
  const perHolder = opts.perHolder ?? 4;
  const stallMs = opts.stallMs ?? 15_000;
  const n = pieceCount(size);
  const result: SwarmResult = { resumedPieces: 0, fetchedPieces: 0, fetchedBytes: 0, badHolders: [], servedBy: {} };
  const holders = new Map<string, HolderState>();
  const bad = (st: HolderState, reason: string) => {
    if (st.dead) return;
    st.dead = reason;
    for (const c of st.requests.keys()) c.abort();
    result.badHolders.push({ holder: st.h, reason });
    opts.onBadHolder?.(st.h, reason);
  };
  const addHolders = (list: SwarmHolder[]) => {
    for (const h of list) if (!holders.has(h.url)) holders.set(h.url, { h, have: h.partial ? new Bitfield(n) : 'all', active: 0, errors: 0, stalls: 0, busyUntil: 0, requests: new Map() });
  };
  addHolders(initialHolders);

  // 1. The piece list: saved from an earlier attempt, or from the first holder whose list matches pieceRoot.
  let pieces = await PartialFile.savedPieces(dataPath, size, pieceRoot);
  for (const st of holders.values()) {
    if (pieces) break;
    const bytes = await getBytes(`${blobUrl(st.h.url, sha256)}.pieces`, opts.signal, stallMs, n * 32);
    if (!bytes) continue;
    try {
      pieces = decodePieceList(bytes, size, pieceRoot);
    } catch (e) {
      bad(st, (e as Error).message);
    }
  }
  if (!pieces) throw new BinswarmError<SwarmErrorCode>('BLOB_UNAVAILABLE', `no holder served a piece list for ${sha256.slice(0, 16)}… that matches its pieceRoot (${holders.size} holder(s))`);
  const file = await PartialFile.open(dataPath, size, pieces);
  result.resumedPieces = file.resumed;
  opts.onPartial?.(file);

  // 2. Whole-file sha256, fed in order as pieces complete (usually straight from memory).
  const whole = createHash('sha256');
  let hashed = 0;
  const ahead = new Map<number, Buffer>();
  let hashing: Promise<void> = Promise.resolve();
  const advance = () => {
    hashing = hashing.then(async () => {
      while (hashed < n && file.have.has(hashed)) {
        const buf = ahead.get(hashed) ?? (await file.readPiece(hashed));
        ahead.delete(hashed);
        whole.update(buf);
        hashed++;
      }
    });
  };
  advance();

  const inflight = new Map<number, number>();
  /** Pieces being written (an endgame duplicate finishing meanwhile is dropped). */
  const writing = new Set<number>();
  const started = clock.now();
  const progress = () => {
    const have = file.have.count();
    const secs = Math.max(1e-3, (clock.now() - started) / 1000);
    opts.onProgress?.({ have, total: n, bytes: Math.min(size, have * (1 << 20)), size, fetched: result.fetchedBytes, holders: [...holders.values()].filter((s) => !s.dead).length, rate: result.fetchedBytes / secs });
  };
  progress();
  let wake: () => void = () => {};
  let changed = new Promise<void>((r) => (wake = r));
  const notify = () => {
    const w = wake;
    changed = new Promise<void>((r) => (wake = r));
    w();
  };
  /** Waits for a change or `ms`, whichever first, leaving no timer behind. */
  const nap = async (ms: number, also?: Promise<unknown>) => {
    const c = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, c.signal]) : c.signal;
    try {
      await Promise.race([changed, clock.sleep(ms, signal).catch(() => undefined), ...(also ? [also] : [])]);
    } finally {
      c.abort();
    }
    opts.signal?.throwIfAborted();
  };
  const availability = (i: number) => {
    let c = 0;
    for (const s of holders.values()) if (!s.dead && (s.have === 'all' || s.have.has(i))) c++;
    return c;
  };
  const holderHas = (st: HolderState, i: number) => st.have === 'all' || st.have.has(i);

  const pick = (st: HolderState, mine: Set<number>): number | undefined => {
    let best: number | undefined;
    let bestAvail = Infinity;
    let endgame: number | undefined;
    let endgameCopies = Infinity;
    for (let i = 0; i < n; i++) {
      if (file.have.has(i) || !holderHas(st, i) || mine.has(i)) continue;
      const copies = inflight.get(i) ?? 0;
      if (copies === 0) {
        const a = availability(i);
        if (a < bestAvail) [best, bestAvail] = [i, a];
      } else if (copies < 2 && copies < endgameCopies) [endgame, endgameCopies] = [i, copies];
    }
    if (best !== undefined) return best;
    // Endgame only once nothing is unrequested anywhere.
    for (let i = 0; i < n; i++) if (!file.have.has(i) && (inflight.get(i) ?? 0) === 0) return undefined;
    return endgame;
  };

  const fetchPiece = async (st: HolderState, i: number): Promise<Buffer> => {
    const { start, end } = pieceSpan(i, size);
    const ctrl = new AbortController();
    st.requests.set(ctrl, i);
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => ctrl.abort(new BinswarmError('STALLED', `no data for ${stallMs} ms`)), stallMs);
    };
    arm();
    try {
      const signal = opts.signal ? AbortSignal.any([opts.signal, ctrl.signal]) : ctrl.signal;
      const res = await fetch(blobUrl(st.h.url, sha256), { headers: { range: `bytes=${start}-${Math.max(start, end - 1)}` }, signal });
      if (res.status === 503) {
        await res.body?.cancel();
        throw Object.assign(new Error('busy'), { busy: true });
      }
      const whole = res.status === 200 && start === 0 && end === size;
      if (res.status !== 206 && !whole) {
        await res.body?.cancel();
        throw Object.assign(new Error(`HTTP ${res.status}`), { missing: res.status === 404 || res.status === 416 });
      }
      const buf = Buffer.allocUnsafe(end - start);
      let got = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        arm();
        if (got + chunk.length > buf.length) throw Object.assign(new Error(`sent more than the ${buf.length} bytes of piece ${i}`), { lie: true });
        buf.set(chunk, got);
        got += chunk.length;
        result.fetchedBytes += chunk.length;
        if (opts.bucket) await opts.bucket.take(chunk.length, signal);
      }
      if (got !== buf.length) throw new Error(`piece ${i}: ${got} of ${buf.length} bytes`);
      return buf;
    } catch (e) {
      if (ctrl.signal.reason === 'dup') throw Object.assign(new Error('duplicate no longer needed'), { dup: true });
      if (ctrl.signal.reason instanceof BinswarmError) throw Object.assign(new Error(`stalled (no data for ${stallMs} ms)`), { stalled: true });
      throw e;
    } finally {
      clearTimeout(timer);
      st.requests.delete(ctrl);
    }
  };

  let fatal: unknown;
  const slot = async (st: HolderState) => {
    const mine = new Set<number>();
    let idle = 0;
    while (!fatal && !st.dead && !file.have.complete()) {
      opts.signal?.throwIfAborted();
      if (st.busyUntil > clock.now()) {
        await clock.sleep(st.busyUntil - clock.now(), opts.signal);
        continue;
      }
      const i = pick(st, mine);
      if (i === undefined) {
        // Nothing for this holder now: wait for a change (a piece done, a holder gone, a bitmap refresh).
        await nap(1000);
        // Nothing in flight anywhere and still nothing to take: this holder has nothing we need.
        if ([...inflight.values()].every((c) => c === 0) && ++idle >= (st.have === 'all' ? 1 : 10)) return;
        continue;
      }
      idle = 0;
      mine.add(i);
      inflight.set(i, (inflight.get(i) ?? 0) + 1);
      try {
        const buf = await fetchPiece(st, i);
        if (!createHash('sha256').update(buf).digest().equals(pieces[i]!)) {
          bad(st, `served a bad piece ${i} of ${sha256.slice(0, 16)}… (hash mismatch)`);
          break;
        }
        st.errors = 0;
        if (!file.have.has(i) && !writing.has(i)) {
          writing.add(i);
          await file.writePiece(i, buf).finally(() => writing.delete(i));
          if (i >= hashed && ahead.size < 64) ahead.set(i, buf);
          result.fetchedPieces++;
          result.servedBy[st.h.url] = (result.servedBy[st.h.url] ?? 0) + buf.length;
          // Endgame duplicates of this piece are no longer needed.
          for (const other of holders.values()) for (const [c, p] of other.requests) if (p === i) c.abort('dup');
          advance();
          progress();
        }
      } catch (e) {
        const err = e as Error & { busy?: boolean; missing?: boolean; lie?: boolean; stalled?: boolean; dup?: boolean };
        if (opts.signal?.aborted) throw opts.signal.reason;
        if (err.dup) continue;
        if (err instanceof BinswarmError) {
          fatal = err;
          break;
        }
        if (st.dead) break;
        if (err.lie) bad(st, err.message);
        else if (err.busy) st.busyUntil = clock.now() + 500;
        else if (err.stalled) {
          if (++st.stalls >= 2) bad(st, err.message);
        } else if (err.missing && st.have !== 'all') st.have.clear(i);
        else if (++st.errors >= 3) bad(st, `unreachable or failing: ${err.message}`);
      } finally {
        mine.delete(i);
        inflight.set(i, (inflight.get(i) ?? 1) - 1);
        notify();
      }
    }
  };

  // Partial holders: ask which pieces they have now and then.
  let lastRefresh = 0;
  const refreshBitmaps = async () => {
    lastRefresh = clock.now();
    for (const st of holders.values()) {
      if (st.dead || st.have === 'all') continue;
      const bytes = await getBytes(`${blobUrl(st.h.url, sha256)}.have`, opts.signal, stallMs, Math.ceil(n / 8));
      if (bytes && bytes.length === Math.ceil(n / 8)) st.have = new Bitfield(n, bytes);
    }
    notify();
  };

  try {
    const running = new Map<HolderState, Promise<void>[]>();
    const startSlots = () => {
      for (const st of holders.values()) if (!running.has(st) && !st.dead) running.set(st, Array.from({ length: perHolder }, () => slot(st)));
    };
    let rounds = 0;
    while (!file.have.complete() && !fatal) {
      await refreshBitmaps();
      startSlots();
      const all = Promise.all([...running.values()].flat());
      let done = false;
      void all.finally(() => (done = true)).catch(() => undefined);
      while (!done) {
        await nap(2000, all.catch(() => undefined));
        if (!done && clock.now() - lastRefresh >= 2000 && [...holders.values()].some((s) => !s.dead && s.have !== 'all')) await refreshBitmaps();
      }
      await all;
      if (file.have.complete() || fatal) break;
      // Everyone we knew is gone or has nothing more: ask the tracker again.
      const fresh = opts.refreshHolders ? await opts.refreshHolders().catch(() => []) : [];
      const before = holders.size;
      addHolders(fresh);
      for (const st of holders.values()) if (!st.dead) running.delete(st);
      if ((holders.size === before && ++rounds >= 3) || ![...holders.values()].some((s) => !s.dead)) break;
      await clock.sleep(500, opts.signal);
    }
    if (fatal) throw fatal;
    if (!file.have.complete()) {
      throw new BinswarmError<SwarmErrorCode>('BLOB_UNAVAILABLE', `${n - file.have.count()} of ${n} pieces of ${sha256.slice(0, 16)}… could not be fetched (progress kept for resume): ${[...holders.values()].map((s) => `${s.h.url}: ${s.dead ?? 'had nothing more'}`).join('; ') || 'no holders'}`);
    }
    advance();
    await hashing;
    const got = whole.digest('hex');
    if (got !== sha256) {
      await file.close();
      await PartialFile.discard(dataPath);
      throw new BinswarmError<SwarmErrorCode>('BLOB_DIGEST_MISMATCH', `all pieces match pieceRoot but the whole hashes to ${got.slice(0, 16)}…, not ${sha256.slice(0, 16)}… (the attestation is inconsistent)`);
    }
    await file.finish();
    return { ...result, file };
  } catch (e) {
    for (const st of holders.values()) for (const c of st.requests.keys()) c.abort();
    await file.close();
    if ((e as BinswarmError).code === 'DISK_FULL') await PartialFile.discard(dataPath);
    throw e;
  }
}
