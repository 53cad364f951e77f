/**
 * Contributing a PKGDIR: each package is read and verified, attested (kind
 * `contribute`) and submitted. When the network already has an archive with
 * the same outputDigest, only the signature is sent — the bytes are not
 * stored or offered again (unless `serve` asks to become one more holder).
 */
import { CoordinatorClient } from '../api/client.js';
import { BinswarmError } from '../errors.js';
import { checkPkgdir } from '../formats/pkgdir.js';
import { pieceRootOfFile } from '../transfer/pieces.js';
import type { Envelope } from '../trust/dsse.js';
import type { PrivateKey } from '../trust/keys.js';
import { openAttestation, signAttestation } from '../trust/statements.js';
import type { BlobStore } from '../transfer/blob-store.js';

export interface PublishOptions {
  coordinator: string;
  key: PrivateKey;
  certificates: Envelope[];
  store: BlobStore;
  /** Where this node's blob server is reachable; needed to offer archives. */
  publicUrl?: string;
  /** Keep and announce our copy even when the network already has the output. */
  serve?: boolean;
  /**
   * Role `sign`: only sign outputs the network already has (a second,
   * independent build of the same output); offer nothing, skip the rest.
   */
  signOnly?: boolean;
  now?: () => Date;
  onProgress?: (done: number, total: number, cpv: string) => void;
}

export interface PublishedPackage {
  cpv: string;
  outputDigest: string;
  archive: string;
  action: 'uploaded' | 'signature-only' | 'served-copy';
  logIndex: number;
  binrev: number;
  dispute?: string[];
}

export async function publishPkgdir(pkgdir: string, opts: PublishOptions): Promise<{ packages: PublishedPackage[]; problems: { path?: string; message: string; code: string }[]; skipped: { cpv: string; path: string }[] }> {
  const client = new CoordinatorClient(opts.coordinator, opts.key);
  if (!opts.signOnly) await client.registerPeer({ roles: ['contribute'], ...(opts.publicUrl ? { url: opts.publicUrl } : {}) });
  for (const c of opts.certificates) await client.submitCertificate(c);
  const report = await checkPkgdir(pkgdir);
  const problems = report.problems.map((p) => ({ path: p.path, message: p.message, code: p.code }));
  // Sign everything first, then submit in batches (one transaction and one
  // log append per batch), then store and offer the archives that were accepted.
  const signed: { info: (typeof report.packages)[number]; env: Envelope; donateOnly: boolean; existing: boolean; archive: string }[] = [];
  const skipped: { cpv: string; path: string }[] = [];
  let done = 0;
  for (const info of report.packages) {
    opts.onProgress?.(done++, report.packages.length, info.cpv);
    // Same output already in the network: sign its archive instead of offering ours.
    const known = await client.packages({ cpv: info.cpv });
    const existing = known.flatMap((g) => g.attestations).map((a) => openAttestation(a.envelope).statement).find((s) => s.outputDigest === info.outputDigest);
    if (opts.signOnly && existing === undefined) {
      skipped.push({ cpv: info.cpv, path: info.path });
      continue;
    }
    const donateOnly = existing !== undefined && (!opts.serve || opts.signOnly === true);
    if (!donateOnly && !opts.publicUrl) throw new BinswarmError('NO_PUBLIC_URL', `the network does not have ${info.cpv} yet; pass --public-url of a running node so others can fetch it`);
    const archive = donateOnly ? existing.archive : { sha256: info.archive.sha256, size: info.archive.size, pieceRoot: await pieceRootOfFile(info.path) };
    const env = signAttestation({ kind: 'contribute', buildConfig: info.buildConfig, outputDigest: info.outputDigest, archive, time: opts.now?.() ?? new Date() }, opts.key);
    signed.push({ info, env, donateOnly, existing: existing !== undefined, archive: archive.sha256 });
  }
  const results = signed.length ? await client.submitAttestations(signed.map((x) => x.env)) : [];
  const out: PublishedPackage[] = [];
  for (const [i, x] of signed.entries()) {
    const r = results[i]!;
    if ('error' in r) {
      problems.push({ path: x.info.path, message: `${x.info.cpv}: the coordinator refused the attestation: ${r.error.message}`, code: r.error.code });
      continue;
    }
    let action: PublishedPackage['action'] = 'signature-only';
    if (!x.donateOnly) {
      await opts.store.importFile(x.info.path, { expectedSha256: x.info.archive.sha256, expectedSize: x.info.archive.size });
      await client.announceHolder(x.info.archive.sha256, opts.publicUrl!);
      action = x.existing ? 'served-copy' : 'uploaded';
    }
    // Lets gateways list this output before anyone downloads it; checked there against outputDigest.
    await client.submitOutputMetadata(x.info.outputDigest, x.info.outputMetadata);
    const accepted = r.ok;
    out.push({ cpv: x.info.cpv, outputDigest: x.info.outputDigest, archive: x.archive, action, logIndex: accepted.logIndex, binrev: accepted.binrev, ...(accepted.dispute ? { dispute: accepted.dispute.outputDigests } : {}) });
  }
  return { packages: out, problems, skipped };
}
