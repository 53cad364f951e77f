/**
 * Census: what this machine has installed, as build configs, for the
 * coordinator's demand count. Only the build configs leave the machine —
 * no file lists, no hostnames, no package contents.
 */
import { CoordinatorClient } from '../api/client.js';
import type { DemandReply } from '../api/v1.js';
import type { BuildConfig } from '../formats/build-config.js';
import { readVdb, vdbPath, type VdbReport } from '../formats/vdb.js';
import type { PrivateKey } from '../trust/keys.js';

export interface Census {
  /** The package database read. */
  vdb: string;
  /** One per configKey (several slots of one config count once), sorted by cpv. */
  configs: { cpv: string; configKey: string; config: BuildConfig }[];
  problems: VdbReport['problems'];
}

/** Census of `ROOT/var/db/pkg` (or of the package database `opts.vdb`). */
export async function takeCensus(root: string, opts: { vdb?: string } = {}): Promise<Census> {
  const path = opts.vdb ?? vdbPath(root);
  const vdb = await readVdb(path);
  const byKey = new Map<string, Census['configs'][number]>();
  for (const p of vdb.packages) if (!byKey.has(p.configKey)) byKey.set(p.configKey, { cpv: p.cpv, configKey: p.configKey, config: p.config });
  return { vdb: path, configs: [...byKey.values()].sort((a, b) => a.cpv.localeCompare(b.cpv)), problems: vdb.problems };
}

/** Exactly what goes over the wire: the body of POST /v1/demand. */
export function censusPayload(c: Census): { configs: BuildConfig[] } {
  return { configs: c.configs.map((x) => x.config) };
}

export async function submitCensus(c: Census, coordinator: string, key: PrivateKey): Promise<DemandReply> {
  return new CoordinatorClient(coordinator, key).submitDemand(censusPayload(c).configs);
}
