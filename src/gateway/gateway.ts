/**
 * The consumer side: turn what the coordinator says into a Portage binhost
 * of exactly what the local policy trusts, verified locally.
 *
 * refresh(): checkpoint signature (+ witnesses) and consistency with the
 * last one seen → certificates, revocations, attestations for our CHOST,
 * each with an inclusion proof → evaluateTrust → for each trusted package,
 * the archive is fetched from holders, its sha256 checked as it streams,
 * then read completely (Manifest, digests) and its outputDigest compared
 * with the attested one. Only then does it get a Packages entry.
 */
import { CoordinatorClient } from '../api/client.js';
import type { PackageGroup, SignedEntry } from '../api/v1.js';
import { BinswarmError, isBinswarmError } from '../errors.js';
import { inspectPackage, type PackageInfo } from '../formats/inspect.js';
import { packagesEntryOf } from '../formats/packages-entry.js';
import { formatPackagesIndex, type PackagesIndex } from '../formats/packages-index.js';
import { splitCpv } from '../formats/atom.js';
import { openCheckpoint } from '../log/checkpoint.js';
import { checkLogTimes, encodeLeaf, type StatementLeafType } from '../log/leaf.js';
import { leafHash, verifyInclusion } from '../log/merkle.js';
import { acceptCheckpoint } from '../log/verifier.js';
import { BlobStore } from '../transfer/blob-store.js';
import type { BlobFetcher } from '../transfer/fetch-blob.js';
import { SwarmFetcher } from '../transfer/swarm-fetcher.js';
import { evaluateTrust, type LoggedStatement, type TrustResult } from '../trust/evaluate.js';
import type { PrivateKey } from '../trust/keys.js';
import { publicKeyFromRaw, type NamedKey } from '../trust/keys.js';
import type { Policy } from '../trust/policy.js';
import type { ServedCopy, SignForPortage } from './portage-signing.js';
import { buildIdFor, loadState, saveState, type GatewayState } from './state.js';

export interface ServedPackage {
  path: string;
  cpv: string;
  buildId: number;
  archiveSha256: string;
  /** The blob Portage gets: the archive itself, or its copy signed for Portage (size is the served size). */
  servedSha256: string;
  size: number;
  trust: TrustResult;
}

export interface GatewayOptions {
  coordinator: string;
  dataDir: string;
  policy: Policy;
  chost: string;
  /** Signs holder reports; without it bad holders are only skipped. */
  key?: PrivateKey;
  fetcher?: BlobFetcher;
  /** Portage's own signature check (portage-signing.ts): called once an archive is verified; its result is served instead. */
  signForPortage?: SignForPortage;
  now?: () => Date;
  log?: (line: string) => void;
}

/** A trusted package whose archive this gateway will not list, and why (shown in `/-/status`). */
export interface RefusedArchive {
  cpv: string;
  buildKey: string;
  archive: string;
  code: string;
  reason: string;
}

export interface GatewayView {
  index: PackagesIndex;
  packages: Map<string, ServedPackage>;
  results: TrustResult[];
  refused: RefusedArchive[];
  refreshedAt: number;
  checkpointSize: number;
}

const HEADER_BASE: [string, string][] = [
  ['ACCEPT_KEYWORDS', ''],
  ['VERSION', '0'],
];

export class Gateway {
  private view: GatewayView | undefined;
  private readonly client: CoordinatorClient;
  /** Archives already read completely, by sha256 (content-addressed, so the reading stays true; the server re-checks bytes before serving). */
  private readonly inspected = new Map<string, PackageInfo>();
  /**
   * Archives refused after reading (hostile entries, corrupt, another output
   * than attested), by sha256: the verdict on those bytes cannot change, so
   * they are not fetched again. E.g. a package attested before the image
   * entry rule existed.
   */
  private readonly refusedArchives = new Map<string, { code: string; reason: string }>();
  /** For /metrics and `binswarm status`: archives found in the cache vs fetched from holders. */
  readonly stats = { cacheHits: 0, fetched: 0, fetchFailures: 0 };
  private constructor(
    private readonly opts: GatewayOptions,
    readonly store: BlobStore,
    private state: GatewayState,
    private readonly fetcher: BlobFetcher,
  ) {
    this.client = new CoordinatorClient(opts.coordinator, opts.key);
  }

  static async open(opts: GatewayOptions): Promise<Gateway> {
    const store = await BlobStore.open(opts.dataDir);
    return new Gateway(opts, store, await loadState(opts.dataDir), opts.fetcher ?? new SwarmFetcher(store, { client: new CoordinatorClient(opts.coordinator) }));
  }

  current(): GatewayView | undefined {
    return this.view;
  }

  private say(line: string): void {
    this.opts.log?.(line);
  }

