/**
 * Package atoms (PMS section 8.3, Portage lib/portage/dep/):
 * `[!|!!][op]cat/pkg[-ver][*][:slot[/subslot][=]|:=|:*][::repo][[use,deps]]`.
 */
import { BinswarmError } from '../errors.js';
import { compareVersions, VERSION_PATTERN, withoutRevision } from './version.js';

export type AtomErrorCode = 'BAD_ATOM' | 'BAD_CPV';

export type Operator = '<' | '<=' | '=' | '~' | '>=' | '>';

export interface UseDep {
  flag: string;
  /** `-flag`, `!flag=`, `!flag?` */
  negated: boolean;
  /** `=` or `?` conditional forms. */
  conditional?: '=' | '?';
  /** `(+)` / `(-)` default when the flag is missing from IUSE. */
  default?: '+' | '-';
}

export interface Atom {
  text: string;
  blocker?: '!' | '!!';
  operator?: Operator;
  category: string;
  pn: string;
  version?: string;
  wildcard: boolean;
  slot?: string;
  subslot?: string;
  slotOperator?: '=' | '*';
  repo?: string;
  useDeps: UseDep[];
}

const NAME = '[A-Za-z0-9_+][A-Za-z0-9_+-]*';
const CATEGORY_RE = /^[A-Za-z0-9_+][A-Za-z0-9_+.-]*$/;
const SLOT_NAME = '[A-Za-z0-9_+][A-Za-z0-9_+.-]*';
const ENDS_WITH_VERSION = new RegExp(`-${VERSION_PATTERN}$`);
const ATOM_RE = new RegExp(
  `^(?<blocker>!!?)?(?<op><=|>=|=|~|<|>)?(?<cat>[^/\\s]+)/(?<pn>${NAME}?)(?:-(?<ver>${VERSION_PATTERN}))?(?<wild>\\*)?` +
    `(?::(?:(?<slotOp>\\*|=)|(?<slot>${SLOT_NAME})(?:/(?<sub>${SLOT_NAME}))?(?<slotEq>=)?))?(?:::(?<repo>[A-Za-z0-9_][A-Za-z0-9_-]*))?(?:\\[(?<use>[^\\]]*)\\])?$`,
);
const USE_RE = /^(!)?(-)?([A-Za-z0-9][A-Za-z0-9+_@-]*)(\([+-]\))?([=?])?$/;
const MAX_ATOM_LENGTH = 1024;

function validPn(pn: string): boolean {
  return new RegExp(`^${NAME}$`).test(pn) && !ENDS_WITH_VERSION.test(pn);
}

function parseUseDeps(s: string, bad: (why: string) => BinswarmError): UseDep[] {
  return s.split(',').map((part) => {
    const m = USE_RE.exec(part);
    if (!m) throw bad(`invalid USE dependency '${part}'`);
    const [, bang, minus, flag, def, cond] = m;
    // `!flag` only exists in the conditional forms; `-flag` only in the plain one.
    if (bang && !cond) throw bad(`'${part}' needs '=' or '?'`);
    if (minus && (bang || cond)) throw bad(`'${part}' mixes '-' with a conditional`);
    return {
      flag: flag!,
      negated: Boolean(bang || minus),
      ...(cond ? { conditional: cond as '=' | '?' } : {}),
      ...(def ? { default: def[1] as '+' | '-' } : {}),
    };
  });
}

export function parseAtom(s: string): Atom {
  const bad = (why: string) => new BinswarmError<AtomErrorCode>('BAD_ATOM', `invalid atom '${s.slice(0, 80)}': ${why}`);
  if (s.length > MAX_ATOM_LENGTH) throw bad('too long');
  // Regex alternatives can split `pkg-1.0` several ways; try each split of the name and keep the valid one.
  const m = ATOM_RE.exec(s);
  if (!m) throw bad('does not match cat/pkg[-ver][:slot][::repo][[use]]');
  const { blocker, op: operator, cat: category, pn, ver: version, wild: wildcard, slotOp, slot, sub: subslot, slotEq, repo, use } = m.groups!;
  if (!CATEGORY_RE.test(category!)) throw bad('invalid category');
  if (!validPn(pn!)) throw bad('invalid package name');
  if (operator && !version) throw bad(`operator ${operator} needs a version`);
  if (!operator && version) throw bad('a version needs an operator');
  if (wildcard && operator !== '=') throw bad("'*' only goes with '='");
  return {
    text: s,
    ...(blocker ? { blocker: blocker as '!' | '!!' } : {}),
    ...(operator ? { operator: operator as Operator } : {}),
    category: category!,
    pn: pn!,
    ...(version ? { version } : {}),
    wildcard: Boolean(wildcard),
    ...(slot ? { slot } : {}),
    ...(subslot ? { subslot } : {}),
    ...(slotOp || slotEq ? { slotOperator: (slotOp ?? slotEq) as '=' | '*' } : {}),
    ...(repo ? { repo } : {}),
    useDeps: use === undefined ? [] : parseUseDeps(use, bad),
  };
}

export function isValidAtom(s: string): boolean {
  try {
    parseAtom(s);
    return true;
  } catch {
    return false;
  }
}

export interface Cpv {
  category: string;
  pn: string;
  /** Version including `-rN`. */
  version: string;
  revision: number;
  /** `pn-version` */
  pf: string;
}

export function splitCpv(cpv: string): Cpv {
  const m = new RegExp(`^([A-Za-z0-9_+][A-Za-z0-9_+.-]*)/(${NAME}?)-(${VERSION_PATTERN})$`).exec(cpv);
  if (!m || !validPn(m[2]!)) throw new BinswarmError<AtomErrorCode>('BAD_CPV', `invalid cat/pkg-version '${cpv.slice(0, 80)}'`);
  const version = m[3]!;
  const rev = /-r(\d+)$/.exec(version);
  return { category: m[1]!, pn: m[2]!, version, revision: rev ? Number(rev[1]) : 0, pf: `${m[2]}-${version}` };
}

export function isValidCpv(cpv: string): boolean {
  try {
    splitCpv(cpv);
    return true;
  } catch {
    return false;
  }
}

export interface PackageRef {
  cpv: string;
  slot?: string;
  subslot?: string;
  repo?: string;
}

/** Does a package match the atom (ignoring blockers and USE deps)? */
export function matchesAtom(atom: Atom, pkg: PackageRef): boolean {
  const c = splitCpv(pkg.cpv);
  if (c.category !== atom.category || c.pn !== atom.pn) return false;
  if (atom.slot !== undefined && atom.slot !== (pkg.slot ?? '0')) return false;
  if (atom.subslot !== undefined && atom.subslot !== (pkg.subslot ?? pkg.slot ?? '0')) return false;
  if (atom.repo !== undefined && atom.repo !== pkg.repo) return false;
  if (!atom.operator || !atom.version) return true;
  if (atom.wildcard) return c.version.startsWith(atom.version);
  if (atom.operator === '~') return compareVersions(withoutRevision(c.version), withoutRevision(atom.version)) === 0;
  const cmp = compareVersions(c.version, atom.version);
  switch (atom.operator) {
    case '<':
      return cmp < 0;
    case '<=':
      return cmp <= 0;
    case '=':
      return cmp === 0;
    case '>=':
      return cmp >= 0;
    case '>':
      return cmp > 0;
  }
}
