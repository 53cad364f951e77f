/**
 * The bundled example ebuild repository (src/builder/example-repo/): where
 * it is, which versions it has, what each ebuild declares, and dependency
 * strings evaluated for a USE set (with `:=` resolved to the slot/subslot
 * built against, as Portage records it).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAtom, splitCpv, type Atom } from '../formats/atom.js';
import { compareVersions } from '../formats/version.js';
import { refuse } from './backend.js';
import { runBash } from './ebuild-shell.js';

/** The example repository: next to this module in the source tree, or in the package's src/ when run from dist/. */
export function exampleRepoDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'example-repo'), join(here, '..', '..', '..', 'src', 'builder', 'example-repo')];
  const found = candidates.find((d) => existsSync(join(d, 'profiles', 'repo_name')));
  if (!found) throw new Error(`the example repository is missing (looked in ${candidates.join(', ')})`);
  return found;
}

export async function repoName(repoDir: string): Promise<string> {
  return (await readFile(join(repoDir, 'profiles', 'repo_name'), 'utf8')).trim();
}

/** What an ebuild declares (its global scope, evaluated by bash). */
export interface EbuildInfo {
  cpv: string;
  category: string;
  pn: string;
  pf: string;
  /** Version without revision, and the revision (`r0`). */
  pv: string;
  pr: string;
  path: string;
  text: Buffer;
  sha256: string;
  eapi: string;
  slot: string;
  subslot: string;
  /** IUSE as written (`debug +nls`). */
  iuse: string[];
  keywords: string;
  description: string;
  homepage: string;
  license: string;
  depend: string;
  rdepend: string;
  bdepend: string;
  inherited: string[];
  /** Phase functions the ebuild defines (`compile install unpack`). */
  definedPhases: string[];
}

const VARS = ['EAPI', 'SLOT', 'IUSE', 'KEYWORDS', 'DESCRIPTION', 'HOMEPAGE', 'LICENSE', 'DEPEND', 'RDEPEND', 'BDEPEND', 'INHERITED'] as const;

export async function readEbuild(repoDir: string, cpv: string): Promise<EbuildInfo | undefined> {
  let c;
  try {
    c = splitCpv(cpv);
  } catch {
    return undefined;
  }
  const path = join(repoDir, c.category, c.pn, `${c.pf}.ebuild`);
  if (!existsSync(path)) return undefined;
  const text = await readFile(path);
  const pv = c.version.replace(/-r\d+$/, '');
  const pr = `r${c.revision}`;
  // The global scope is bash: let bash evaluate it, with the variables PMS
  // says are defined there, and print what we need NUL-separated.
  const script = `set -e; source "$EBUILD"; for v in ${VARS.join(' ')}; do printf '%s\\0' "\${!v}"; done; declare -F | sed 's/^declare -f //' | tr '\\n' ' '`;
  const r = await runBash(script, { EBUILD: path, CATEGORY: c.category, PN: c.pn, PV: pv, PR: pr, P: `${c.pn}-${pv}`, PF: c.pf, PVR: c.version, WORKDIR: '/nonexistent', FILESDIR: '/nonexistent' });
  const parts = r.split('\0');
  const get = (k: (typeof VARS)[number]) => (parts[VARS.indexOf(k)] ?? '').trim().replace(/\s+/g, ' ');
  const functions = (parts[VARS.length] ?? '').split(/\s+/);
  const slotText = get('SLOT') || '0';
  const [slot, subslot] = slotText.includes('/') ? (slotText.split('/', 2) as [string, string]) : [slotText, slotText];
  return {
    cpv,
    category: c.category,
    pn: c.pn,
    pf: c.pf,
    pv,
    pr,
    path,
    text,
    sha256: createHash('sha256').update(text).digest('hex'),
    eapi: get('EAPI') || '0',
    slot,
    subslot,
    iuse: get('IUSE').split(' ').filter(Boolean),
    keywords: get('KEYWORDS'),
    description: get('DESCRIPTION'),
    homepage: get('HOMEPAGE'),
    license: get('LICENSE'),
    depend: get('DEPEND'),
    rdepend: get('RDEPEND'),
    bdepend: get('BDEPEND'),
    inherited: get('INHERITED').split(' ').filter(Boolean).sort(),
    definedPhases: functions
      .map((f) => /^(?:src|pkg)_(\w+)$/.exec(f)?.[1])
      .filter((p): p is string => p !== undefined)
      .sort(),
  };
}

/** The highest version of `category/pn` in the repository, as a cpv. */
export async function bestVersion(repoDir: string, atom: Atom): Promise<string | undefined> {
  const dir = join(repoDir, atom.category, atom.pn);
  const names = await readdir(dir).catch(() => [] as string[]);
  const versions = names
    .filter((n) => n.startsWith(`${atom.pn}-`) && n.endsWith('.ebuild'))
    .map((n) => n.slice(atom.pn.length + 1, -'.ebuild'.length))
    .sort((a, b) => compareVersions(b, a));
  return versions[0] === undefined ? undefined : `${atom.category}/${atom.pn}-${versions[0]}`;
}

export interface DepAtom {
  atom: Atom;
  /** Written with `:=`: record the slot/subslot built against. */
  slotOperator: boolean;
}

/**
 * Evaluates `flag? ( … )` / `!flag? ( … )` groups of a dependency string
 * for the enabled flags; returns the atoms that apply. Any-of groups
 * (`|| ( … )`) are not needed by the example repository and are refused.
 */
export function evaluateDepend(dep: string, enabled: ReadonlySet<string>, subject: string): DepAtom[] {
  const tokens = dep.split(/\s+/).filter(Boolean);
  const out: DepAtom[] = [];
  let i = 0;
  const group = (active: boolean, nested: boolean): void => {
    while (i < tokens.length) {
      const t = tokens[i++]!;
      if (t === ')') {
        if (!nested) throw refuse(`unbalanced ')' in dependencies`, subject);
        return;
      }
      const cond = /^(!?)([A-Za-z0-9][A-Za-z0-9+_@-]*)\?$/.exec(t);
      if (cond) {
        if (tokens[i++] !== '(') throw refuse(`'${t}' is not followed by '('`, subject);
        const on = enabled.has(cond[2]!) !== (cond[1] === '!');
        group(active && on, true);
        continue;
      }
      if (t === '||' || t === '(') throw refuse(`any-of and bare groups are not supported by the example backend`, subject);
      const atom = parseAtom(t);
      if (active) out.push({ atom, slotOperator: atom.slotOperator === '=' && atom.slot === undefined });
    }
    if (nested) throw refuse(`unbalanced '(' in dependencies`, subject);
  };
  group(true, false);
  return out;
}

/** The dependency string as Portage records it in a binary package: USE-evaluated, `:=` → `:slot/subslot=`. */
export function recordDepend(deps: DepAtom[], builtAgainst: ReadonlyMap<string, { slot: string; subslot: string }>): string {
  return deps
    .map(({ atom, slotOperator }) => {
      const key = `${atom.category}/${atom.pn}`;
      const abi = builtAgainst.get(key);
      return slotOperator && abi ? atom.text.replace(/:=/, `:${abi.slot}/${abi.subslot}=`) : atom.text;
    })
    .join(' ');
}
