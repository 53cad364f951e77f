/**
 * One refresh of the gateway's copy of the log: verify the new checkpoint
 * (log signature, the witnesses the policy requires, same origin, no
 * rollback, no second root for a size already seen), fetch only the entry
 * bundles past the last verified size, recompute the tree from the stored
 * right edge and commit the new statements only if the root matches.
 */
import type { TileClient } from '../api/tile-client.js';
import { BinswarmError } from '../errors.js';
import { openCheckpoint, verifyCosignatures, type SignedCheckpoint } from '../log/checkpoint.js';
import type { NamedKey } from '../trust/keys.js';
import { followLog } from '../log/follow.js';
import { TreeEdge } from '../log/tiles.js';
import { LogForkError, type WitnessPolicy } from '../log/verifier.js';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { IndexReply } from './index-worker.js';
import { indexLeaf, KIND, type IndexedLeaf } from './leaf-index.js';
import type { LocalDb } from './local-db.js';

export interface SyncOptions {
  log: NamedKey | readonly NamedKey[];
  witnesses: WitnessPolicy;
  chost: string;
  now: () => number;
  signal?: AbortSignal;
  /** Syncs of at least this many bundles index on a worker thread (default 16). */
  workerFromBundles?: number;
}

export interface SyncResult {
  size: number;
  from: number;
  /** Builds of our CHOST whose trust may have changed; 'all' after a sync from the empty tree. */
  touched: Set<string> | 'all';
  /** Certificates or revocations arrived: the key statements cached in memory are stale. */
  keysChanged: boolean;
}

/** Below this many bundles a worker costs more to start than it saves. */
const WORKER_FROM_BUNDLES = 16;

/** The index worker, or undefined where it cannot run (e.g. from the TypeScript sources). */
function startIndexWorker(chost: string, lastTime: number) {
  const file = new URL('./index-worker.js', import.meta.url);
  if (!existsSync(file)) return undefined;
  const w = new Worker(file, { workerData: { chost, lastTime } });
  const waiting: { resolve: (r: IndexReply) => void; reject: (e: Error) => void }[] = [];
  let failed: Error | undefined;
  let last = lastTime;
  w.on('message', (r: IndexReply) => waiting.shift()?.resolve(r));
  const fail = (e: Error) => {
    failed ??= e;
    for (const x of waiting.splice(0)) x.reject(failed);
  };
  w.on('error', fail);
  w.on('exit', () => fail(new BinswarmError('INTERNAL', 'the index worker stopped')));
  return {
    async index(first: number, entries: Uint8Array[]): Promise<{ i: number; ix: IndexedLeaf }[]> {
      if (failed) throw failed;
      // Its own ArrayBuffer (never Buffer's shared pool): it is transferred.
      const bytes = new Uint8Array(entries.reduce((a, e) => a + e.length, 0));
      let at = 0;
      for (const e of entries) {
        bytes.set(e, at);
        at += e.length;
      }
      const reply = await new Promise<IndexReply>((resolve, reject) => {
        waiting.push({ resolve, reject });
        w.postMessage({ first, bytes, lengths: entries.map((e) => e.length) }, [bytes.buffer]);
      });
      if ('error' in reply) throw new BinswarmError(reply.error.code, reply.error.message);
      last = reply.lastTime;
      return reply.rows;
    },
    lastTime: () => last,
    close: () => w.terminate().then(() => undefined),
  };
}

export function loadEdge(db: LocalDb): TreeEdge {
  const size = Number(db.get('size') ?? 0);
  const hashes = JSON.parse(db.get('edge') ?? '[]') as string[];
  return TreeEdge.restore(size, hashes.map((h) => Buffer.from(h, 'hex')));
}

/** Checks a presented checkpoint against what we verified before; returns it opened. */
function checkCheckpoint(db: LocalDb, text: string, o: SyncOptions): { next: SignedCheckpoint; trusted?: SignedCheckpoint } {
  const next = openCheckpoint(text, o.log);
  if (o.witnesses.required > 0) verifyCosignatures(next, o.witnesses);
  const trustedText = db.get('checkpoint');
  if (!trustedText) return { next };
  const trusted = openCheckpoint(trustedText, o.log);
  const [m, n] = [trusted.checkpoint, next.checkpoint];
  if (m.origin !== n.origin) throw new BinswarmError('ORIGIN_MISMATCH', `checkpoint is for log '${n.origin}', expected '${m.origin}'`);
  if (n.size < m.size) throw new BinswarmError('LOG_ROLLBACK', `log went back from size ${m.size} to ${n.size}`);
  if (n.size === m.size && Buffer.compare(Buffer.from(n.root), Buffer.from(m.root)) !== 0) {
    throw new LogForkError(`log fork: two different roots for tree size ${n.size}`, { trusted: trustedText, presented: text });
  }
  return { next, trusted };
}

