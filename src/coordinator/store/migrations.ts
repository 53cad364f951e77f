/**
 * Versioned schema, one list for both backends. Each step is plain SQL with
 * the few dialect differences spelled out ({blob}, {bigint}), plus an
 * optional back-fill in code (for data SQL cannot read, such as signed
 * payloads), run in the same transaction; applying is idempotent and a
 * database newer than the code is refused.
 */
import type { Db } from './db.js';
import { backfillAbiRefs } from './abi-index.js';

export interface Migration {
  version: number;
  sql: string;
  backfill?: (db: Db) => Promise<void>;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE peers (key_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, roles TEXT NOT NULL, url TEXT, capacity {bigint} NOT NULL DEFAULT 0,
  failure_domain TEXT, first_seen {bigint} NOT NULL, last_seen {bigint} NOT NULL);
CREATE TABLE nonces (key_id TEXT NOT NULL, nonce TEXT NOT NULL, expires_at {bigint} NOT NULL, PRIMARY KEY (key_id, nonce));
CREATE TABLE log_meta (id INTEGER PRIMARY KEY CHECK (id = 1), size {bigint} NOT NULL);
INSERT INTO log_meta (id, size) VALUES (1, 0);
CREATE TABLE log_nodes (level INTEGER NOT NULL, idx {bigint} NOT NULL, hash {blob} NOT NULL, PRIMARY KEY (level, idx));
CREATE TABLE log_leaves (idx {bigint} PRIMARY KEY, data {blob} NOT NULL);
CREATE TABLE checkpoints (size {bigint} PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE attestations (id TEXT PRIMARY KEY, signer TEXT NOT NULL, kind TEXT NOT NULL, cpv TEXT NOT NULL, chost TEXT NOT NULL,
  build_key TEXT NOT NULL, config_key TEXT NOT NULL, output_digest TEXT NOT NULL, archive_sha256 TEXT NOT NULL, archive_size {bigint} NOT NULL,
  piece_root TEXT NOT NULL, time {bigint} NOT NULL, log_index {bigint} NOT NULL UNIQUE, envelope TEXT NOT NULL);
CREATE INDEX attestations_cpv ON attestations (cpv, log_index);
CREATE INDEX attestations_chost ON attestations (chost, log_index);
CREATE INDEX attestations_config ON attestations (config_key, log_index);
CREATE INDEX attestations_build ON attestations (build_key);
CREATE TABLE certificates (id TEXT PRIMARY KEY, subject TEXT NOT NULL, issuer TEXT NOT NULL, role TEXT NOT NULL, name TEXT NOT NULL,
  not_before {bigint} NOT NULL, not_after {bigint} NOT NULL, log_index {bigint} NOT NULL UNIQUE, envelope TEXT NOT NULL);
CREATE INDEX certificates_subject ON certificates (subject);
CREATE TABLE revocations (id TEXT PRIMARY KEY, subject TEXT NOT NULL, issuer TEXT NOT NULL, time {bigint} NOT NULL,
  log_index {bigint} NOT NULL UNIQUE, envelope TEXT NOT NULL);
CREATE TABLE disputes (build_key TEXT PRIMARY KEY, cpv TEXT NOT NULL, output_digests TEXT NOT NULL, first_seen {bigint} NOT NULL, log_index {bigint} NOT NULL);
CREATE TABLE archives (sha256 TEXT PRIMARY KEY, size {bigint} NOT NULL, piece_root TEXT NOT NULL, output_digest TEXT NOT NULL);
CREATE INDEX archives_output ON archives (output_digest);
CREATE TABLE holders (archive_sha256 TEXT NOT NULL, peer TEXT NOT NULL, url TEXT NOT NULL, announced_at {bigint} NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (archive_sha256, peer));
CREATE TABLE binrevs (config_key TEXT NOT NULL, build_key TEXT NOT NULL, binrev INTEGER NOT NULL, log_index {bigint} NOT NULL,
  PRIMARY KEY (config_key, build_key), UNIQUE (config_key, binrev));
CREATE TABLE demand (peer TEXT NOT NULL, config_key TEXT NOT NULL, time {bigint} NOT NULL, PRIMARY KEY (peer, config_key));
`,
  },
  {
    // The coordinator's receipt time of each statement (the logTime in its leaf), served with it.
    version: 2,
    sql: `
ALTER TABLE attestations ADD COLUMN log_time {bigint} NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN log_time {bigint} NOT NULL DEFAULT 0;
ALTER TABLE revocations ADD COLUMN log_time {bigint} NOT NULL DEFAULT 0;
`,
  },
  {
    // Swarm and mirrors: partial holders, who reported whom (a holder reported by
    // enough distinct peers is no longer handed out), peer health probes.
    version: 3,
    sql: `
ALTER TABLE holders ADD COLUMN partial INTEGER NOT NULL DEFAULT 0;
CREATE TABLE holder_reports (archive_sha256 TEXT NOT NULL, peer TEXT NOT NULL, reporter TEXT NOT NULL, reason TEXT NOT NULL, time {bigint} NOT NULL,
  PRIMARY KEY (archive_sha256, peer, reporter));
ALTER TABLE peers ADD COLUMN probe_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE peers ADD COLUMN last_probe {bigint};
`,
  },
  {
    // Demand totals, the build queue with its leases, builders seen, build
    // times and the canonical listings that explain disputes (issue 11).
    // jobs_queue keeps the queue ordered by priority inside each
    // (state, pool, chost): taking the next job is one index descent. The
    // other job indexes but jobs_expiry leave out state, so a lease (a state
    // change) touches two indexes.
    version: 4,
    sql: `
CREATE TABLE demand_configs (config_key TEXT PRIMARY KEY, cpv TEXT NOT NULL, pkg TEXT NOT NULL, chost TEXT NOT NULL, spec TEXT NOT NULL,
  config TEXT, score {double} NOT NULL, peers {bigint} NOT NULL, updated_at {bigint} NOT NULL);
CREATE TABLE jobs (id {serial}, kind TEXT NOT NULL, demand_key TEXT NOT NULL, config_key TEXT, build_key TEXT, target_output TEXT,
  cpv TEXT NOT NULL, pkg TEXT NOT NULL, chost TEXT NOT NULL, spec TEXT NOT NULL, config TEXT, state TEXT NOT NULL, pool TEXT NOT NULL,
  weight {double} NOT NULL, priority {double} NOT NULL, holder TEXT, lease_id TEXT, lease_expires {bigint}, attempts INTEGER NOT NULL DEFAULT 0,
  attestation TEXT, note TEXT NOT NULL, created_at {bigint} NOT NULL, updated_at {bigint} NOT NULL);
CREATE INDEX jobs_queue ON jobs (state, pool, chost, priority DESC, id);
CREATE INDEX jobs_expiry ON jobs (state, lease_expires);
CREATE INDEX jobs_demand ON jobs (demand_key);
CREATE INDEX jobs_pkg ON jobs (pkg);
CREATE INDEX jobs_build ON jobs (build_key);
CREATE TABLE leases (id TEXT PRIMARY KEY, job_id {bigint} NOT NULL, holder TEXT NOT NULL, started_at {bigint} NOT NULL, ended_at {bigint}, outcome TEXT);
CREATE TABLE builders (key_id TEXT PRIMARY KEY, operator TEXT NOT NULL, chost TEXT NOT NULL, backends TEXT NOT NULL, last_seen {bigint} NOT NULL);
CREATE INDEX builders_chost ON builders (chost, last_seen);
CREATE TABLE build_times (pkg TEXT PRIMARY KEY, seconds {double} NOT NULL, builds {bigint} NOT NULL);
CREATE TABLE listings (output_digest TEXT PRIMARY KEY, image_digest TEXT NOT NULL, metadata_digest TEXT NOT NULL, image TEXT NOT NULL,
  metadata TEXT NOT NULL, uploader TEXT NOT NULL, time {bigint} NOT NULL);
`,
  },
  {
    // Lazy listing (the metadata sheet a gateway checks against outputDigest) and witness cosignatures per checkpoint size.
    version: 5,
    sql: `
CREATE TABLE output_metadata (output_digest TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE cosignatures (size {bigint} NOT NULL, witness TEXT NOT NULL, line TEXT NOT NULL, time {bigint} NOT NULL, PRIMARY KEY (size, witness));
`,
  },
  {
    // Per attested output: its SLOT and soname lists, as the builder uploaded
    // them with its listings; they decide which ABI rebuilds get queued (issue 14).
    version: 6,
    sql: `
CREATE TABLE output_abi (output_digest TEXT PRIMARY KEY, slot TEXT NOT NULL, provides TEXT NOT NULL, requires TEXT NOT NULL);
`,
  },
  {
    // Dashboard (issue 15): each peer's latest served-bytes counter, peers by
    // last contact (the page lists the most recent, never all), the
    // coordinator's periodic samples the charts draw (a bounded window), and
    // each build's trust level, kept up to date from what is new in the log
    // (dashboard_cursor: the last attestation and revocation taken in).
    version: 7,
    sql: `
ALTER TABLE peers ADD COLUMN served {bigint} NOT NULL DEFAULT 0;
CREATE INDEX peers_last_seen ON peers (last_seen);
CREATE TABLE dashboard_samples (time {bigint} PRIMARY KEY, queued {bigint} NOT NULL, leased {bigint} NOT NULL, peers {bigint} NOT NULL,
  served {bigint} NOT NULL, configs {bigint} NOT NULL, levels TEXT NOT NULL);
CREATE TABLE dashboard_levels (build_key TEXT PRIMARY KEY, level INTEGER NOT NULL);
CREATE INDEX dashboard_levels_level ON dashboard_levels (level);
CREATE TABLE dashboard_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), attestations {bigint} NOT NULL, revocations {bigint} NOT NULL);
INSERT INTO dashboard_cursor (id, attestations, revocations) VALUES (1, -1, -1);
`,
  },
  {
    // ABI-rebuild planning by index instead of a scan of the CHOST (issue 14,
    // store/abi-index.ts): which builds are of a package, depend with := on a
    // slot, link a soname. Back-filled from the attestations and ABI uploads
    // already stored. A soname rebuild job names the sonames it must drop.
    version: 8,
    sql: `
CREATE TABLE abi_refs (chost TEXT NOT NULL, ref TEXT NOT NULL, config_key TEXT NOT NULL, build_key TEXT NOT NULL, PRIMARY KEY (chost, ref, build_key));
CREATE INDEX attestations_output ON attestations (output_digest);
ALTER TABLE jobs ADD COLUMN unlink TEXT;
`,
    backfill: backfillAbiRefs,
  },
  {
    // Verify assignment picks a random active builder by one index descent
    // from a random key id (scheduler-store.ts randomActiveBuilder) instead of
    // reading every active builder of the CHOST on each lease call; placement
    // reads the peers that are down by index, not every peer.
    version: 9,
    sql: `
CREATE INDEX builders_chost_key ON builders (chost, key_id);
CREATE INDEX peers_probe_failures ON peers (probe_failures);
CREATE INDEX peers_mirrors ON peers (key_id) WHERE roles LIKE '%"mirror"%';
`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function dialect(sql: string, kind: 'sqlite' | 'postgres'): string {
  return sql
    .replaceAll('{blob}', kind === 'sqlite' ? 'BLOB' : 'BYTEA')
    .replaceAll('{bigint}', kind === 'sqlite' ? 'INTEGER' : 'BIGINT')
    .replaceAll('{double}', kind === 'sqlite' ? 'REAL' : 'DOUBLE PRECISION')
    .replaceAll('{serial}', kind === 'sqlite' ? 'INTEGER PRIMARY KEY' : 'BIGSERIAL PRIMARY KEY');
}
