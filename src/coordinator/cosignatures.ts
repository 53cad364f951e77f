/**
 * Collecting witness cosignatures (in the manner of c2sp.org/tlog-witness,
 * but pulled: witnesses follow the log and submit their cosignature with a
 * signed request). A cosignature is kept only if it verifies over the
 * checkpoint this coordinator signed at that size, under the key that
 * signed the request; the published checkpoint carries them all.
 */
import { BinswarmError } from '../errors.js';
import { cosignaturesOf, parseNote } from '../log/checkpoint.js';
import type { PublicKey } from '../trust/keys.js';
import { latestCheckpoint, type Coordinator } from './ingest.js';

export async function acceptCosignature(c: Coordinator, witness: PublicKey, body: { size: number; name: string; cosignature: string }, now: number): Promise<{ size: number; witnesses: number }> {
  const text = await c.store.checkpointAt(body.size);
  if (!text) throw new BinswarmError('NOT_FOUND', `no checkpoint of size ${body.size} was published`);
  const line = body.cosignature.endsWith('\n') ? body.cosignature : `${body.cosignature}\n`;
  if (line.indexOf('\n') !== line.length - 1) throw new BinswarmError('BAD_REQUEST', 'one cosignature line, please');
  let ok: boolean;
  try {
    ok = cosignaturesOf(parseNote(text + line), [{ name: body.name, key: witness }]).length === 1;
  } catch (e) {
    throw new BinswarmError('BAD_SIGNATURE', `cosignature does not verify: ${(e as Error).message}`);
  }
  if (!ok) throw new BinswarmError('BAD_SIGNATURE', `no cosignature by '${body.name}' with the key that signed this request`);
  await c.store.putCosignature(body.size, body.name, line, now);
  return { size: body.size, witnesses: (await c.store.cosignaturesAt(body.size)).length };
}

/**
 * The checkpoint followers should use: the newest one with at least
 * `required` cosignatures (all of them appended), or the newest one when
 * nothing is required.
 */
export async function publishedCheckpoint(c: Coordinator, required: number): Promise<string | undefined> {
  const latest = await latestCheckpoint(c);
  if (!latest) return undefined;
  const cp = required === 0 ? await c.store.latestCheckpoint() : await c.store.latestCosigned(required);
  if (!cp) return undefined;
  return cp.text + (await c.store.cosignaturesAt(cp.size)).join('');
}
