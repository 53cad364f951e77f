/**
 * What a gateway remembers between runs (DIR/gateway.json): the last
 * checkpoint it verified (so the coordinator can never show it a shorter or
 * forked history), the log key it first trusted, and the BUILD_ID it gave
 * each archive, which must stay stable and grow per CPV so Portage sees
 * rebuilds as newer.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface GatewayState {
  logKey?: string;
  checkpoint?: string;
  buildIds: Record<string, Record<string, number>>;
}

export async function loadState(dir: string): Promise<GatewayState> {
  try {
    const s = JSON.parse(await readFile(join(dir, 'gateway.json'), 'utf8')) as Partial<GatewayState>;
    return { logKey: s.logKey, checkpoint: s.checkpoint, buildIds: s.buildIds ?? {} };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { buildIds: {} };
    throw e;
  }
}

export async function saveState(dir: string, state: GatewayState): Promise<void> {
  const tmp = join(dir, `.gateway.json.${randomBytes(4).toString('hex')}`);
  await writeFile(tmp, JSON.stringify(state), { flush: true });
  await rename(tmp, join(dir, 'gateway.json'));
}

/** The BUILD_ID of an archive for its CPV: stable once given, new ones above every earlier one. */
export function buildIdFor(state: GatewayState, cpv: string, archiveSha256: string): number {
  const ids = (state.buildIds[cpv] ??= {});
  if (ids[archiveSha256] === undefined) ids[archiveSha256] = Math.max(0, ...Object.values(ids)) + 1;
  return ids[archiveSha256]!;
}
