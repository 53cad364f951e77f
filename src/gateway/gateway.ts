/**
 * The consumer side: a Portage binhost of exactly what the local policy
 * trusts and this system can use, kept up to date at the cost of what is
 * new in the log.
 *
 * refresh(): follow the tiled log from the last verified checkpoint
 * (sync.ts), re-evaluate only the builds the new entries touch
 * (evaluate-builds.ts), then list every trusted build of our CHOST whose
 * verified metadata matches the local USE configuration. Nothing is
 * downloaded to list a build; archives are fetched and verified when
 * Portage asks (archive-cache.ts). The listing survives restarts in the
 * local state and is served while the coordinator is away — up to the
 * policy's max-staleness.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinatorClient } from '../api/client.js';
import { TileClient } from '../api/tile-client.js';
import { BinswarmError } from '../errors.js';
import { splitCpv } from '../formats/atom.js';
import { verifyOutputMetadata } from '../formats/output-metadata.js';
import { packagesEntryOf } from '../formats/packages-entry.js';
import { formatPackagesIndex, type PackagesIndex } from '../formats/packages-index.js';
import type { NamedKey } from '../log/checkpoint.js';
import { LogForkError } from '../log/verifier.js';
import { BlobStore } from '../transfer/blob-store.js';
import type { BlobFetcher } from '../transfer/fetch-blob.js';
import { SwarmFetcher } from '../transfer/swarm-fetcher.js';
import type { TrustResult } from '../trust/evaluate.js';
import type { PrivateKey } from '../trust/keys.js';
import { publicKeyFromRaw } from '../trust/keys.js';
import type { Policy } from '../trust/policy.js';
import { VerifyPool } from '../trust/verify-pool.js';
import { ArchiveCache } from './archive-cache.js';
import { evaluateBuilds, loadKeyStatements, type KeyStatements } from './evaluate-builds.js';
import { useMatches, type LocalUse } from './local-config.js';
import { LocalDb, type RefusedArchive } from './local-db.js';
import { selfCheck, syncLog } from './sync.js';

export interface ListedPackage {
  path: string;
  cpv: string;
  buildId: number;
  archiveSha256: string;
  size: number;
  outputDigest: string;
  buildKey: string;
  level: number;
}

export interface GatewayOptions {
  coordinator: string;
  /** The tiled log's URL (default: <coordinator>/log); a mirror or CDN works as well. */
  logUrl?: string;
  dataDir: string;
  policy: Policy;
  chost: string;
  /** Local USE configuration; undefined lists every USE variant. */
  localUse?: LocalUse;
  /** Cap of the verified-archive cache, bytes. */
  cacheBytes?: number;
  /** Signs holder reports; without it bad holders are only skipped. */
  key?: PrivateKey;
  fetcher?: BlobFetcher;
  now?: () => number;
  log?: (line: string) => void;
}

export interface GatewayView {
  index: PackagesIndex;
  packages: Map<string, ListedPackage>;
  checkpointSize: number;
  /** When the checkpoint this view rests on was verified (ms). */
  verifiedAt: number;
}

export interface RefreshProblem {
  code: string;
  message: string;
  at: number;
}

/** How long a build whose metadata the network did not have waits before it is asked for again. */
const METADATA_RETRY_MS = 10 * 60_000;
/** Builds whose sheet is asked for again per refresh, at most. */
const METADATA_RETRIES = 200;

const HEADER_BASE: [string, string][] = [['ACCEPT_KEYWORDS', ''], ['VERSION', '0']];

export class Gateway {
  private view: GatewayView | undefined;
  private keys: KeyStatements | undefined;
  private logKey: NamedKey | undefined;
  readonly client: CoordinatorClient;
  readonly tiles: TileClient;
  readonly archives: ArchiveCache;
  private readonly pool = new VerifyPool();
  private readonly now: () => number;
  /** Why the last refresh failed (cleared by a good one). */
  lastProblem: RefreshProblem | undefined;
  /** What is listed, per build. */
  private readonly listed = new Map<string, { entry: Map<string, string>; pkg: ListedPackage }>();
  /** Trusted builds whose metadata could not be had, and when it was last tried. */
  private readonly missing = new Map<string, number>();
  private changed = false;
  private formatted: { view: GatewayView; text: string } | undefined;
  /** What the last good refresh did. */
  lastRefresh: { from: number; size: number; reevaluated: number; verified: number } | undefined;

