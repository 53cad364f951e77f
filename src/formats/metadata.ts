/**
 * Package metadata (`metadata/*` in a gpkg, the XPAK blob in a tbz2, one
 * file per key in the VDB) as a typed object. Values are small text files
 * with no trailing-newline guarantee: one `\n` is stripped.
 */
import { BinswarmError } from '../errors.js';

export type MetadataErrorCode = 'BAD_METADATA';

export interface PackageMetadata {
  category: string;
  pf: string;
  /** `category/pf` */
  cpv: string;
  slot: string;
  subslot: string;
  eapi: string;
  /** USE as recorded: enabled flags, implicit ones included. */
  use: string[];
  /** IUSE names without the `+`/`-` default markers. */
  iuse: string[];
  /** IUSE entries with a `+` default. */
  iuseDefaults: string[];
  iuseEffective: string[];
  cflags: string;
  cxxflags: string;
  ldflags: string;
  chost: string;
  cbuild: string;
  features: string[];
  buildId: number | undefined;
  buildTime: number | undefined;
  depend: string;
  rdepend: string;
  bdepend: string;
  idepend: string;
  pdepend: string;
  provides: string;
  requires: string;
  inherited: string[];
  definedPhases: string[];
  keywords: string[];
  license: string;
  restrict: string;
  properties: string;
  description: string;
  homepage: string;
  repository: string;
  eprefix: string;
  installMask: string;
  size: number | undefined;
  /** The `<PF>.ebuild` file, if present. */
  ebuild: Buffer | undefined;
  /** `environment.bz2` as stored (compressed). */
  environmentBz2: Buffer | undefined;
  /** Every metadata file, by name. */
  raw: Map<string, Buffer>;
}

/** Keys without which a binary package cannot be identified. */
const REQUIRED = ['CATEGORY', 'PF', 'SLOT'] as const;

function text(raw: Map<string, Buffer>, key: string): string {
  const b = raw.get(key);
  if (b === undefined) return '';
  const s = b.toString('utf8');
  return s.endsWith('\n') ? s.slice(0, -1) : s;
}

function words(s: string): string[] {
  return s.split(/\s+/).filter((w) => w !== '');
}

function intOrUndefined(s: string, key: string, subject?: string): number | undefined {
  if (s.trim() === '') return undefined;
  if (!/^\d{1,15}$/.test(s.trim())) {
    throw new BinswarmError<MetadataErrorCode>('BAD_METADATA', `${key} is not an integer: '${s.slice(0, 40)}'`, { subject });
  }
  return Number(s.trim());
}

// Names Portage allows for categories and package-version strings; anything
// else could smuggle path separators into the paths built from them.
const CATEGORY_RE = /^[A-Za-z0-9_][A-Za-z0-9+_.-]*$/;
const PF_RE = /^[A-Za-z0-9_][A-Za-z0-9+_-]*-[0-9][A-Za-z0-9._-]*$/;

export function parseMetadata(raw: Map<string, Buffer>, subject?: string): PackageMetadata {
  for (const k of REQUIRED) {
    if (!raw.has(k)) throw new BinswarmError<MetadataErrorCode>('BAD_METADATA', `metadata has no ${k}`, { subject });
  }
  const category = text(raw, 'CATEGORY').trim();
  const pf = text(raw, 'PF').trim();
  if (!CATEGORY_RE.test(category)) throw new BinswarmError<MetadataErrorCode>('BAD_METADATA', `invalid CATEGORY '${category.slice(0, 60)}'`, { subject });
  if (!PF_RE.test(pf)) throw new BinswarmError<MetadataErrorCode>('BAD_METADATA', `invalid PF '${pf.slice(0, 60)}'`, { subject });
  const slotText = text(raw, 'SLOT').trim() || '0';
  const [slot, subslot] = slotText.includes('/') ? (slotText.split('/', 2) as [string, string]) : [slotText, slotText];
  const iuseRaw = words(text(raw, 'IUSE'));
  return {
    category,
    pf,
    cpv: `${category}/${pf}`,
    slot,
    subslot,
    eapi: text(raw, 'EAPI').trim() || '0',
    use: words(text(raw, 'USE')),
    iuse: iuseRaw.map((f) => f.replace(/^[+-]/, '')),
    iuseDefaults: iuseRaw.filter((f) => f.startsWith('+')).map((f) => f.slice(1)),
    iuseEffective: words(text(raw, 'IUSE_EFFECTIVE')),
    cflags: text(raw, 'CFLAGS'),
    cxxflags: text(raw, 'CXXFLAGS'),
    ldflags: text(raw, 'LDFLAGS'),
    chost: text(raw, 'CHOST').trim(),
    cbuild: text(raw, 'CBUILD').trim(),
    features: words(text(raw, 'FEATURES')),
    buildId: intOrUndefined(text(raw, 'BUILD_ID'), 'BUILD_ID', subject),
    buildTime: intOrUndefined(text(raw, 'BUILD_TIME'), 'BUILD_TIME', subject),
    depend: text(raw, 'DEPEND'),
    rdepend: text(raw, 'RDEPEND'),
    bdepend: text(raw, 'BDEPEND'),
    idepend: text(raw, 'IDEPEND'),
    pdepend: text(raw, 'PDEPEND'),
    provides: text(raw, 'PROVIDES'),
    requires: text(raw, 'REQUIRES'),
    inherited: words(text(raw, 'INHERITED')),
    definedPhases: words(text(raw, 'DEFINED_PHASES')),
    keywords: words(text(raw, 'KEYWORDS')),
    license: text(raw, 'LICENSE'),
    restrict: text(raw, 'RESTRICT'),
    properties: text(raw, 'PROPERTIES'),
    description: text(raw, 'DESCRIPTION'),
    homepage: text(raw, 'HOMEPAGE'),
    repository: text(raw, 'repository').trim(),
    eprefix: text(raw, 'EPREFIX'),
    // Portage records no INSTALL_MASK in build-info, but PKG_INSTALL_MASK (the
    // mask of what goes into the binary package): builders set both to the
    // job's mask (issue 14), so either names what the package leaves out.
    installMask: text(raw, 'INSTALL_MASK') || text(raw, 'PKG_INSTALL_MASK'),
    size: intOrUndefined(text(raw, 'SIZE'), 'SIZE', subject),
    ebuild: raw.get(`${pf}.ebuild`),
    environmentBz2: raw.get('environment.bz2'),
    raw,
  };
}
