/**
 * The coordinator's state, behind one interface with two backends (SQLite
 * for one machine, PostgreSQL for replicas). The coordinator keeps signed
 * objects and indexes them; it decides nothing about trust for clients.
 */
import type { HashStore } from '../../log/hash-store.js';
import type { AbiRefRow } from './abi-index.js';
import type { DashboardStore } from './dashboard-store.js';
import type { DemandStore } from './demand-store.js';
import type { SchedulerStore } from './scheduler-store.js';

export interface PeerRecord {
  keyId: string;
  publicKey: string;
  roles: string[];
  url: string | null;
  capacity: number;
  failureDomain: string | null;
  firstSeen: number;
  lastSeen: number;
  /** Consecutive failed health probes (read-only here: see recordProbe). */
  probeFailures?: number;
  lastProbe?: number | null;
  /** Bytes the peer says it has served (its latest report; absent: keep the last one). */
  served?: number;
}

export interface AttestationRecord {
  id: string;
  signer: string;
  kind: string;
  cpv: string;
  chost: string;
  buildKey: string;
  configKey: string;
  outputDigest: string;
  archiveSha256: string;
  archiveSize: number;
  pieceRoot: string;
  time: number;
  logIndex: number;
  /** The coordinator's receipt time, as in the leaf (ms since the epoch). */
  logTime: number;
  envelope: string;
}

export interface CertificateRecord {
  id: string;
  subject: string;
  issuer: string;
  role: string;
  name: string;
  notBefore: number;
  notAfter: number;
  logIndex: number;
  logTime: number;
  envelope: string;
}

export interface RevocationRecord {
  id: string;
  subject: string;
  issuer: string;
  time: number;
  logIndex: number;
  logTime: number;
  envelope: string;
}

export interface DisputeRecord {
  buildKey: string;
  cpv: string;
  outputDigests: string[];
  firstSeen: number;
  logIndex: number;
}

export interface HolderRecord {
  archiveSha256: string;
  peer: string;
  url: string;
  announcedAt: number;
  /** Distinct peers that reported this holder for this archive. */
  failures: number;
  /** Still downloading: serves only the pieces its bitmap shows. */
  partial: boolean;
}

export interface PlacementArchiveRow {
  sha256: string;
  size: number;
  pieceRoot: string;
  /** Distinct peers that asked for this archive's configKey since the cut-off. */
  demand: number;
}

export interface ArchiveRecord {
  sha256: string;
  size: number;
  pieceRoot: string;
  outputDigest: string;
}

export interface AttestationQuery {
  cpv?: string;
  chost?: string;
  configKey?: string;
  buildKey?: string;
  /** Return records with logIndex > after (paging cursor). */
  after?: number;
  limit?: number;
}

/** Writes, inside one transaction. */
export interface StoreTx {
  log: HashStore;
  /** Leaf data for indices first, first+1, … */
  putLeaves(first: number, datas: readonly Uint8Array[]): Promise<void>;
  /** Data of the log's last leaf (undefined when the log is empty). */
  lastLeaf(): Promise<Buffer | undefined>;
  insertCertificate(r: CertificateRecord): Promise<boolean>;
  insertRevocation(r: RevocationRecord): Promise<boolean>;
  upsertDispute(r: DisputeRecord): Promise<'new' | 'updated' | 'same'>;
  putCheckpoint(size: number, text: string): Promise<void>;
  /** What ingesting a batch of attestations needs to know, one query per table (not one per attestation). */
  attestationContext(q: { buildKeys: string[]; archives: string[]; configKeys: string[] }): Promise<AttestationContext>;
  /** New rows only (the caller has checked they are new), multi-row inserts. */
  insertAttestations(rows: AttestationRecord[]): Promise<void>;
  insertArchives(rows: ArchiveRecord[]): Promise<void>;
  insertBinrevs(rows: BinrevRecord[]): Promise<void>;
  /** Reverse-dependency index rows of new buildKeys (abi-index.ts); rows already there are kept. */
  insertAbiRefs(rows: AbiRefRow[]): Promise<void>;
}

export interface BinrevRecord {
  configKey: string;
  buildKey: string;
  binrev: number;
  logIndex: number;
}