  /** Verifies the coordinator's new checkpoint against the last one we trusted. */
  private async checkpoint(): Promise<{ text: string; size: number; root: Uint8Array }> {
    const info = await this.client.info();
    const configured = this.opts.policy.log;
    const logKey: NamedKey = configured ?? { name: info.logKeyName, key: publicKeyFromRaw(Buffer.from(this.state.logKey ?? info.logKey, 'base64')) };
    if (configured && configured.key.raw.toString('base64') !== info.logKey) {
      throw new BinswarmError('LOG_KEY_MISMATCH', 'the coordinator signs with another key than your policy names');
    }
    // Trust on first use when the policy names no log key; never silently after.
    if (!configured && this.state.logKey && this.state.logKey !== info.logKey) throw new BinswarmError('LOG_KEY_MISMATCH', 'the coordinator changed its log key since this gateway first saw it');
    const text = await this.client.checkpoint();
    const presented = openCheckpoint(text, logKey);
    const trusted = this.state.checkpoint;
    const from = trusted ? openCheckpoint(trusted, logKey).checkpoint.size : 0;
    const proof = trusted && from < presented.checkpoint.size ? await this.client.consistencyProof(from, presented.checkpoint.size) : [];
    const accepted = acceptCheckpoint({ trusted, presented: text, proof, log: logKey, witnessPolicy: { witnesses: this.opts.policy.witnesses.keys, required: this.opts.policy.witnesses.required } });
    this.state.logKey = info.logKey;
    this.state.checkpoint = text;
    return { text, size: accepted.checkpoint.size, root: accepted.checkpoint.root };
  }

  /** Keeps only entries proven to be in the log, with the receipt time their leaf proves. */
  private async proveIncluded(entries: SignedEntry[], type: StatementLeafType, cp: { size: number; root: Uint8Array }): Promise<LoggedStatement[]> {
    const out: LoggedStatement[] = [];
    for (const e of entries) {
      if (e.logIndex >= cp.size) continue; // newer than our checkpoint: next refresh
      // The server sends the content again each time, so each time it is proven again.
      // The logTime is inside the leaf: a coordinator that lies about it fails the proof.
      try {
        const leaf = leafHash(encodeLeaf({ type, envelope: e.envelope, logTime: e.logTime }));
        verifyInclusion(e.logIndex, cp.size, leaf, await this.client.inclusionProof(e.logIndex, cp.size), cp.root);
        out.push({ envelope: e.envelope, logTime: e.logTime, logIndex: e.logIndex });
      } catch (err) {
        this.say(`not in the log, ignored: ${type} at index ${e.logIndex}: ${(err as Error).message}`);
      }
    }
    return out;
  }

  async refresh(): Promise<GatewayView> {
    const cp = await this.checkpoint();
    const [certs, revs, groups] = await Promise.all([this.client.certificates(), this.client.revocations(), this.client.packages({ chost: this.opts.chost })]);
    const certificates = await this.proveIncluded(certs, 'certificate', cp);
    const revocations = await this.proveIncluded(revs, 'revocation', cp);
    const attestations = await this.proveIncluded(groups.flatMap((g: PackageGroup) => g.attestations), 'attestation', cp);
    // Receipt times never go back along the log; a log where they do is refused whole (LOG_TIME_BACKWARDS).
    const proven = new Map([...certificates, ...revocations, ...attestations].map((s) => [s.logIndex!, { logIndex: s.logIndex!, logTime: s.logTime! }]));
    checkLogTimes([...proven.values()].sort((a, b) => a.logIndex - b.logIndex));
    const results = evaluateTrust({ attestations, certificates, revocations, policy: this.opts.policy, now: this.opts.now?.() ?? new Date() });
    const packages = new Map<string, ServedPackage>();
    const entries: Map<string, string>[] = [];
    const refused: RefusedArchive[] = [];
    for (const r of results) {
      if (r.status !== 'trusted' || r.chost !== this.opts.chost || !r.outputDigest) continue;
      const support = r.outputs.find((o) => o.outputDigest === r.outputDigest)!;
      const served = await this.materialise(r, support.archives, refused);
      if (!served) continue;
      packages.set(served.pkg.path, served.pkg);
      entries.push(served.entry);
    }
    entries.sort((a, b) => (a.get('CPV')! + a.get('BUILD_ID')).localeCompare(b.get('CPV')! + b.get('BUILD_ID')));
    const headerRows: [string, string][] = [...HEADER_BASE, ['CHOST', this.opts.chost], ['PACKAGES', String(entries.length)], ['TIMESTAMP', String(Math.floor(Date.now() / 1000))]];
    const header = new Map<string, string>(headerRows.sort(([a], [b]) => a.localeCompare(b)));
    await saveState(this.opts.dataDir, this.state);
    this.view = { index: { header, packages: entries }, packages, results, refused, refreshedAt: Date.now(), checkpointSize: cp.size };
    this.say(`refreshed: checkpoint ${cp.size}, ${results.length} build(s) seen, ${packages.size} served`);
    return this.view;
  }

