/**
 * Which builds can match this system. The rule (README, "Packages filter"):
 * a build is listed when its CHOST is ours and, if the local USE
 * configuration is given, its enabled flags are exactly the flags this
 * system would enable for that package — for each flag the package declares
 * (IUSE, from the verified metadata): the IUSE default (+flag), then
 * make.conf USE, then package.use lines in order (the last one that
 * mentions the flag wins). CFLAGS are not matched: any CFLAGS of our CHOST
 * run here. Without local USE configuration nothing is filtered by USE.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BinswarmError } from '../errors.js';
import { matchesAtom, parseAtom, type Atom } from '../formats/atom.js';

export interface LocalUse {
  /** make.conf USE tokens in order (`flag` or `-flag`; `-*` clears). */
  use: string[];
  packageUse: { atom: Atom; flags: string[] }[];
}

function bad(message: string): BinswarmError<'BAD_LOCAL_CONFIG'> {
  return new BinswarmError('BAD_LOCAL_CONFIG', message);
}

export function parsePackageUseLine(line: string): { atom: Atom; flags: string[] } | undefined {
  const text = line.replace(/#.*/, '').trim();
  if (text === '') return undefined;
  const [atom, ...flags] = text.split(/\s+/);
  try {
    return { atom: parseAtom(atom!), flags };
  } catch (e) {
    throw bad(`package.use: ${(e as Error).message}`);
  }
}

export function localUseOf(use: string | undefined, packageUse: readonly string[]): LocalUse {
  return { use: (use ?? '').split(/\s+/).filter(Boolean), packageUse: packageUse.map(parsePackageUseLine).filter((x) => x !== undefined) };
}

/** Reads USE from DIR/make.conf and DIR/package.use (a file or a directory of files), as Portage lays out /etc/portage. */
export function readPortageConfig(dir: string): LocalUse {
  let use: string | undefined;
  try {
    const conf = readFileSync(join(dir, 'make.conf'), 'utf8');
    for (const m of conf.matchAll(/^\s*USE\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S*))/gm)) use = `${use ?? ''} ${m[1] ?? m[2] ?? m[3] ?? ''}`;
  } catch {
    // No make.conf: no global USE.
  }
  const lines: string[] = [];
  const pu = join(dir, 'package.use');
  try {
    const files = statSync(pu).isDirectory() ? readdirSync(pu).filter((f) => !f.startsWith('.')).sort().map((f) => join(pu, f)) : [pu];
    for (const f of files) lines.push(...readFileSync(f, 'utf8').split('\n'));
  } catch {
    // No package.use.
  }
  return localUseOf(use, lines);
}

/** The flags this system would enable for a package declaring `iuse` (entries may carry +/- defaults). */
export function wantedUse(cpv: string, slot: string, iuse: readonly string[], cfg: LocalUse): Set<string> {
  const declared = iuse.map((f) => f.replace(/^[+-]/, ''));
  const on = new Set(iuse.filter((f) => f.startsWith('+')).map((f) => f.slice(1)));
  const apply = (tokens: readonly string[]) => {
    for (const t of tokens) {
      if (t === '-*') on.clear();
      else if (t.startsWith('-')) on.delete(t.slice(1));
      else on.add(t);
    }
  };
  apply(cfg.use);
  for (const p of cfg.packageUse) if (matchesAtom(p.atom, { cpv, slot })) apply(p.flags);
  return new Set(declared.filter((f) => on.has(f)));
}

/** The build's enabled IUSE flags equal what this system wants for the package. */
export function useMatches(cpv: string, slot: string, iuse: readonly string[], enabled: readonly string[], cfg: LocalUse | undefined): boolean {
  if (!cfg) return true;
  const want = wantedUse(cpv, slot, iuse, cfg);
  const declared = new Set(iuse.map((f) => f.replace(/^[+-]/, '')));
  const have = new Set(enabled.filter((f) => declared.has(f)));
  return have.size === want.size && [...want].every((f) => have.has(f));
}
