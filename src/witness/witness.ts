/**
 * A witness: follows a coordinator's log and cosigns each new checkpoint
 * (c2sp.org/tlog-cosignature) only after checking it extends the last one
 * it cosigned — by recomputing the tree from the entry bundles, starting
 * from the right edge it kept. Two checkpoints of one size with different
 * roots, or entries that do not lead to the signed root, are a fork: it
 * refuses to cosign and writes both signed notes to DIR/evidence/.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinatorClient } from '../api/client.js';
import { TileClient } from '../api/tile-client.js';
import { BinswarmError } from '../errors.js';
import { cosign, openCheckpoint } from '../log/checkpoint.js';
import { followLog } from '../log/follow.js';
import { TreeEdge } from '../log/tiles.js';
import { LogForkError } from '../log/verifier.js';
import { publicKeyFromRaw, type NamedKey, type PrivateKey } from '../trust/keys.js';

export interface WitnessOptions {
  coordinator: string;
  /** Tiles (default <coordinator>/log). */
  logUrl?: string;
  dataDir: string;
  name: string;
  key: PrivateKey;
  /** The log's key; when absent, the first one seen is kept (and never silently changed). */
  log?: NamedKey;
  now?: () => number;
}

interface WitnessState {
  logKey?: string;
  logKeyName?: string;
  checkpoint?: string;
  size: number;
  edge: string[];
}

export interface WitnessResult {
  size: number;
  /** True when a new cosignature was made and submitted. */
  cosigned: boolean;
  witnesses?: number;
}

function statePath(dir: string): string {
  return join(dir, 'witness.json');
}

function load(dir: string): WitnessState {
  try {
    return JSON.parse(readFileSync(statePath(dir), 'utf8')) as WitnessState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { size: 0, edge: [] };
    throw new BinswarmError('BAD_WITNESS_STATE', `cannot read ${statePath(dir)}: ${(e as Error).message}`);
  }
}

function save(dir: string, s: WitnessState): void {
  const tmp = `${statePath(dir)}.tmp`;
  writeFileSync(tmp, JSON.stringify(s), { flush: true });
  renameSync(tmp, statePath(dir));
}

function keepEvidence(dir: string, e: LogForkError, now: number): string {
  const d = join(dir, 'evidence');
  mkdirSync(d, { recursive: true });
  const path = join(d, `fork-${now}.json`);
  writeFileSync(path, JSON.stringify({ message: e.message, ...e.evidence }, null, 2));
  return path;
}

/** One round: check the coordinator's newest checkpoint, cosign it if it extends ours, submit the cosignature. */
export async function witnessOnce(o: WitnessOptions): Promise<WitnessResult> {
  mkdirSync(o.dataDir, { recursive: true });
  const now = o.now ?? Date.now;
  const client = new CoordinatorClient(o.coordinator, o.key);
  const tiles = new TileClient(o.logUrl ?? `${o.coordinator.replace(/\/+$/, '')}/log`);
  const state = load(o.dataDir);
  let log = o.log;
  if (!log && state.logKey && state.logKeyName) log = { name: state.logKeyName, key: publicKeyFromRaw(Buffer.from(state.logKey, 'base64')) };
  if (!log) {
    const info = await client.info();
    log = { name: info.logKeyName, key: publicKeyFromRaw(Buffer.from(info.logKey, 'base64')) };
    state.logKey = info.logKey;
    state.logKeyName = info.logKeyName;
  }
  // The newest checkpoint, not the published one: publishing may wait for our cosignature.
  const text = await client.checkpoint();
  const next = openCheckpoint(text, log).checkpoint;
  try {
    if (state.checkpoint) {
      const last = openCheckpoint(state.checkpoint, log).checkpoint;
      if (last.origin !== next.origin) throw new BinswarmError('ORIGIN_MISMATCH', `checkpoint is for log '${next.origin}', we witness '${last.origin}'`);
      if (next.size < last.size) throw new BinswarmError('LOG_ROLLBACK', `log went back from size ${last.size} to ${next.size}`);
      if (next.size === last.size && Buffer.compare(Buffer.from(next.root), Buffer.from(last.root)) !== 0) {
        throw new LogForkError(`log fork: two different roots for tree size ${next.size}`, { trusted: state.checkpoint, presented: text });
      }
    }
    const edge = await followLog({ edge: TreeEdge.restore(state.size, state.edge.map((h) => Buffer.from(h, 'hex'))), to: next, fetchBundle: (t) => tiles.tile(t) }).catch((e: unknown) => {
      if ((e as BinswarmError).code !== 'ROOT_MISMATCH') throw e;
      throw new LogForkError(`log fork: the entries after size ${state.size} do not lead to the signed root of size ${next.size}`, { trusted: state.checkpoint ?? '', presented: text }, e);
    });
    const line = cosign(text, o.name, o.key, Math.floor(now() / 1000));
    const r = await client.submitCosignature(next.size, o.name, line);
    save(o.dataDir, { ...state, checkpoint: text, size: edge.size, edge: edge.hashes().map((h) => Buffer.from(h).toString('hex')) });
    return { size: next.size, cosigned: true, witnesses: r.witnesses };
  } catch (e) {
    if (e instanceof LogForkError) {
      const path = keepEvidence(o.dataDir, e, now());
      throw new LogForkError(`${e.message}; refused to cosign, evidence in ${path}`, e.evidence, e.cause);
    }
    throw e;
  }
}
