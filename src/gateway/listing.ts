/**
 * What the gateway lists: per build, the Packages entry of a trusted build
 * whose verified metadata sheet matches this system (CHOST, local USE).
 * Updated for the builds a refresh touched, not rebuilt: a refresh costs
 * what it touched, not what the gateway lists.
 */
import type { CoordinatorClient } from '../api/client.js';
import { splitCpv } from '../formats/atom.js';
import { verifyOutputMetadata } from '../formats/output-metadata.js';
import { variantOfInstallMask } from '../formats/install-mask.js';
import { packagesEntryOf } from '../formats/packages-entry.js';
import type { TrustResult } from '../trust/evaluate.js';
import type { GatewayView, ListedPackage } from './gateway.js';
import { useMatches, type LocalUse } from './local-config.js';
import { signedSizeOf } from './portage-signing.js';
import type { LocalDb } from './local-db.js';

/** How long a build whose metadata the network did not have waits before it is asked for again. */
const METADATA_RETRY_MS = 10 * 60_000;
/** Builds whose sheet is asked for again per refresh, at most. */
const METADATA_RETRIES = 200;

const HEADER_BASE: [string, string][] = [['ACCEPT_KEYWORDS', ''], ['VERSION', '0']];

export interface ListingOptions {
  chost: string;
  localUse?: LocalUse;
  now: () => number;
  say: (line: string) => void;
  /**
   * Signing for Portage: the entry lists the size of the signed copy, which is
   * padded to a size fixed by the attested one (portage-signing.ts), so it is
   * known before the archive is fetched. No MD5/SHA1: the copy's bytes do not
   * exist yet (Portage then checks SIZE, and the gpkg signature covers every
   * member's size and hashes).
   */
  signs?: boolean;
  /** Install variants the policy asks for this CPV, best first, ending with "full" (policy.ts variantsFor); default: full only. */
  variants?: (cpv: string) => string[];
}

export interface Listed {
  entry: Map<string, string>;
  pkg: ListedPackage;
  variant: string;
}

/**
 * Per CPV and USE, only builds of the best variant the policy asks for that
 * has a trusted build: the slim build where one is trusted, the full one
 * otherwise. A custom INSTALL_MASK counts as full; a preset the policy does
 * not ask for is not listed.
 */
export function chooseVariants(listed: readonly Listed[], variants: (cpv: string) => string[]): Listed[] {
  const rank = (l: Listed) => {
    const prefs = variants(l.pkg.cpv);
    return prefs.indexOf(l.variant === 'custom' ? 'full' : l.variant);
  };
  const best = new Map<string, number>();
  const group = (l: Listed) => `${l.pkg.cpv}\0${l.entry.get('USE') ?? ''}`;
  for (const l of listed) {
    const r = rank(l);
    if (r >= 0 && r < (best.get(group(l)) ?? Infinity)) best.set(group(l), r);
  }
  return listed.filter((l) => rank(l) >= 0 && rank(l) === best.get(group(l)));
}

export class Listing {
  /** What is listed, per build. */
  private readonly listed = new Map<string, Listed>();
  /** Trusted builds whose metadata could not be had, and when it was last tried. */
  private readonly missing = new Map<string, number>();
  private changed = false;

  constructor(
    private readonly db: LocalDb,
    private readonly client: CoordinatorClient,
    private readonly o: ListingOptions,
  ) {}

