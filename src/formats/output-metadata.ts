/**
 * What a gateway needs to list a build without its archive: the metadata
 * files' listing (name, size, sha256 — enough to recompute metadataDigest)
 * plus the contents of the few files a Packages entry is made of, and the
 * imageDigest. Checked against an attested outputDigest =
 * sha256(imageDigest ‖ metadataDigest), it is bound to what the builders
 * signed: a holder or coordinator that changes one byte of RDEPEND or USE
 * cannot make it verify.
 */
import { createHash } from 'node:crypto';
import { BinswarmError } from '../errors.js';
import { METADATA_EXCLUDED, metadataDigestOfListing, outputDigestOf } from './digests.js';
import { parseMetadata, type PackageMetadata } from './metadata.js';

export type OutputMetadataErrorCode = 'BAD_OUTPUT_METADATA' | 'OUTPUT_METADATA_MISMATCH';

export interface OutputMetadataFile {
  name: string;
  size: number;
  sha256: string;
  /** base64, only for ENTRY_FILES. */
  content?: string;
}

export interface OutputMetadata {
  imageDigest: string;
  files: OutputMetadataFile[];
}

/** The files a Packages entry and the local USE filter are made of (small text files). */
export const ENTRY_FILES = new Set([
  'CATEGORY', 'PF', 'SLOT', 'EAPI', 'USE', 'IUSE', 'IUSE_EFFECTIVE', 'CHOST', 'CBUILD', 'CFLAGS', 'CXXFLAGS', 'LDFLAGS', 'repository',
  'BDEPEND', 'DEPEND', 'IDEPEND', 'PDEPEND', 'RDEPEND', 'DEFINED_PHASES', 'KEYWORDS', 'LICENSE', 'PROPERTIES', 'RESTRICT', 'INHERITED', 'DESCRIPTION', 'HOMEPAGE',
]);
const MAX_CONTENT = 64 * 1024;
const MAX_FILES = 200;

function bad(message: string): BinswarmError<OutputMetadataErrorCode> {
  return new BinswarmError('BAD_OUTPUT_METADATA', message);
}

/** From an archive's digestable metadata files (environment.bz2 already replaced by `environment`). */
export function outputMetadataOf(imageDigest: string, files: Map<string, Buffer>): OutputMetadata {
  const out: OutputMetadataFile[] = [];
  for (const [name, content] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (name in METADATA_EXCLUDED) continue;
    out.push({ name, size: content.length, sha256: createHash('sha256').update(content).digest('hex'), ...(ENTRY_FILES.has(name) && content.length <= MAX_CONTENT ? { content: content.toString('base64') } : {}) });
  }
  return { imageDigest, files: out };
}

/**
 * Checks the sheet against an attested outputDigest and returns the parsed
 * metadata of the files it carries; BAD_OUTPUT_METADATA for malformed input,
 * OUTPUT_METADATA_MISMATCH when it is not what was attested.
 */
export function verifyOutputMetadata(value: unknown, outputDigest: string): { metadata: PackageMetadata; sheet: OutputMetadata } {
  const v = value as Partial<OutputMetadata> | null;
  if (!v || typeof v !== 'object' || typeof v.imageDigest !== 'string' || !/^[0-9a-f]{64}$/.test(v.imageDigest) || !Array.isArray(v.files) || v.files.length > MAX_FILES) throw bad('not an output metadata sheet');
  const seen = new Set<string>();
  const contents = new Map<string, Buffer>();
  const files: OutputMetadataFile[] = [];
  for (const f of v.files as unknown[]) {
    const x = f as Partial<OutputMetadataFile>;
    if (typeof x?.name !== 'string' || !/^[A-Za-z0-9_.+-]{1,200}$/.test(x.name) || !Number.isSafeInteger(x.size) || x.size! < 0 || typeof x.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(x.sha256)) throw bad('malformed file entry');
    if (seen.has(x.name)) throw bad(`file '${x.name}' is listed twice`);
    if (x.name in METADATA_EXCLUDED) throw bad(`file '${x.name}' is not part of the metadata digest`);
    seen.add(x.name);
    if (x.content !== undefined) {
      if (typeof x.content !== 'string' || x.content.length > (MAX_CONTENT * 4) / 3 + 4) throw bad(`content of '${x.name}' is too large`);
      const bytes = Buffer.from(x.content, 'base64');
      if (bytes.toString('base64') !== x.content || bytes.length !== x.size || createHash('sha256').update(bytes).digest('hex') !== x.sha256) {
        throw new BinswarmError<OutputMetadataErrorCode>('OUTPUT_METADATA_MISMATCH', `content of '${x.name}' does not match its listed size and sha256`);
      }
      contents.set(x.name, bytes);
    }
    files.push({ name: x.name, size: x.size!, sha256: x.sha256, ...(x.content !== undefined ? { content: x.content } : {}) });
  }
  if (outputDigestOf(v.imageDigest, metadataDigestOfListing(files)) !== outputDigest) {
    throw new BinswarmError<OutputMetadataErrorCode>('OUTPUT_METADATA_MISMATCH', `metadata does not hash to the attested output ${outputDigest.slice(0, 16)}…`);
  }
  let metadata: PackageMetadata;
  try {
    metadata = parseMetadata(contents);
  } catch (e) {
    throw bad(`metadata is unreadable: ${(e as Error).message}`);
  }
  return { metadata, sheet: { imageDigest: v.imageDigest, files } };
}