export async function syncLog(db: LocalDb, tiles: TileClient, o: SyncOptions): Promise<SyncResult> {
  const text = await tiles.checkpoint(o.signal);
  const { next } = checkCheckpoint(db, text, o);
  const edge = loadEdge(db);
  const from = edge.size;
  const touched = from === 0 ? ('all' as const) : new Set<string>();
  const keys: string[] = [];
  let lastTime = Number(db.get('lastLogTime') ?? 0);
  const bundles = Math.ceil((next.checkpoint.size - from) / 256);
  // A large sync indexes on another thread while this one fetches, hashes and stores.
  const worker = bundles >= (o.workerFromBundles ?? WORKER_FROM_BUNDLES) ? startIndexWorker(o.chost, lastTime) : undefined;
  let pending: Promise<void> = Promise.resolve();
  const keep = (first: number, entries: Uint8Array[], rows: { i: number; ix: IndexedLeaf }[]) => {
    for (const { ix } of rows) {
      if (ix.kind === KIND.attestation) {
        if (touched !== 'all') touched.add(ix.buildKey!);
      } else keys.push(ix.subject!);
    }
    db.insertStatements(rows.map(({ i, ix }) => ({ idx: first + i, ix, leaf: entries[i]! })));
  };
  db.begin();
  try {
    if (from === 0) db.deferIndexes();
    const grown = await followLog({
      edge,
      to: next.checkpoint,
      fetchBundle: (t) => tiles.tile(t, o.signal),
      onEntries: async (first, entries) => {
        if (worker) {
          // Hand this bundle over, then store the previous one: indexing overlaps the next fetch and hash.
          const done = worker.index(first, entries).then((rows) => keep(first, entries, rows));
          done.catch(() => undefined);
          const previous = pending;
          pending = done;
          return previous;
        }
        const rows: { i: number; ix: IndexedLeaf }[] = [];
        for (let i = 0; i < entries.length; i++) {
          const { logTime, ix } = indexLeaf(entries[i]!);
          // Every leaf carries the coordinator's receipt time, never going back: a log where it does is refused whole.
          if (logTime === undefined) throw new BinswarmError('BAD_LEAF', `leaf ${first + i} is malformed (no logTime)`);
          if (logTime < lastTime) throw new BinswarmError('LOG_TIME_BACKWARDS', `log time goes backwards: leaf ${first + i} says ${new Date(logTime).toISOString()}, after ${new Date(lastTime).toISOString()}`);
          lastTime = logTime;
          // Builds for another CHOST can never be listed here: not kept.
          if (!ix || (ix.kind === KIND.attestation && ix.chost !== o.chost)) continue;
          rows.push({ i, ix });
        }
        keep(first, entries, rows);
      },
    }).catch((e: unknown) => {
      if ((e as BinswarmError).code === 'ROOT_MISMATCH') {
        throw new LogForkError(`log fork: the entries after size ${from} do not lead to the signed root of size ${next.checkpoint.size}`, { trusted: db.get('checkpoint') ?? '', presented: text }, e);
      }
      throw e;
    });
    await pending;
    if (worker) lastTime = worker.lastTime();
    if (from === 0) db.restoreIndexes();
    if (touched !== 'all') for (const k of keys) for (const b of db.buildsTouchedByKey(k)) touched.add(b);
    db.set('checkpoint', text);
    db.set('size', String(grown.size));
    db.set('edge', JSON.stringify(grown.hashes().map((h) => Buffer.from(h).toString('hex'))));
    db.set('verifiedAt', String(o.now()));
    db.set('lastLogTime', String(lastTime));
    db.commit();
    return { size: grown.size, from, touched, keysChanged: keys.length > 0 };
  } catch (e) {
    await pending.catch(() => undefined);
    db.rollback();
    throw e;
  } finally {
    await worker?.close();
  }
}

/**
 * The state's own checks on open: the stored edge must hash to the stored,
 * validly signed checkpoint's root and no statement may lie past it.
 * Returns why it fails, or undefined when it holds.
 */
export function selfCheck(db: LocalDb, log: NamedKey | readonly NamedKey[]): string | undefined {
  try {
    if (db.damaged) return db.damaged;
    const text = db.get('checkpoint');
    if (!text) return db.maxIndex() >= 0 ? 'statements without a checkpoint' : undefined;
    const cp = openCheckpoint(text, log).checkpoint;
    const edge = loadEdge(db);
    if (edge.size !== cp.size) return `edge size ${edge.size} differs from checkpoint size ${cp.size}`;
    if (Buffer.compare(Buffer.from(edge.root()), Buffer.from(cp.root)) !== 0) return 'stored tree edge does not hash to the checkpoint root';
    if (db.maxIndex() >= cp.size) return 'statements beyond the verified checkpoint';
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