  /** Fetches (if needed) and fully verifies one archive of a trusted output. */
  private async materialise(r: TrustResult, archives: { sha256: string; size: number }[], refused: RefusedArchive[]): Promise<{ pkg: ServedPackage; entry: Map<string, string> } | undefined> {
    const refuse = async (sha256: string, code: string, reason: string) => {
      this.say(`${r.cpv}: archive ${sha256.slice(0, 16)}… not listed: ${reason} [${code}]`);
      this.refusedArchives.set(sha256, { code, reason });
      this.inspected.delete(sha256);
      refused.push({ cpv: r.cpv, buildKey: r.buildKey, archive: sha256, code, reason });
      await this.store.remove(sha256);
    };
    for (const a of archives) {
      const known = this.refusedArchives.get(a.sha256);
      if (known) {
        refused.push({ cpv: r.cpv, buildKey: r.buildKey, archive: a.sha256, ...known });
        continue;
      }
      if (!(await this.store.has(a.sha256))) {
        const info = await this.client.archive(a.sha256);
        const holders = (info?.holders ?? []).map((h) => ({ url: h.url, peer: h.peer }));
        try {
          const got = await this.fetcher.fetch(a.sha256, a.size, holders);
          this.stats.fetched++;
          for (const bad of got.badHolders) await this.report(a.sha256, bad.holder.peer, bad.reason);
        } catch (e) {
          this.stats.fetchFailures++;
          this.say(`${r.cpv}: ${(e as Error).message}`);
          continue;
        }
      } else if (!this.inspected.has(a.sha256)) this.stats.cacheHits++;
      let info = this.inspected.get(a.sha256);
      try {
        info ??= await inspectPackage(this.store.path(a.sha256), { portageDigests: true, format: 'gpkg' });
      } catch (e) {
        // A missing decompressor says nothing about the archive: drop it, but try again next time.
        if (!isBinswarmError(e) || e.code === 'COMPRESSOR_MISSING') {
          this.say(`${r.cpv}: archive ${a.sha256.slice(0, 16)}… could not be read (${(e as Error).message}); dropped`);
          await this.store.remove(a.sha256);
        } else await refuse(a.sha256, e.code, e.message);
        continue;
      }
      if (info.outputDigest !== r.outputDigest || info.buildKey !== r.buildKey) {
        await refuse(a.sha256, 'OUTPUT_MISMATCH', 'the archive does not contain the attested output');
        continue;
      }
      this.inspected.set(a.sha256, info);
      let served: ServedCopy = { sha256: a.sha256, size: info.archive.size, md5: info.md5!, sha1: info.sha1! };
      if (this.opts.signForPortage) {
        try {
          served = await this.opts.signForPortage({ path: this.store.path(a.sha256), sha256: a.sha256, outputDigest: info.outputDigest, buildKey: info.buildKey });
        } catch (e) {
          this.say(`${r.cpv}: could not sign for Portage (${(e as Error).message}); not served`);
          continue;
        }
      }
      const buildId = buildIdFor(this.state, info.cpv, a.sha256);
      const rel = `${info.category}/${splitCpv(info.cpv).pn}/${info.pf}-${buildId}.gpkg.tar`;
      // Portage requires MTIME on remote entries (it compares it with a cached file); BUILD_TIME is stable.
      const entry = packagesEntryOf(info.metadata, { path: rel, size: served.size, md5: served.md5, sha1: served.sha1, buildId, mtime: info.metadata.buildTime ?? 0, header: new Map([['CHOST', this.opts.chost]]) });
      return { pkg: { path: rel, cpv: info.cpv, buildId, archiveSha256: a.sha256, servedSha256: served.sha256, size: served.size, trust: r }, entry };
    }
    return undefined;
  }

  private async report(sha256: string, peer: string, reason: string): Promise<void> {
    this.say(`holder ${peer.slice(0, 12)} served bad bytes for ${sha256.slice(0, 16)}…: ${reason}`);
    if (this.opts.key) await this.client.reportHolder(sha256, peer, reason).catch(() => undefined);
  }

  packagesText(): string {
    if (!this.view) throw new BinswarmError('NOT_READY', 'gateway has not refreshed yet');
    return formatPackagesIndex(this.view.index);
  }

  /** Where Portage's request for `rel` is served from, after re-checking the blob. */
  lookup(rel: string): ServedPackage | undefined {
    return this.view?.packages.get(rel);
  }

  blobPath(p: ServedPackage): string {
    return this.store.path(p.servedSha256);
  }
}
