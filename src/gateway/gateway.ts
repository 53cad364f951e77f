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
import { formatPackagesIndex, type PackagesIndex } from '../formats/packages-index.js';
import type { NamedKey } from '../trust/keys.js';
import { LogForkError } from '../log/verifier.js';
import { BlobStore } from '../transfer/blob-store.js';
import type { BlobFetcher } from '../transfer/fetch-blob.js';
import { SwarmFetcher } from '../transfer/swarm-fetcher.js';
import type { TrustResult } from '../trust/evaluate.js';
import type { PrivateKey } from '../trust/keys.js';
import { publicKeyFromRaw } from '../trust/keys.js';
import { variantsFor, type Policy } from '../trust/policy.js';
import { ArchiveCache } from './archive-cache.js';
import { AttestationPool } from './attestation-pool.js';
import { evaluateBuilds, loadKeyStatements, type KeyStatements } from './evaluate-builds.js';
import type { LocalUse } from './local-config.js';
import { Listing } from './listing.js';
import { LocalDb, type RefusedArchive } from './local-db.js';
import { signedSizeOf, type PortageSigner, type ServedCopy } from './portage-signing.js';
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
  /** The attested piece root: the swarm checks every piece against it. */
  pieceRoot?: string;
  /** BUILD_TIME as listed. */
  buildTime: number;
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
  /** Portage's own signature check (portage-signing.ts): a verified archive is served as a copy signed with the local key. */
  signForPortage?: PortageSigner;
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

export class Gateway {
  private view: GatewayView | undefined;
  private keys: KeyStatements | undefined;
  private logKey: NamedKey | undefined;
  readonly client: CoordinatorClient;
  readonly tiles: TileClient;
  readonly archives: ArchiveCache;
  private readonly pool = new AttestationPool();
  private readonly now: () => number;
  /** Why the last refresh failed (cleared by a good one). */
  lastProblem: RefreshProblem | undefined;
  private readonly listing: Listing;
  private formatted: { view: GatewayView; text: string } | undefined;
  /** For /metrics and `binswarm status`: archives found in the cache vs fetched from holders. */
  readonly stats = { cacheHits: 0, fetched: 0, fetchFailures: 0 };
  /** Signed copies being made, by archive: two requests for one package sign once. */
  private readonly signing = new Map<string, Promise<ServedCopy>>();
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
    this.listing = new Listing(db, this.client, { chost: opts.chost, localUse: opts.localUse, now: this.now, say: (l) => this.say(l), variants: (cpv) => variantsFor(opts.policy, cpv), signs: opts.signForPortage !== undefined });
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
    if (db.get('checkpoint')) gw.view = await gw.listing.update(undefined, false);
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
      this.view = await this.listing.update(r.touched === 'all' ? undefined : touched, true);
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
   * The archive of a listed package, fetched and verified if needed. When it
   * is refused, the build is listed again from another archive of the same
   * output, or not at all.
   */
  async archiveFor(p: ListedPackage, signal?: AbortSignal): Promise<void> {
    const cached = await this.store.has(p.archiveSha256);
    try {
      await this.archives.ensure(p, signal);
      if (cached) this.stats.cacheHits++;
      else this.stats.fetched++;
      // Read for the first time: list the archive's own BUILD_TIME from now on (TIMESTAMP rises, Portage re-reads the index).
      const t = this.db.archiveBuildTime(p.archiveSha256);
      const listed = this.view?.packages.get(p.path);
      if (typeof t === 'number' && listed?.archiveSha256 === p.archiveSha256 && listed.buildTime !== t) this.view = await this.listing.update([p.buildKey], false);
    } catch (e) {
      this.stats.fetchFailures++;
      if (this.db.refusedOf(p.archiveSha256)) this.view = await this.listing.update([p.buildKey], false);
      throw e;
    }
  }

  /** True when Portage gets copies signed with the local key. */
  get signsForPortage(): boolean {
    return this.opts.signForPortage !== undefined;
  }

  /**
   * The signed copy to serve for a listed package: the one already made (it
   * outlives the archive in the cache), else the archive is fetched, verified
   * and signed now; either way of the size listed (padded, portage-signing.ts).
   */
  async signedCopyFor(p: ListedPackage, signal?: AbortSignal): Promise<ServedCopy> {
    const signer = this.opts.signForPortage;
    if (!signer) throw new BinswarmError('INTERNAL', 'this gateway does not sign for Portage');
    const known = signer.copyOf(p.archiveSha256);
    if (known && known.size === signedSizeOf(p.size) && (await this.store.has(known.sha256))) {
      // Made before this state knew the archive's BUILD_TIME (e.g. the state was rebuilt from the log): the archive is
      // read once more so the listing learns it. The copy is served either way, unless the archive is now refused.
      if (this.db.archiveBuildTime(p.archiveSha256) === undefined) {
        await this.archiveFor(p, signal).catch((e) => {
          if (this.db.refusedOf(p.archiveSha256)) throw e;
        });
      }
      return known;
    }
    let pending = this.signing.get(p.archiveSha256);
    if (!pending) {
      pending = (async () => {
        await this.archiveFor(p, signal);
        return signer.sign({ path: this.store.path(p.archiveSha256), sha256: p.archiveSha256, size: p.size, outputDigest: p.outputDigest, buildKey: p.buildKey });
      })().finally(() => this.signing.delete(p.archiveSha256));
      this.signing.set(p.archiveSha256, pending);
    }
    return pending;
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

  /** Listed packages and trusted/untrusted builds of our CHOST (/-/status, /metrics). */
  counts(): { listed: number; trusted: number; untrusted: number } {
    const rows = this.db.builds(this.opts.chost);
    const trusted = rows.filter((b) => b.status === 'trusted').length;
    return { listed: this.view?.packages.size ?? 0, trusted, untrusted: rows.length - trusted };
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
