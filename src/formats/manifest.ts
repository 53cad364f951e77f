/**
 * The GPKG `Manifest` member: `DATA <member-basename> <size> <HASH> <hex> …`
 * lines, possibly wrapped in an OpenPGP clearsignature (lib/portage/gpkg.py).
 * binswarm does not verify OpenPGP; it reports that the package is signed and
 * checks the digests itself.
 */
import { createHash, type Hash } from 'node:crypto';
import { BinswarmError } from '../errors.js';

export type ManifestErrorCode = 'BAD_MANIFEST' | 'MANIFEST_MISMATCH';

/** Manifest hash names → node:crypto algorithms. Others are ignored, as Portage ignores unknown ones. */
export const MANIFEST_HASHES: Record<string, string> = {
  BLAKE2B: 'blake2b512',
  SHA512: 'sha512',
  SHA256: 'sha256',
};

export interface ManifestEntry {
  name: string;
  size: number;
  /** Hash name (BLAKE2B, SHA512…) → lowercase hex. */
  digests: Record<string, string>;
}

export interface Manifest {
  entries: Map<string, ManifestEntry>;
  clearsigned: boolean;
}

const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----';
const BEGIN_SIG = '-----BEGIN PGP SIGNATURE-----';

/** Strip the clearsign armour, returning the signed text (dash-escaping undone). */
function unwrapClearsigned(text: string, subject?: string): string {
  const lines = text.split('\n');
  let i = lines.indexOf(BEGIN_SIGNED);
  // Armor headers ("Hash: SHA512") run until the first empty line.
  while (i < lines.length && lines[i] !== '') i++;
  const end = lines.indexOf(BEGIN_SIG, i);
  if (i >= lines.length || end < 0) throw new BinswarmError<ManifestErrorCode>('BAD_MANIFEST', 'malformed clearsigned Manifest', { subject });
  return lines
    .slice(i + 1, end)
    .map((l) => (l.startsWith('- ') ? l.slice(2) : l))
    .join('\n');
}

export function parseManifest(bytes: Buffer, subject?: string): Manifest {
  let text = bytes.toString('utf8');
  const clearsigned = text.trimStart().startsWith(BEGIN_SIGNED);
  if (clearsigned) text = unwrapClearsigned(text.trimStart(), subject);
  const entries = new Map<string, ManifestEntry>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '') continue;
    const f = line.split(/\s+/);
    const bad = (why: string) =>
      new BinswarmError<ManifestErrorCode>('BAD_MANIFEST', `Manifest line ${n + 1}: ${why}`, { subject });
    if (f[0] !== 'DATA') throw bad(`unknown entry type '${f[0]!.slice(0, 20)}'`);
    if (f.length < 3 || f.length % 2 !== 1) throw bad('expected DATA <name> <size> (<HASH> <hex>)*');
    const [, name, sizeText] = f as [string, string, string];
    if (!/^\d{1,15}$/.test(sizeText)) throw bad(`bad size '${sizeText.slice(0, 20)}'`);
    if (entries.has(name)) throw bad(`'${name}' listed twice`);
    const digests: Record<string, string> = {};
    for (let k = 3; k < f.length; k += 2) {
      const hex = f[k + 1]!.toLowerCase();
      if (!/^[0-9a-f]+$/.test(hex)) throw bad(`bad ${f[k]} digest`);
      digests[f[k]!] = hex;
    }
    entries.set(name, { name, size: Number(sizeText), digests });
  }
  return { entries, clearsigned };
}

/** Hashes a member as it streams past, for checking against its Manifest entry later. */
export class MemberDigester {
  private readonly hashes = new Map<string, Hash>();
  size = 0;

  constructor(algorithms: Iterable<string> = Object.keys(MANIFEST_HASHES)) {
    for (const name of algorithms) {
      const alg = MANIFEST_HASHES[name];
      if (alg) this.hashes.set(name, createHash(alg));
    }
  }

  update(chunk: Buffer): void {
    this.size += chunk.length;
    for (const h of this.hashes.values()) h.update(chunk);
  }

  digest(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, h] of this.hashes) out[name] = h.digest('hex');
    return out;
  }
}

/**
 * Portage's rule: a member must be listed with its exact size and at least
 * one supported digest; binswarm is stricter and requires every supported
 * digest listed to match, so one weak or forged hash cannot ride along.
 */
export function checkMember(
  manifest: Manifest,
  name: string,
  size: number,
  computed: Record<string, string>,
  subject?: string,
): void {
  const entry = manifest.entries.get(name);
  const mismatch = (why: string) => new BinswarmError<ManifestErrorCode>('MANIFEST_MISMATCH', `${name}: ${why}`, { subject });
  if (!entry) throw mismatch('member is not listed in the Manifest');
  if (entry.size !== size) throw mismatch(`size ${size} does not match the Manifest (${entry.size})`);
  let checked = 0;
  for (const [hash, hex] of Object.entries(entry.digests)) {
    const got = computed[hash];
    if (got === undefined) continue;
    if (got !== hex) throw mismatch(`${hash} digest does not match the Manifest`);
    checked++;
  }
  if (checked === 0) throw mismatch('no supported digest listed in the Manifest');
}
