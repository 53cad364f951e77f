/**
 * Explaining disputes: builders upload the canonical listings of their
 * outputs (checked against the attested outputDigest, so a listing cannot
 * lie about the output it describes), and a dispute is explained by
 * comparing the listings of its outputs.
 */
import { createHash } from 'node:crypto';
import type { DisputeExplanation, ListingAccepted, ListingUpload } from '../api/v1.js';
import { BinswarmError } from '../errors.js';
import { outputDigestOf } from '../formats/digests.js';
import { diffListings, parseImageListing, parseMetadataListing } from '../formats/listing-diff.js';
import type { Store } from './store/types.js';

export type DisputeErrorCode = 'LISTING_MISMATCH';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export async function acceptListing(store: Store, outputDigest: string, l: ListingUpload, uploader: string, now: number): Promise<ListingAccepted> {
  if ((await store.archivesWithOutput(outputDigest)).length === 0) throw new BinswarmError('NOT_FOUND', `no attestation names output ${outputDigest}; submit the attestation first`);
  const imageDigest = sha256(l.image);
  const metadataDigest = sha256(l.metadata);
  if (outputDigestOf(imageDigest, metadataDigest) !== outputDigest) {
    throw new BinswarmError<DisputeErrorCode>('LISTING_MISMATCH', 'these listings do not hash to the attested outputDigest (sha256(image) ‖ sha256(metadata))');
  }
  // Hashing right is not enough to be readable: refuse listings the explainer could not parse.
  parseImageListing(l.image);
  const md = parseMetadataListing(l.metadata);
  if (l.abi) {
    // The SLOT is inside metadataDigest: the claimed one must be the attested one.
    const slot = md.get('SLOT');
    const forms = l.abi.slot.includes('/') ? [l.abi.slot] : [l.abi.slot, `${l.abi.slot}/${l.abi.slot}`];
    if (!slot || !forms.flatMap((f) => [f, `${f}\n`]).some((t) => sha256(t) === slot.sha256)) {
      throw new BinswarmError<DisputeErrorCode>('LISTING_MISMATCH', `the claimed SLOT "${l.abi.slot}" is not the SLOT in this output's metadata`);
    }
    await store.scheduler.putAbi(outputDigest, l.abi);
  }
  const fresh = await store.scheduler.putListing({ outputDigest, imageDigest, metadataDigest, image: l.image, metadata: l.metadata, uploader, time: now });
  return { outputDigest, imageDigest, metadataDigest, duplicate: !fresh };
}

export async function explainDispute(store: Store, buildKey: string): Promise<DisputeExplanation> {
  const dispute = (await store.listDisputes(buildKey))[0];
  if (!dispute) throw new BinswarmError('NOT_FOUND', `no dispute recorded for build ${buildKey}`);
  const atts = await store.queryAttestations({ buildKey, limit: 5000 });
  const outputs: DisputeExplanation['outputs'] = [];
  const listed: { outputDigest: string; image: string; metadata: string }[] = [];
  for (const d of dispute.outputDigests) {
    const l = await store.scheduler.listing(d);
    if (l) listed.push({ outputDigest: d, image: l.image, metadata: l.metadata });
    outputs.push({ outputDigest: d, attesters: [...new Set(atts.filter((a) => a.outputDigest === d).map((a) => a.signer))], listing: l !== undefined });
  }
  const diff = listed.length >= 2 ? diffListings(listed) : { renamed: [], image: [], metadata: [], truncated: false };
  return { buildKey, cpv: dispute.cpv, outputs, missingListings: outputs.filter((o) => !o.listing).map((o) => o.outputDigest), ...diff };
}