  /**
   * Re-lists the given builds (all of them when undefined) and assembles the
   * view: a refresh costs what it touched, not what the gateway lists.
   */
  async update(buildKeys: readonly string[] | undefined, fetchMissing: boolean): Promise<GatewayView> {
    const rows = buildKeys === undefined ? this.db.builds(this.o.chost) : this.db.buildsByKeys(buildKeys);
    const inRows = new Set(rows.map((r) => r.buildKey));
    // At most a few per refresh, so a network without sheets cannot make every refresh cost the whole listing.
    const retry = fetchMissing ? [...this.missing].filter(([k, at]) => this.o.now() - at >= METADATA_RETRY_MS && !inRows.has(k)).slice(0, METADATA_RETRIES).map(([k]) => k) : [];
    const retryRows = this.db.buildsByKeys(retry);
    if (fetchMissing) await this.prefetchMetadata([...rows, ...retryRows]);
    const seen = new Set<string>();
    // In log order, so BUILD_IDs (given on first listing) follow binrevs: a rebuild listed together with the build it replaces still gets the higher one.
    const parsed = rows.map((row) => ({ row, r: row.status === 'trusted' ? (JSON.parse(row.result) as TrustResult) : undefined }));
    const first = (r: TrustResult | undefined) => (r ? Math.min(Number.MAX_SAFE_INTEGER, ...r.attestations.map((a) => a.logIndex ?? Number.MAX_SAFE_INTEGER)) : Number.MAX_SAFE_INTEGER);
    const order = new Map(parsed.map((p) => [p, first(p.r)]));
    parsed.sort((a, b) => order.get(a)! - order.get(b)!);
    for (const { row, r } of parsed) {
      seen.add(row.buildKey);
      if (await this.relist(row.buildKey, r, fetchMissing)) this.changed = true;
    }
    for (const k of buildKeys ?? []) if (!seen.has(k) && this.listed.delete(k)) this.changed = true;
    // Builds whose metadata was not to be had last time: tried again now and then.
    for (const row of retryRows) if (await this.relist(row.buildKey, row.status === 'trusted' ? (JSON.parse(row.result) as TrustResult) : undefined, true)) this.changed = true;
    // Restoring the listing at start changes nothing Portage has seen.
    if (buildKeys === undefined && !fetchMissing) this.changed = false;
    // Portage replaces its copy only when TIMESTAMP grows: raise it whenever the listing changes.
    let timestamp = Number(this.db.get('timestamp') ?? 0);
    if (this.changed) {
      timestamp = Math.max(timestamp + 1, Math.floor(this.o.now() / 1000));
      this.db.set('timestamp', String(timestamp));
      this.changed = false;
    }
    const listed = chooseVariants([...this.listed.values()], this.o.variants ?? (() => ['full'])).sort((a, b) => a.pkg.cpv.localeCompare(b.pkg.cpv) || a.pkg.buildId - b.pkg.buildId);
    const headerRows: [string, string][] = [...HEADER_BASE, ['CHOST', this.o.chost], ['PACKAGES', String(listed.length)], ['TIMESTAMP', String(timestamp)]];
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
      this.missing.set(buildKey, fetchMissing ? this.o.now() : 0);
      return before !== undefined;
    }
    // The sheet is bound to the output; the output must be the package that was attested.
    if (md.cpv !== r.cpv) {
      this.o.say(`${r.cpv}: the output's metadata is for ${md.cpv}; not listed`);
      return before !== undefined;
    }
    const iuse = md.iuse.map((f) => (md.iuseDefaults.includes(f) ? `+${f}` : f));
    if ((md.chost !== '' && md.chost !== this.o.chost) || !useMatches(md.cpv, md.slot, iuse, md.use, this.o.localUse)) return before !== undefined;
    const buildId = this.db.buildId(md.cpv, archive.sha256);
    const path = `${md.category}/${splitCpv(md.cpv).pn}/${md.pf}-${buildId}.gpkg.tar`;
    // BUILD_TIME: the archive's own once it has been read (Portage records that one and reinstalls while the index says
    // another); until then the first counted attestation's time (signed), not the sheet's (BUILD_TIME is not in the output digest).
    const times = r.attestations.filter((a) => a.counted && a.outputDigest === r.outputDigest && a.time).map((a) => Math.floor(Date.parse(a.time!) / 1000));
    const buildTime = this.db.archiveBuildTime(archive.sha256) ?? (times.length > 0 ? Math.min(...times) : 0);
    const entry = packagesEntryOf(md, { path, size: this.o.signs ? signedSizeOf(archive.size) : archive.size, buildId, buildTime, mtime: buildTime, header: new Map([['CHOST', this.o.chost]]) });
    this.listed.set(buildKey, { entry, variant: variantOfInstallMask(r.installMask ?? ''), pkg: { path, cpv: md.cpv, buildId, archiveSha256: archive.sha256, size: archive.size, outputDigest: r.outputDigest, buildKey: r.buildKey, level: r.level, pieceRoot: archive.pieceRoot, buildTime } });
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
      this.o.say(`metadata could not be fetched (${(e as Error).message}); those builds wait for the next refresh`);
      return;
    }
    for (const [d, sheet] of got) {
      try {
        this.db.putMetadata(d, JSON.stringify(verifyOutputMetadata(sheet, d).sheet));
      } catch (e) {
        this.o.say(`metadata of output ${d.slice(0, 16)}… refused: ${(e as Error).message}`);
      }
    }
  }

  /** Verified metadata of an output, from the local state (kept only after verification, checked again on read). */
  private metadataOf(outputDigest: string) {
    const have = this.db.metadata(outputDigest);
    return have ? verifyOutputMetadata(JSON.parse(have), outputDigest).metadata : undefined;
  }
}
