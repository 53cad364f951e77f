/**
 * Contributing a PKGDIR: each package is read and verified, attested (kind
 * `contribute`) and submitted. When the network already has an archive with
 * the same outputDigest, only the signature is sent — the bytes are not
 * stored or offered again (unless `serve` asks to become one more holder).
 */
import { CoordinatorClient } from '../api/client.js';
import { BinswarmError } from '../errors.js';
import { checkPkgdir } from '../formats/pkgdir.js';
import { pieceRootOfFile } from '../log/pieces.js';
import type { Envelope } from '../trust/dsse.js';
import type { PrivateKey } from '../trust/keys.js';
import { openAttestation, signAttestation } from '../trust/statements.js';
import type { BlobStore } from './blob-store.js';

export interface PublishOptions {
  coordinator: string;
  key: PrivateKey;
  certificates: Envelope[];
  store: BlobStore;
  /** Where this node's blob server is reachable; needed to offer archives. */
  publicUrl?: string;
  /** Keep and announce our copy even when the network already has the output. */
  serve?: boolean;
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

export async function publishPkgdir(pkgdir: string, opts: PublishOptions): Promise<{ packages: PublishedPackage[]; problems: { path?: string; message: string; code: string }[] }> {
  const client = new CoordinatorClient(opts.coordinator, opts.key);
  await client.registerPeer({ roles: ['contribute'], ...(opts.publicUrl ? { url: opts.publicUrl } : {}) });
  for (const c of opts.certificates) await client.submitCertificate(c);
  const report = await checkPkgdir(pkgdir);
  const out: PublishedPackage[] = [];
  let done = 0;
  for (const info of report.packages) {
    opts.onProgress?.(done++, report.packages.length, info.cpv);
    // Same output already in the network: sign its archive instead of offering ours.
    const known = await client.packages({ cpv: info.cpv });
    const existing = known.flatMap((g) => g.attestations).map((a) => openAttestation(a.envelope).statement).find((s) => s.outputDigest === info.outputDigest);
    const donateOnly = existing !== undefined && !opts.serve;
    const archive = donateOnly ? existing.archive : { sha256: info.archive.sha256, size: info.archive.size, pieceRoot: await pieceRootOfFile(info.path) };
    const env = signAttestation({ kind: 'contribute', buildConfig: info.buildConfig, outputDigest: info.outputDigest, archive, time: opts.now?.() ?? new Date() }, opts.key);
    const accepted = await client.submitAttestation(env);
    let action: PublishedPackage['action'] = 'signature-only';
    if (!donateOnly) {
      if (!opts.publicUrl) throw new BinswarmError('NO_PUBLIC_URL', 'the network does not have this output yet; pass --public-url of a running node so others can fetch it');
      await opts.store.importFile(info.path, { expectedSha256: info.archive.sha256, expectedSize: info.archive.size });
      await client.announceHolder(info.archive.sha256, opts.publicUrl);
      action = existing ? 'served-copy' : 'uploaded';
    }
    out.push({ cpv: info.cpv, outputDigest: info.outputDigest, archive: archive.sha256, action, logIndex: accepted.logIndex, binrev: accepted.binrev, ...(accepted.dispute ? { dispute: accepted.dispute.outputDigests } : {}) });
  }
  return { packages: out, problems: report.problems.map((p) => ({ path: p.path, message: p.message, code: p.code })) };
}