export interface AttestationContext {
  /** Per buildKey asked for: its attestations in log order, without envelopes. */
  siblings: Map<string, Pick<AttestationRecord, 'id' | 'outputDigest' | 'logIndex' | 'logTime'>[]>;
  archives: Map<string, ArchiveRecord>;
  /** Per configKey asked for: every buildKey's binrev. */
  binrevs: Map<string, Map<string, number>>;
  /** Disputes of the buildKeys asked for. */
  disputes: Map<string, DisputeRecord>;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Read-only view of the log (outside transactions). */
  log: HashStore;
  /** Jobs, leases, builders, listings (the scheduler's tables). */
  readonly scheduler: SchedulerStore;
  /** Demand per peer and config, build times. */
  readonly demand: DemandStore;
  /** Bounded lists, counts and samples for the dashboard. */
  readonly dashboard: DashboardStore;
  close(): Promise<void>;
  /** Makes committed writes durable against power loss (before signing a checkpoint over them). */
  syncHard(): Promise<void>;

  upsertPeer(p: PeerRecord): Promise<void>;
  getPeer(keyId: string): Promise<PeerRecord | undefined>;
  listPeers(): Promise<PeerRecord[]>;
  /** Peers that registered the mirror role (placement reads these, not every peer). */
  listMirrorPeers(): Promise<PeerRecord[]>;
  /** Key ids of peers with at least `minFailures` consecutive failed probes (by index). */
  downPeerIds(minFailures: number): Promise<string[]>;
  countPeers(): Promise<number>;
  /** False if (keyId, nonce) was already used (a replay). */
  useNonce(keyId: string, nonce: string, expiresAt: number, now: number): Promise<boolean>;

  queryAttestations(q: AttestationQuery): Promise<AttestationRecord[]>;
  listCertificates(after?: number, limit?: number): Promise<CertificateRecord[]>;
  certificatesOf(subject: string): Promise<CertificateRecord[]>;
  listRevocations(after?: number, limit?: number): Promise<RevocationRecord[]>;
  revocationsOf(subject: string): Promise<RevocationRecord[]>;
  listDisputes(buildKey?: string): Promise<DisputeRecord[]>;
  getArchive(sha256: string): Promise<ArchiveRecord | undefined>;
  archivesWithOutput(outputDigest: string): Promise<ArchiveRecord[]>;
  /** Adds or refreshes a holder; announcing complete after partial upgrades it. */
  addHolder(h: Omit<HolderRecord, 'failures' | 'partial'> & { partial?: boolean }): Promise<void>;
  removeHolder(sha256: string, peer: string): Promise<void>;
  holdersOf(sha256: string): Promise<HolderRecord[]>;
  /** Every holder row (placement's view of what is where). */
  allHolders(): Promise<HolderRecord[]>;
  /** Records one peer's report (once per reporter); returns how many distinct peers have reported this holder. */
  reportBadHolder(sha256: string, peer: string, reporter?: string, reason?: string, time?: number): Promise<number>;
  /** Health probe result: failures count up, a success resets them. */
  recordProbe(keyId: string, ok: boolean, time: number): Promise<void>;
  /** Every archive with its demand since `since` (placement input). */
  placementArchives(since: number): Promise<PlacementArchiveRow[]>;
  getLeaves(from: number, to: number): Promise<Buffer[]>;
  /** Stored log node hashes at one level, indices [from, to) (a hash tile); stops at the first missing one. */
  logNodeRange(level: number, from: number, to: number): Promise<Buffer[]>;
  latestCheckpoint(): Promise<{ size: number; text: string } | undefined>;
  checkpointAt(size: number): Promise<string | undefined>;
  /** The newest checkpoint with at least `min` witness cosignatures. */
  latestCosigned(min: number): Promise<{ size: number; text: string } | undefined>;
  /** One cosignature line per (size, witness): a newer one replaces the older. */
  putCosignature(size: number, witness: string, line: string, time: number): Promise<void>;
  cosignaturesAt(size: number): Promise<string[]>;
  /** First sheet wins: it is checked against outputDigest, so any valid one is the same statement. */
  putOutputMetadata(outputDigest: string, body: string): Promise<boolean>;
  getOutputMetadata(outputDigest: string): Promise<string | undefined>;
  binrevOf(buildKey: string): Promise<number | undefined>;
  recordDemand(peer: string, configKey: string, time: number): Promise<void>;
  demandFor(configKey: string, since: number): Promise<number>;
}