  private constructor(
    private readonly opts: GatewayOptions,
    readonly store: BlobStore,
    readonly db: LocalDb,
  ) {
    this.now = opts.now ?? Date.now;
    this.client = new CoordinatorClient(opts.coordinator, opts.key);
    this.tiles = new TileClient(opts.logUrl ?? `${opts.coordinator.replace(/\/+$/, '')}/log`);
    this.archives = new ArchiveCache(store, db, opts.fetcher ?? new SwarmFetcher(store, { client: new CoordinatorClient(opts.coordinator) }), this.client, opts.cacheBytes ?? 10 * 1024 ** 3, this.now, (l) => this.say(l));
  }

  static async open(opts: GatewayOptions): Promise<Gateway> {
    mkdirSync(opts.dataDir, { recursive: true });
    const store = await BlobStore.open(opts.dataDir);
    let db = LocalDb.open(opts.dataDir);
    const known = opts.policy.log ?? storedLogKey(db);
    const why = known ? selfCheck(db, known) : undefined;
    if (why) {
      // Never trusted blindly: a state that fails its own checks is rebuilt from the log.
      opts.log?.(`local state failed its own check (${why}); rebuilding it from the log`);
      db.close();
      LocalDb.reset(opts.dataDir);
      db = LocalDb.open(opts.dataDir);
    }
    const gw = new Gateway(opts, store, db);
    if (db.get('checkpoint')) gw.view = await gw.buildView(undefined, false);
    return gw;
  }

  async close(): Promise<void> {
    await this.pool.close();
    this.db.close();
  }

  private say(line: string): void {
    this.opts.log?.(line);
  }

  /** The log key: the policy's, else the one first seen (trust on first use, never silently changed after). */
  private async resolveLogKey(): Promise<NamedKey> {
    if (this.opts.policy.log) return this.opts.policy.log;
    if (this.logKey) return this.logKey;
    const stored = storedLogKey(this.db);
    if (stored) return (this.logKey = stored);
    const info = await this.client.info();
    this.db.set('logKey', info.logKey);
    this.db.set('logKeyName', info.logKeyName);
    return (this.logKey = { name: info.logKeyName, key: publicKeyFromRaw(Buffer.from(info.logKey, 'base64')) });
  }

  /** One refresh; on failure the last verified view stays and the reason is kept for /-/status. */
  async refresh(signal?: AbortSignal): Promise<GatewayView> {
    try {
      const log = await this.resolveLogKey();
      const r = await syncLog(this.db, this.tiles, { log, witnesses: { witnesses: this.opts.policy.witnesses.keys, required: this.opts.policy.witnesses.required }, chost: this.opts.chost, now: this.now, signal });
      if (r.keysChanged || !this.keys) this.keys = loadKeyStatements(this.db);
      // A certificate or revocation can change any build: with keys changed on a first sync, everything is new anyway.
      const touched = r.touched === 'all' ? this.db.allBuildKeys(this.opts.chost) : [...r.touched];
      const { verified } = await evaluateBuilds(this.db, touched, { policy: this.opts.policy, chost: this.opts.chost, pool: this.pool, now: new Date(this.now()), keys: this.keys });
      this.view = await this.buildView(r.touched === 'all' ? undefined : touched, true);
      this.lastProblem = undefined;
      this.lastRefresh = { from: r.from, size: r.size, reevaluated: touched.length, verified };
      this.say(`refreshed: checkpoint ${r.from} → ${r.size}, ${touched.length} build(s) re-evaluated, ${verified} signature(s) verified, ${this.view.packages.size} listed`);
      return this.view;
    } catch (e) {
      const err = e as BinswarmError;
      this.lastProblem = { code: err.code ?? 'INTERNAL', message: err.message, at: this.now() };
      if (e instanceof LogForkError) this.keepEvidence(e);
      this.say(`refresh failed, still serving the last verified view: ${err.message}`);
      throw e;
    }
  }

