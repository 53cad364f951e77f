/**
 * The ELF metadata Portage records for a binary package (NEEDED,
 * NEEDED.ELF.2, PROVIDES, REQUIRES), from `scanelf` as Portage's
 * misc-functions.sh runs it. These keys are left out of metadataDigest
 * (they depend on the builder having scanelf), so a builder without
 * pax-utils still agrees with one that has it; with it, Portage's soname
 * dependency checks and its "blank PROVIDES" warning have what they need.
 */
import { execFile } from 'node:child_process';

export interface ElfDeps {
  needed: string;
  neededElf2: string;
  provides: string;
  requires: string;
}

/** scanelf's e_machine → Portage's multilib category (portage.dep.soname.multilib_category). */
const CATEGORY: Record<string, string> = { EM_X86_64: 'x86_64', EM_386: 'x86_32', EM_AARCH64: 'arm_64', EM_ARM: 'arm_32', EM_RISCV: 'riscv_lp64d', EM_PPC64: 'ppc_64' };

function scanelf(dir: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('scanelf', ['-yRBF', '%a;%p;%S;%r;%n', `${dir.replace(/\/+$/, '')}/`], { maxBuffer: 16 << 20 }, (err, stdout) => resolve(err ? undefined : stdout));
  });
}

/** undefined when scanelf is not installed. */
export async function elfDepsOf(imageDir: string, libdirs: readonly string[]): Promise<ElfDeps | undefined> {
  const out = await scanelf(imageDir);
  if (out === undefined) return undefined;
  const root = `${imageDir.replace(/\/+$/, '')}/`;
  const needed: string[] = [];
  const elf2: string[] = [];
  const provides = new Map<string, Set<string>>();
  const requires = new Map<string, Set<string>>();
  const add = (m: Map<string, Set<string>>, cat: string, v: string) => (m.get(cat) ?? m.set(cat, new Set()).get(cat)!).add(v);
  for (const line of out.split('\n').filter(Boolean).sort()) {
    const [arch, path, soname, rpath, deps] = line.split(';') as [string, string, string, string, string];
    const rel = `/${(path.startsWith(root) ? path.slice(root.length) : path).replace(/^\/+/, '')}`;
    const cat = CATEGORY[arch] ?? arch.replace(/^EM_/, '').toLowerCase();
    const r = rpath.trim() === '-' ? '' : rpath.trim();
    const d = (deps ?? '').trim();
    needed.push(`${rel} ${d}`);
    elf2.push([arch.replace(/^EM_/, ''), rel, soname, r, d, cat].join(';'));
    if (soname && libdirs.some((l) => rel.startsWith(`${l}/`))) add(provides, cat, soname);
    for (const lib of d.split(',').filter(Boolean)) add(requires, cat, lib);
  }
  for (const [cat, set] of provides) for (const s of set) requires.get(cat)?.delete(s);
  const fmt = (m: Map<string, Set<string>>) =>
    [...m.entries()]
      .filter(([, s]) => s.size > 0)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([cat, s]) => `${cat}: ${[...s].sort().join(' ')}`)
      .join(' ');
  return { needed: needed.join('\n'), neededElf2: elf2.join('\n'), provides: fmt(provides), requires: fmt(requires) };
}
