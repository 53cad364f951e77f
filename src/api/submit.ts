/**
 * Sending prepared statements (certificates, revocations, attestations —
 * e.g. signed offline by a root kept off-line) to a coordinator, each judged
 * on its own: a refusal is that statement's result, not the end of the run.
 * Only a failure of the exchange itself (unreachable, the coordinator's own
 * error, our request refused as a request) stops it.
 */
import { isBinswarmError } from '../errors.js';
import type { Envelope } from '../trust/dsse.js';
import type { CoordinatorClient } from './client.js';
import type { AttestationAccepted, Logged } from './v1.js';

export type SubmitKind = 'certificate' | 'revocation' | 'attestation';

export interface SubmitItem {
  /** What the user calls it (a file name), echoed in the result. */
  name: string;
  kind: SubmitKind;
  envelope: Envelope;
}

export type SubmitResult = { name: string; kind: SubmitKind } & ({ ok: Logged | AttestationAccepted } | { error: { code: string; message: string } });

/** Errors about the exchange, not about the statement: nothing was judged, so the run stops. */
const EXCHANGE_FAILURES = new Set(['COORDINATOR_UNREACHABLE', 'COORDINATOR_ERROR', 'INTERNAL', 'STORE_UNAVAILABLE', 'RATE_LIMITED', 'UNSIGNED', 'BAD_REQUEST_SIGNATURE', 'STALE_REQUEST', 'REPLAYED', 'BODY_TOO_LARGE', 'NOT_FOUND']);

async function one(client: CoordinatorClient, item: SubmitItem): Promise<SubmitResult> {
  try {
    const ok = item.kind === 'certificate' ? await client.submitCertificate(item.envelope) : await client.submitRevocation(item.envelope);
    return { name: item.name, kind: item.kind, ok };
  } catch (e) {
    if (!isBinswarmError(e) || EXCHANGE_FAILURES.has(e.code)) throw e;
    return { name: item.name, kind: item.kind, error: { code: e.code, message: e.message } };
  }
}

/**
 * In the given order (a builder certificate needs its operator's first, an
 * attestation its builder's); consecutive attestations go in batches.
 */
export async function submitAll(client: CoordinatorClient, items: readonly SubmitItem[], onResult?: (r: SubmitResult) => void): Promise<SubmitResult[]> {
  const out: SubmitResult[] = [];
  const push = (r: SubmitResult) => {
    out.push(r);
    onResult?.(r);
  };
  for (let i = 0; i < items.length; ) {
    if (items[i]!.kind !== 'attestation') {
      push(await one(client, items[i]!));
      i++;
      continue;
    }
    let end = i;
    while (end < items.length && items[end]!.kind === 'attestation') end++;
    const run = items.slice(i, end);
    const results = await client.submitAttestations(run.map((x) => x.envelope));
    results.forEach((r, k) => push({ name: run[k]!.name, kind: 'attestation', ...r }));
    i = end;
  }
  return out;
}