  private keepEvidence(e: LogForkError): void {
    const dir = join(this.opts.dataDir, 'evidence');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `fork-${this.now()}.json`), JSON.stringify({ message: e.message, ...e.evidence }, null, 2));
  }

  /**
   * Re-lists the given builds (all of them when undefined) and assembles the
   * view: a refresh costs what it touched, not what the gateway lists.
   */
  private async buildView(buildKeys: readonly string[] | undefined, fetchMissing: boolean): Promise<GatewayView> {
    const rows = buildKeys === undefined ? this.db.builds(this.opts.chost) : this.db.buildsByKeys(buildKeys);
    const inRows = new Set(rows.map((r) => r.buildKey));
    // At most a few per refresh, so a network without sheets cannot make every refresh cost the whole listing.
    const retry = fetchMissing ? [...this.missing].filter(([k, at]) => this.now() - at >= METADATA_RETRY_MS && !inRows.has(k)).slice(0, METADATA_RETRIES).map(([k]) => k) : [];
    const retryRows = this.db.buildsByKeys(retry);
    if (fetchMissing) await this.prefetchMetadata([...rows, ...retryRows]);
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.buildKey);
      if (await this.relist(row.buildKey, row.status === 'trusted' ? (JSON.parse(row.result) as TrustResult) : undefined, fetchMissing)) this.changed = true;
    }
    for (const k of buildKeys ?? []) if (!seen.has(k) && this.listed.delete(k)) this.changed = true;
    // Builds whose metadata was not to be had last time: tried again now and then.
    for (const row of retryRows) if (await this.relist(row.buildKey, row.status === 'trusted' ? (JSON.parse(row.result) as TrustResult) : undefined, true)) this.changed = true;
    // Restoring the listing at start changes nothing Portage has seen.
    if (buildKeys === undefined && !fetchMissing) this.changed = false;
    // Portage replaces its copy only when TIMESTAMP grows: raise it whenever the listing changes.
    let timestamp = Number(this.db.get('timestamp') ?? 0);
    if (this.changed) {
      timestamp = Math.max(timestamp + 1, Math.floor(this.now() / 1000));
      this.db.set('timestamp', String(timestamp));
      this.changed = false;
    }
    const listed = [...this.listed.values()].sort((a, b) => a.pkg.cpv.localeCompare(b.pkg.cpv) || a.pkg.buildId - b.pkg.buildId);
    const headerRows: [string, string][] = [...HEADER_BASE, ['CHOST', this.opts.chost], ['PACKAGES', String(listed.length)], ['TIMESTAMP', String(timestamp)]];
    const header = new Map<string, string>(headerRows.sort(([a], [b]) => a.localeCompare(b)));
    return {
      index: { header, packages: listed.map((l) => l.entry) },
      packages: new Map(listed.map((l) => [l.pkg.path, l.pkg])),
      checkpointSize: Number(this.db.get('size') ?? 0),
      verifiedAt: Number(this.db.get('verifiedAt') ?? 0),
    };
  }

  /** Lists one build if it is trusted and its verified metadata matches this system; true when its listing changed. */
  private async relist(buildKey: string, r: TrustResult | undefined, fetchMissing: boolean): Promise<boolean> {
    const before = this.listed.get(buildKey);
    this.listed.delete(buildKey);
    this.missing.delete(buildKey);
    const support = r?.outputs.find((o) => o.outputDigest === r.outputDigest);
    // Any archive of the trusted output will do, except one already read and refused.
    const archive = support?.archives.filter((a) => !this.db.refusedOf(a.sha256)).sort((a, b) => a.sha256.localeCompare(b.sha256))[0];
    if (!r || !support || !archive || !r.outputDigest) return before !== undefined;
    const md = this.metadataOf(r.outputDigest);
    if (!md) {
      this.missing.set(buildKey, fetchMissing ? this.now() : 0);
      return before !== undefined;
    }
    // The sheet is bound to the output; the output must be the package that was attested.
    if (md.cpv !== r.cpv) {
      this.say(`${r.cpv}: the output's metadata is for ${md.cpv}; not listed`);
      return before !== undefined;
    }
    const iuse = md.iuse.map((f) => (md.iuseDefaults.includes(f) ? `+${f}` : f));
    if ((md.chost !== '' && md.chost !== this.opts.chost) || !useMatches(md.cpv, md.slot, iuse, md.use, this.opts.localUse)) return before !== undefined;
    const buildId = this.db.buildId(md.cpv, archive.sha256);
    const path = `${md.category}/${splitCpv(md.cpv).pn}/${md.pf}-${buildId}.gpkg.tar`;
    // BUILD_TIME from the attestations (signed), not from unbound metadata: first counted attestation of this output.
    const times = r.attestations.filter((a) => a.counted && a.outputDigest === r.outputDigest && a.time).map((a) => Math.floor(Date.parse(a.time!) / 1000));
    const buildTime = times.length > 0 ? Math.min(...times) : 0;
    const entry = packagesEntryOf(md, { path, size: archive.size, buildId, buildTime, mtime: buildTime, header: new Map([['CHOST', this.opts.chost]]) });
    this.listed.set(buildKey, { entry, pkg: { path, cpv: md.cpv, buildId, archiveSha256: archive.sha256, size: archive.size, outputDigest: r.outputDigest, buildKey: r.buildKey, level: r.level } });
    return before === undefined || JSON.stringify([...before.entry]) !== JSON.stringify([...entry]);
  }

  /** Fetches, in batches, the metadata sheets of trusted builds the local state lacks; each is checked against its outputDigest before it is kept. */
  private async prefetchMetadata(rows: readonly { status: string; result: string }[]): Promise<void> {
    const want = new Set<string>();
    for (const row of rows) {
      if (row.status !== 'trusted') continue;
      const d = (JSON.parse(row.result) as TrustResult).outputDigest;
      if (d && !this.db.metadata(d)) want.add(d);
    }
    if (want.size === 0) return;
    let got: Map<string, unknown>;
    try {
      got = await this.client.outputMetadataBatch([...want]);
    } catch (e) {
      this.say(`metadata could not be fetched (${(e as Error).message}); those builds wait for the next refresh`);
      return;
    }
    for (const [d, sheet] of got) {
      try {
        this.db.putMetadata(d, JSON.stringify(verifyOutputMetadata(sheet, d).sheet));
      } catch (e) {
        this.say(`metadata of output ${d.slice(0, 16)}… refused: ${(e as Error).message}`);
      }
    }
  }

  /** Verified metadata of an output, from the local state (kept only after verification, checked again on read). */
  private metadataOf(outputDigest: string) {
    const have = this.db.metadata(outputDigest);
    return have ? verifyOutputMetadata(JSON.parse(have), outputDigest).metadata : undefined;
  }

  /**
   * The archive of a listed package, fetched and verified if needed. When it
   * is refused, the build is listed again from another archive of the same
   * output, or not at all.
   */
  async archiveFor(p: ListedPackage, signal?: AbortSignal): Promise<void> {
    try {
      await this.archives.ensure(p, signal);
    } catch (e) {
      if (this.db.refusedOf(p.archiveSha256)) this.view = await this.buildView([p.buildKey], false);
      throw e;
    }
  }

  /** Trusted packages whose archive was read and refused (/-/status). */
  refused(): RefusedArchive[] {
    return this.db.refusedList();
  }

  current(): GatewayView | undefined {
    return this.view;
  }

  /** Why Packages cannot be served now, or undefined when it can. */
  unservable(): { code: string; message: string } | undefined {
    if (!this.view) return { code: 'NOT_READY', message: 'the gateway has no verified view of the log yet' };
    const age = this.now() - this.view.verifiedAt;
    if (age > this.opts.policy.maxStalenessMs) {
      return { code: 'STALE', message: `the last verified checkpoint is ${Math.round(age / 1000)} s old, over the policy's max-staleness of ${Math.round(this.opts.policy.maxStalenessMs / 1000)} s${this.lastProblem ? `; last refresh failed: ${this.lastProblem.message}` : ''}` };
    }
    return undefined;
  }

  packagesText(): string {
    const why = this.unservable();
    if (why) throw new BinswarmError(why.code, why.message);
    // Formatted once per view, not per request.
    if (this.formatted?.view !== this.view) this.formatted = { view: this.view!, text: formatPackagesIndex(this.view!.index) };
    return this.formatted!.text;
  }

  lookup(rel: string): ListedPackage | undefined {
    if (this.unservable()) return undefined;
    return this.view?.packages.get(rel);
  }

  blobPath(p: ListedPackage): string {
    return this.store.path(p.archiveSha256);
  }

  /** The stored trust decisions of our CHOST, in full. */
  results(): TrustResult[] {
    return this.db.builds(this.opts.chost).map((b) => JSON.parse(b.result) as TrustResult);
  }

  /** Decisions for /-/status (of our CHOST). */
  decisions(): { cpv: string; buildKey: string; status: string; level: number; required: unknown; why: string }[] {
    return this.db.builds(this.opts.chost).map((b) => {
      const r = JSON.parse(b.result) as TrustResult;
      return { cpv: r.cpv, buildKey: r.buildKey, status: r.status, level: r.level, required: r.required, why: r.why };
    }).sort((a, b) => a.cpv.localeCompare(b.cpv) || a.buildKey.localeCompare(b.buildKey));
  }
}

function storedLogKey(db: LocalDb): NamedKey | undefined {
  const key = db.get('logKey');
  const name = db.get('logKeyName');
  return key && name ? { name, key: publicKeyFromRaw(Buffer.from(key, 'base64')) } : undefined;
}
