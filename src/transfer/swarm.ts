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
import { BinswarmError } from '../errors.js';
import { Bitfield } from './bitfield.js';
import { PartialFile } from './partial-file.js';
import { PieceSink } from './piece-sink.js';
import { extendRun, pickPiece, type PickerView } from './picker.js';
import type { HolderState, SwarmErrorCode, SwarmHolder, SwarmOptions, SwarmResult } from './swarm-types.js';
import { blobUrl, getBytes, RangeClient } from './holder-http.js';
import { decodePieceList, pieceCount, pieceSpan } from './pieces.js';
import { systemClock } from './token-bucket.js';

export type { SwarmErrorCode, SwarmHolder, SwarmOptions, SwarmProgress, SwarmResult } from './swarm-types.js';

/** Most pieces one Range request asks for. */
const MAX_RUN = 8;

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

  // 2. Verification, writes and the whole-file sha256 run on a worker thread (piece-sink.ts).
  const sink = await PieceSink.open(dataPath, size, pieces, (i) => file.have.has(i)).catch(async (e) => {
    await file.close();
    throw e;
  });
  const http = new RangeClient(perHolder + 1);

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

  const view = (st: HolderState, mine: Set<number>): PickerView => ({
    n,
    have: (i) => file.have.has(i),
    holderHas: (i) => holderHas(st, i),
    mine: (i) => mine.has(i),
    copies: (i) => inflight.get(i) ?? 0,
    availability,
  });
  const pick = (st: HolderState, mine: Set<number>) => pickPiece(view(st, mine));
  const extend = (st: HolderState, first: number): number[] => {
    let slots = 0;
    for (const h of holders.values()) if (!h.dead) slots += perHolder;
    return extendRun(view(st, new Set()), first, slots, MAX_RUN);
  };

  const get = (url: string, headers: Record<string, string>, signal: AbortSignal) => http.get(url, headers, signal);

  /** Verifies and stores one piece; false if it is bad. A duplicate of a piece already (being) written is dropped unchecked. */
  const accept = async (st: HolderState, i: number, buf: Buffer): Promise<boolean> => {
    if (file.have.has(i) || writing.has(i)) return true;
    writing.add(i);
    let ok: boolean;
    try {
      // Hash (worker) and write (thread pool) at once; only a verified, written piece counts.
      [ok] = await Promise.all([sink.verify(i, buf), file.writePiece(i, buf)]);
      if (ok) {
        await file.markHave(i);
        sink.written(i);
      }
    } finally {
      writing.delete(i);
    }
    if (!ok) return false;
    result.fetchedPieces++;
    result.servedBy[st.h.url] = (result.servedBy[st.h.url] ?? 0) + buf.length;
    // Endgame duplicates of this piece are no longer needed.
    for (const other of holders.values()) for (const [c, r] of other.requests) if (r.length === 1 && r[0] === i) c.abort('dup');
    progress();
    return true;
  };

  /**
   * Fetches a run of pieces in one Range request; each piece is handed to
   * accept() as soon as its bytes are in. Resolves when the body is in, with
   * a promise for the checks still running (the slot fetches its next run
   * meanwhile).
   */
  const fetchRun = async (st: HolderState, run: number[], handed: (i: number) => void, done: (i: number) => void): Promise<{ checked: Promise<unknown> }> => {
    const start = pieceSpan(run[0]!, size).start;
    const end = pieceSpan(run[run.length - 1]!, size).end;
    const ctrl = new AbortController();
    st.requests.set(ctrl, run);
    // Stall watch: one timer per request, checking when data last came (not a timer per chunk).
    let lastData = clock.now();
    const arm = () => void (lastData = clock.now());
    const timer = setInterval(() => {
      if (clock.now() - lastData >= stallMs) ctrl.abort(new BinswarmError('STALLED', `no data for ${stallMs} ms`));
    }, Math.max(50, Math.min(1000, stallMs / 4)));
    const pending: Promise<void>[] = [];
    try {
      const signal = opts.signal ? AbortSignal.any([opts.signal, ctrl.signal]) : ctrl.signal;
      const res = await get(blobUrl(st.h.url, sha256), { range: `bytes=${start}-${Math.max(start, end - 1)}` }, signal);
      if (res.statusCode === 503) {
        res.resume();
        throw Object.assign(new Error('busy'), { busy: true });
      }
      const whole = res.statusCode === 200 && start === 0 && end === size;
      if (res.statusCode !== 206 && !whole) {
        res.resume();
        throw Object.assign(new Error(`HTTP ${res.statusCode}`), { missing: res.statusCode === 404 || res.statusCode === 416 });
      }
      let k = 0;
      let buf = PieceSink.alloc(pieceSpan(run[0]!, size).end - start);
      let got = 0;
      for await (const chunk of res as AsyncIterable<Buffer>) {
        arm();
        let at = 0;
        while (at < chunk.length) {
          if (k >= run.length) {
            res.destroy();
            throw Object.assign(new Error(`sent more than the ${end - start} bytes asked for`), { lie: true });
          }
          const take = Math.min(chunk.length - at, buf.length - got);
          chunk.copy(buf, got, at, at + take);
          got += take;
          at += take;
          if (got === buf.length) {
            const i = run[k]!;
            const piece = buf;
            handed(i);
            const handled = accept(st, i, piece).then(
              (ok) => {
                done(i);
                if (!ok) {
                  bad(st, `served a bad piece ${i} of ${sha256.slice(0, 16)}… (hash mismatch)`);
                  throw Object.assign(new Error('bad piece'), { banned: true });
                }
              },
              (e: unknown) => {
                done(i);
                if (e instanceof BinswarmError) fatal ??= e; // a full disk, an I/O error: the download stops
                throw e;
              },
            );
            handled.catch(() => undefined); // awaited later; never an unhandled rejection meanwhile
            pending.push(handled);
            k++;
            if (k < run.length) {
              buf = PieceSink.alloc(pieceSpan(run[k]!, size).end - pieceSpan(run[k]!, size).start);
              got = 0;
            }
          }
        }
        result.fetchedBytes += chunk.length;
        if (opts.bucket) await opts.bucket.take(chunk.length, signal);
      }
      if (k !== run.length) throw new Error(`pieces ${run[0]}–${run[run.length - 1]}: short response`);
    } catch (e) {
      await Promise.allSettled(pending);
      if (ctrl.signal.reason === 'dup') throw Object.assign(new Error('duplicate no longer needed'), { dup: true });
      if (ctrl.signal.reason instanceof BinswarmError) throw Object.assign(new Error(`stalled (no data for ${stallMs} ms)`), { stalled: true });
      throw e;
    } finally {
      clearInterval(timer);
      st.requests.delete(ctrl);
    }
    const checked = Promise.all(pending);
    checked.catch(() => undefined);
    return { checked };
  };

  let fatal: unknown;
  const slot = async (st: HolderState) => {
    const mine = new Set<number>();
    let idle = 0;
    // The previous run's piece checks, still running while this slot fetches the next run.
    let prev: Promise<unknown> = Promise.resolve();
    try {
      while (!fatal && !st.dead && !file.have.complete()) {
        opts.signal?.throwIfAborted();
        if (st.busyUntil > clock.now()) {
          await clock.sleep(st.busyUntil - clock.now(), opts.signal);
          continue;
        }
        const first = pick(st, mine);
        if (first === undefined) {
          // Nothing for this holder now: wait for a change (a piece done, a holder gone, a bitmap refresh).
          await nap(1000);
          // Nothing in flight anywhere and still nothing to take: this holder has nothing we need.
          if ([...inflight.values()].every((c) => c === 0) && ++idle >= (st.have === 'all' ? 1 : 10)) return;
          continue;
        }
        idle = 0;
        const run = extend(st, first);
        const live = new Set(run);
        const notHanded = new Set(run);
        for (const i of run) {
          mine.add(i);
          inflight.set(i, (inflight.get(i) ?? 0) + 1);
        }
        const release = (i: number) => {
          if (!live.delete(i)) return;
          mine.delete(i);
          inflight.set(i, (inflight.get(i) ?? 1) - 1);
          notify();
        };
        try {
          const { checked } = await fetchRun(st, run, (i) => notHanded.delete(i), release);
          st.errors = 0;
          await prev;
          prev = checked.catch(() => undefined);
        } catch (e) {
          const err = e as Error & { busy?: boolean; missing?: boolean; lie?: boolean; stalled?: boolean; dup?: boolean; banned?: boolean };
          if (opts.signal?.aborted) throw opts.signal.reason;
          if (err.dup) continue;
          if (err instanceof BinswarmError) {
            fatal ??= err;
            break;
          }
          if (st.dead || err.banned) break;
          if (err.lie) bad(st, err.message);
          else if (err.busy) st.busyUntil = clock.now() + 500;
          else if (err.stalled) {
            if (++st.stalls >= 2) bad(st, err.message);
          } else if (err.missing && st.have !== 'all') for (const i of run) st.have.clear(i);
          else if (++st.errors >= 3) bad(st, `unreachable or failing: ${err.message}`);
        } finally {
          // Pieces whose bytes never came go back to the pool; handed ones are released by their check.
          for (const i of [...notHanded]) release(i);
        }
      }
    } finally {
      await prev;
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
    const got = (await sink.finish()) ?? '';
    await file.sync();
    if (got !== sha256) {
      await file.close();
      await PartialFile.discard(dataPath);
      throw new BinswarmError<SwarmErrorCode>('BLOB_DIGEST_MISMATCH', `all pieces match pieceRoot but the whole hashes to ${got.slice(0, 16)}…, not ${sha256.slice(0, 16)}… (the attestation is inconsistent)`);
    }
    await file.close();
    await sink.close();
    http.destroy();
    return { ...result, file };
  } catch (e) {
    for (const st of holders.values()) for (const c of st.requests.keys()) c.abort();
    await file.close();
    await sink.close();
    http.destroy();
    if ((e as BinswarmError).code === 'DISK_FULL') await PartialFile.discard(dataPath);
    throw e;
  }
}
