/**
 * One batch of attestations' view of the registry (see ingest.ts): read up
 * front, updated in memory as attestations are accepted, written at the end.
 */
import type { BuildConfig } from '../formats/build-config.js';
import { refRowsOf, type AbiRefRow } from './store/abi-index.js';
import type { ArchiveRecord, AttestationContext, AttestationRecord, BinrevRecord, DisputeRecord, StoreTx } from './store/types.js';

/**
 * The registry as one batch of attestations sees it: read up front in a few
 * queries, updated in memory as attestations are accepted (so later ones in
 * the batch see earlier ones), written with multi-row inserts at the end.
 */
export class AttestationBatch {
  private readonly attestations: AttestationRecord[] = [];
  private readonly archives: ArchiveRecord[] = [];
  private readonly binrevs: BinrevRecord[] = [];
  private readonly abiRefs: AbiRefRow[] = [];

  private constructor(
    private readonly tx: StoreTx,
    readonly ctx: AttestationContext,
  ) {}

  static async open(tx: StoreTx, s: readonly { buildKey: string; configKey: string; archive: { sha256: string } }[]): Promise<AttestationBatch> {
    return new AttestationBatch(tx, await tx.attestationContext({ buildKeys: s.map((x) => x.buildKey), archives: s.map((x) => x.archive.sha256), configKeys: s.map((x) => x.configKey) }));
  }

  siblings(buildKey: string): Pick<AttestationRecord, 'id' | 'outputDigest' | 'logIndex' | 'logTime'>[] {
    return this.ctx.siblings.get(buildKey)!;
  }

  binrevOf(configKey: string, buildKey: string): number | undefined {
    return this.ctx.binrevs.get(configKey)!.get(buildKey);
  }

  addAttestation(r: AttestationRecord): void {
    this.attestations.push(r);
    this.siblings(r.buildKey).push({ id: r.id, outputDigest: r.outputDigest, logIndex: r.logIndex, logTime: r.logTime });
  }

  addArchive(r: ArchiveRecord): void {
    this.archives.push(r);
    this.ctx.archives.set(r.sha256, r);
  }

  /** The binrev of (configKey, buildKey): the one it has, or the next one of its configKey. */
  assignBinrev(configKey: string, buildKey: string, logIndex: number): { binrev: number; fresh: boolean } {
    const known = this.ctx.binrevs.get(configKey)!;
    const have = known.get(buildKey);
    if (have !== undefined) return { binrev: have, fresh: false };
    const binrev = Math.max(0, ...known.values()) + 1;
    known.set(buildKey, binrev);
    this.binrevs.push({ configKey, buildKey, binrev, logIndex });
    return { binrev, fresh: true };
  }

  /** A new buildKey: index it for ABI-rebuild planning (its package, := dependencies, links). */
  indexBuild(chost: string, configKey: string, buildKey: string, config: BuildConfig): void {
    this.abiRefs.push(...refRowsOf(chost, configKey, buildKey, config));
  }

  async setDispute(d: DisputeRecord): Promise<void> {
    this.ctx.disputes.set(d.buildKey, d);
    await this.tx.upsertDispute(d);
  }

  async flush(): Promise<void> {
    await this.tx.insertAttestations(this.attestations);
    await this.tx.insertArchives(this.archives);
    await this.tx.insertBinrevs(this.binrevs);
    await this.tx.insertAbiRefs(this.abiRefs);
  }
}
