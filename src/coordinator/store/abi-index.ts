/**
 * The reverse-dependency index ABI-rebuild planning reads (issue 14), so
 * that planning for one library costs what its reverse dependencies cost,
 * not what the whole CHOST holds. One row per (CHOST, key, buildKey), the
 * keys being those of coordinator/abi-rebuild.ts: `pkg:<cat/pkg>` (a build
 * of that package), `dep:<cat/pkg>:<slot>` (a `:=` dependency on that slot,
 * from depAbi) and `so:<soname>` (a link, from the config's links or the
 * REQUIRES its builder uploaded). Filled when a new buildKey is attested
 * and when an output's ABI data arrives; migration 8 back-fills it.
 */
import type { OutputAbi } from '../../api/v1.js';
import type { BuildConfig } from '../../formats/build-config.js';
import { refsOfConfig, soRef } from '../abi-rebuild.js';
import type { Db, Row } from './db.js';

export interface AbiRefRow {
  chost: string;
  ref: string;
  configKey: string;
  buildKey: string;
}

/** The latest build (highest binrev) of one configuration, with one attestation of it and its ABI data when uploaded. */
export interface LatestBuild {
  configKey: string;
  buildKey: string;
  outputDigest: string;
  envelope: string;
  abi?: OutputAbi;
}

export const configOfEnvelope = (envelope: string): BuildConfig =>
  (JSON.parse(Buffer.from((JSON.parse(envelope) as { payload: string }).payload, 'base64').toString('utf8')) as { buildConfig: BuildConfig }).buildConfig;

export function refRowsOf(chost: string, configKey: string, buildKey: string, config: BuildConfig): AbiRefRow[] {
  return refsOfConfig(config).map((ref) => ({ chost, ref, configKey, buildKey }));
}

/** Multi-row insert; a row already there is kept (one build is indexed by every attestation and upload that names it). */
export async function insertAbiRefs(db: Db, rows: readonly AbiRefRow[]): Promise<void> {
  const per = 200;
  for (let at = 0; at < rows.length; at += per) {
    const part = rows.slice(at, at + per);
    await db.run(`INSERT INTO abi_refs (chost, ref, config_key, build_key) VALUES ${part.map(() => '(?, ?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING`, part.flatMap((r) => [r.chost, r.ref, r.configKey, r.buildKey]));
  }
}

/** The builds that attested `outputDigest` link `requires` (ABI data can arrive after the attestation, and old configs have no links). */
export async function indexRequires(db: Db, outputDigest: string, requires: readonly string[]): Promise<void> {
  if (requires.length === 0) return;
  const builds = await db.all('SELECT DISTINCT chost, config_key, build_key FROM attestations WHERE output_digest = ?', [outputDigest]);
  await insertAbiRefs(db, builds.flatMap((b) => requires.map((s) => ({ chost: String(b.chost), ref: soRef(s), configKey: String(b.config_key), buildKey: String(b.build_key) }))));
}

/** `prefix (?, ?, …) suffix` over distinct values, in chunks of 500 parameters. */
async function selectIn(db: Db, prefix: string, values: readonly string[], suffix = '', before: unknown[] = []): Promise<Row[]> {
  const distinct = [...new Set(values)];
  const rows: Row[] = [];
  for (let at = 0; at < distinct.length; at += 500) {
    const part = distinct.slice(at, at + 500);
    rows.push(...(await db.all(`${prefix} (${part.map(() => '?').join(', ')}) ${suffix}`, [...before, ...part])));
  }
  return rows;
}

/** Configurations with a build indexed under any of `refs` in `chost`. */
export async function configsWithRefs(db: Db, chost: string, refs: readonly string[]): Promise<string[]> {
  const rows = await selectIn(db, 'SELECT DISTINCT config_key FROM abi_refs WHERE chost = ? AND ref IN', refs, '', [chost]);
  return [...new Set(rows.map((r) => String(r.config_key)))];
}

/** The latest build of each configuration: its highest binrev (binrevs are assigned in log order). */
export async function latestBuilds(db: Db, configKeys: readonly string[]): Promise<LatestBuild[]> {
  const top = await selectIn(db, 'SELECT b.config_key, b.build_key FROM binrevs b WHERE b.binrev = (SELECT MAX(c.binrev) FROM binrevs c WHERE c.config_key = b.config_key) AND b.config_key IN', configKeys);
  const atts = new Map<string, Row>();
  for (const a of await selectIn(db, 'SELECT build_key, output_digest, envelope, log_index FROM attestations WHERE build_key IN', top.map((r) => String(r.build_key)), 'ORDER BY log_index')) {
    if (!atts.has(String(a.build_key))) atts.set(String(a.build_key), a);
  }
  const abis = new Map<string, OutputAbi>();
  for (const r of await selectIn(db, 'SELECT * FROM output_abi WHERE output_digest IN', [...atts.values()].map((a) => String(a.output_digest)))) {
    abis.set(String(r.output_digest), { slot: String(r.slot), provides: JSON.parse(String(r.provides)) as string[], requires: JSON.parse(String(r.requires)) as string[] });
  }
  const out: LatestBuild[] = [];
  for (const r of top) {
    const a = atts.get(String(r.build_key));
    if (!a) continue;
    const abi = abis.get(String(a.output_digest));
    out.push({ configKey: String(r.config_key), buildKey: String(r.build_key), outputDigest: String(a.output_digest), envelope: String(a.envelope), ...(abi ? { abi } : {}) });
  }
  return out;
}

/** Migration 8: index every build already attested and every REQUIRES already uploaded. */
export async function backfillAbiRefs(db: Db): Promise<void> {
  for (let after = -1; ; ) {
    const page = await db.all('SELECT chost, config_key, build_key, envelope, log_index FROM attestations WHERE log_index > ? ORDER BY log_index LIMIT 1000', [after]);
    if (page.length === 0) break;
    const rows: AbiRefRow[] = [];
    const seen = new Set<string>();
    for (const a of page) {
      if (seen.has(String(a.build_key))) continue;
      seen.add(String(a.build_key));
      try {
        rows.push(...refRowsOf(String(a.chost), String(a.config_key), String(a.build_key), configOfEnvelope(String(a.envelope))));
      } catch {
        // Every logged envelope was checked on ingest; a row that does not decode indexes nothing rather than block the upgrade.
      }
    }
    await insertAbiRefs(db, rows);
    after = Number(page[page.length - 1]!.log_index);
  }
  for (const r of await db.all('SELECT output_digest, requires FROM output_abi')) await indexRequires(db, String(r.output_digest), JSON.parse(String(r.requires)) as string[]);
}
