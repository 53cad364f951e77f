/**
 * Backend `example`: builds the bundled example repository with the system
 * C compiler, no Portage needed (demo, fast tests, machines without Gentoo).
 * Output is a real gpkg laid out and described as Portage would (metadata,
 * the ebuild, environment.bz2, `:=` dependencies recorded with the subslot
 * built against), so the real Portage client installs it.
 *
 * Reproducible by construction: the build runs in a clean environment with
 * SOURCE_DATE_EPOCH, the job's directory is mapped to one fixed path
 * (-ffile-prefix-map), the saved environment is generated rather than
 * dumped, and the archive is written sorted with fixed mtimes — so builders
 * of different operators, in different directories, agree bit for bit.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, lstat, rm } from 'node:fs/promises';
import { join, resolve as absolute } from 'node:path';
import { writeGpkg } from '../formats/gpkg-write.js';
import { compressor } from '../formats/compression.js';
import { refuse, unavailable, type BuildBackend, type BuildOutput, type BuildRequest, type JobSpec } from './backend.js';
import { runPhases, SOURCE_DATE_EPOCH } from './ebuild-shell.js';
import { elfDepsOf } from './elf-deps.js';
import { applyInstallMask } from './apply-install-mask.js';
import { bestVersion, evaluateDepend, exampleRepoDir, readEbuild, recordDepend, repoName, type EbuildInfo } from './example-repo.js';
import { tamperWithImage, tamperRequested } from './tamper.js';

/** Where every build's directory appears to be, to the compiler (-ffile-prefix-map). */
export const FIXED_BUILD_PATH = '/var/tmp/portage';
/** FEATURES the example backend honours (the others change the output in ways it does not implement). */
const SUPPORTED_FEATURES = new Set(['nodoc', 'noinfo', 'noman', 'nostrip']);
const PROFILE_ARCHES = ['amd64', 'arm64', 'x86'];
const IMPLICIT_USE = ['elibc_glibc', 'kernel_linux'];
const IUSE_IMPLICIT = ['elibc_glibc', 'elibc_musl', 'kernel_linux', 'prefix', 'prefix-guest', 'prefix-stack'];

export interface ExampleBackendOptions {
  repoDir?: string;
  chost?: string;
  arch?: string;
  libdir?: string;
  /** C compiler (default `cc`). */
  cc?: string;
}

function hostArch(): { arch: string; chost: string; libdir: string } {
  switch (process.arch) {
    case 'arm64':
      return { arch: 'arm64', chost: 'aarch64-unknown-linux-gnu', libdir: 'lib64' };
    case 'ia32':
      return { arch: 'x86', chost: 'i686-pc-linux-gnu', libdir: 'lib' };
    default:
      return { arch: 'amd64', chost: 'x86_64-pc-linux-gnu', libdir: 'lib64' };
  }
}

export class ExampleBackend implements BuildBackend {
  readonly name = 'example';
  readonly chost: string;
  readonly arch: string;
  private readonly libdir: string;
  private readonly repoDir: string;
  private readonly cc: string;

  constructor(opts: ExampleBackendOptions = {}) {
    const host = hostArch();
    this.chost = opts.chost ?? host.chost;
    this.arch = opts.arch ?? host.arch;
    this.libdir = opts.libdir ?? host.libdir;
    this.repoDir = opts.repoDir ?? exampleRepoDir();
    this.cc = opts.cc ?? 'cc';
    if (spawnSync(this.cc, ['--version'], { stdio: 'ignore' }).error) throw unavailable(`the example backend needs a C compiler ('${this.cc}' not found)`);
  }

  /** Everything that makes a spec impossible to honour, checked before anything runs. */
  private async check(spec: JobSpec): Promise<EbuildInfo> {
    const repo = await repoName(this.repoDir);
    if (spec.repo !== repo) throw refuse(`repository '${spec.repo}' is not this backend's ('${repo}')`, spec.cpv);
    if (spec.chost !== this.chost) throw refuse(`CHOST ${spec.chost} is not this builder's (${this.chost})`, spec.cpv);
    if (spec.arch !== this.arch) throw refuse(`arch ${spec.arch} is not this builder's (${this.arch})`, spec.cpv);
    const eb = await readEbuild(this.repoDir, spec.cpv);
    if (!eb) throw refuse(`unknown package ${spec.cpv} (not in repository ${repo})`, spec.cpv);
    if (spec.ebuild !== undefined && spec.ebuild !== '' && spec.ebuild !== eb.sha256) throw refuse(`ebuild digest mismatch: the job wants ${spec.ebuild.slice(0, 12)}…, this tree has ${eb.sha256.slice(0, 12)}…`, spec.cpv);
    if (spec.eapi !== undefined && spec.eapi !== '' && spec.eapi !== eb.eapi) throw refuse(`EAPI ${spec.eapi} wanted, the ebuild has ${eb.eapi}`, spec.cpv);
    if (spec.eclasses !== undefined && spec.eclasses.join(' ') !== eb.inherited.join(' ')) throw refuse(`eclasses differ from the ebuild's (${eb.inherited.join(' ') || 'none'})`, spec.cpv);
    const iuse = new Set(eb.iuse.map((f) => f.replace(/^[+-]/, '')));
    const unknown = spec.use.filter((f) => !iuse.has(f));
    if (unknown.length) throw refuse(`USE flag${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} not in IUSE (${[...iuse].join(' ') || 'empty'})`, spec.cpv);
    const features = spec.features.filter((f) => !SUPPORTED_FEATURES.has(f));
    if (features.length) throw refuse(`FEATURES ${features.join(' ')} not supported by the example backend`, spec.cpv);
    return eb;
  }

  async build(req: BuildRequest): Promise<BuildOutput> {
    // Absolute: the build phases run in other directories.
    req = { ...req, workDir: absolute(req.workDir) };
    const { spec, workDir } = req;
    const eb = await this.check(spec);
    const sysroot = join(workDir, 'sysroot');
    await mkdir(sysroot, { recursive: true });
    const enabled = new Set(spec.use);
    // Dependencies are built first, at their best version with default USE,
    // into a sysroot the package compiles and links against (as emerge would).
    const deps = evaluateDepend(`${eb.depend} ${eb.rdepend} ${eb.bdepend}`, enabled, spec.cpv);
    const builtAgainst = new Map<string, { slot: string; subslot: string }>();
    for (const d of deps) {
      const key = `${d.atom.category}/${d.atom.pn}`;
      if (builtAgainst.has(key)) continue;
      builtAgainst.set(key, await this.buildDependency(key, spec, workDir, sysroot, req, new Set([spec.cpv])));
    }
    const image = join(workDir, 'image');
    await this.runEbuild(eb, enabled, spec, workDir, image, sysroot, req);
    for (const f of spec.features) {
      const dir = { nodoc: 'usr/share/doc', noman: 'usr/share/man', noinfo: 'usr/share/info' }[f];
      if (dir) await rm(join(image, dir), { recursive: true, force: true });
    }
    await applyInstallMask(image, spec.installMask);
    if (tamperRequested()) await tamperWithImage(image);
    const metadata = await this.metadata(eb, spec, image, {
      depend: recordDepend(evaluateDepend(eb.depend, enabled, spec.cpv), builtAgainst),
      rdepend: recordDepend(evaluateDepend(eb.rdepend, enabled, spec.cpv), builtAgainst),
      bdepend: recordDepend(evaluateDepend(eb.bdepend, enabled, spec.cpv), builtAgainst),
    });
    const outDir = join(workDir, 'out', eb.category);
    await mkdir(outDir, { recursive: true });
    const out = join(outDir, `${eb.pf}.gpkg.tar`);
    await writeGpkg({ imageDir: image, metadata, out, basename: eb.pf, compression: 'zstd', mtime: SOURCE_DATE_EPOCH });
    return { path: out };
  }

  private async buildDependency(key: string, spec: JobSpec, workDir: string, sysroot: string, req: BuildRequest, seen: Set<string>): Promise<{ slot: string; subslot: string }> {
    const [category, pn] = key.split('/') as [string, string];
    const cpv = await bestVersion(this.repoDir, { text: key, category, pn, wildcard: false, useDeps: [] });
    if (!cpv) throw refuse(`dependency ${key} is not in the example repository`, spec.cpv);
    if (seen.has(cpv)) throw refuse(`dependency cycle through ${cpv}`, spec.cpv);
    const eb = (await readEbuild(this.repoDir, cpv))!;
    const enabled = new Set(eb.iuse.filter((f) => f.startsWith('+')).map((f) => f.slice(1)));
    for (const d of evaluateDepend(`${eb.depend} ${eb.rdepend}`, enabled, cpv)) {
      await this.buildDependency(`${d.atom.category}/${d.atom.pn}`, spec, workDir, sysroot, req, new Set([...seen, cpv]));
    }
    req.onLog?.(`>>> dependency ${cpv} into the build sysroot`);
    await this.runEbuild(eb, enabled, spec, join(workDir, 'deps', eb.pf), sysroot, sysroot, req);
    return { slot: eb.slot, subslot: eb.subslot };
  }

  private async runEbuild(eb: EbuildInfo, enabled: Set<string>, spec: JobSpec, dir: string, dest: string, sysroot: string, req: BuildRequest): Promise<void> {
    await mkdir(dest, { recursive: true });
    const use = [this.arch, ...IMPLICIT_USE, ...enabled].sort().join(' ');
    // The job's directory is random; the compiler sees it as one fixed path.
    const cc = `${this.cc} -ffile-prefix-map=${req.workDir}=${FIXED_BUILD_PATH}`;
    await runPhases(
      eb.path,
      {
        CATEGORY: eb.category, PN: eb.pn, PV: eb.pv, PR: eb.pr, P: `${eb.pn}-${eb.pv}`, PF: eb.pf, PVR: eb.pr === 'r0' ? eb.pv : `${eb.pv}-${eb.pr}`,
        EAPI: eb.eapi, SLOT: `${eb.slot}/${eb.subslot}`, USE: use,
        FILESDIR: join(this.repoDir, eb.category, eb.pn, 'files'),
        WORKDIR: join(dir, 'work'), T: join(dir, 'temp'), D: dest, ED: dest, EPREFIX: '', SYSROOT: sysroot, ESYSROOT: sysroot,
        CC: cc, AR: 'ar', BINSWARM_SYMLINK_ROOT: dest === sysroot ? sysroot : '', CHOST: this.chost, CBUILD: this.chost, CFLAGS: spec.cflags, CXXFLAGS: spec.cxxflags, LDFLAGS: spec.ldflags, LIBDIR: this.libdir,
      },
      { signal: req.signal, onLog: req.onLog, cwd: req.workDir },
    );
  }

  private async metadata(eb: EbuildInfo, spec: JobSpec, image: string, deps: { depend: string; rdepend: string; bdepend: string }): Promise<Record<string, string | Buffer>> {
    const use = [...new Set([this.arch, ...IMPLICIT_USE, ...spec.use])].sort().join(' ');
    const iuseNames = eb.iuse.map((f) => f.replace(/^[+-]/, ''));
    const vars: Record<string, string> = {
      CATEGORY: eb.category, PF: eb.pf, SLOT: eb.slot === eb.subslot ? eb.slot : `${eb.slot}/${eb.subslot}`, EAPI: eb.eapi,
      USE: use, IUSE: eb.iuse.join(' '), IUSE_EFFECTIVE: [...new Set([...PROFILE_ARCHES, ...IUSE_IMPLICIT, ...iuseNames])].sort().join(' '),
      CFLAGS: spec.cflags, CXXFLAGS: spec.cxxflags, LDFLAGS: spec.ldflags, CHOST: this.chost, CBUILD: this.chost,
      FEATURES: [...spec.features].sort().join(' '), DEFINED_PHASES: eb.definedPhases.join(' '),
      DEPEND: deps.depend, RDEPEND: deps.rdepend, BDEPEND: deps.bdepend,
      DESCRIPTION: eb.description, HOMEPAGE: eb.homepage, LICENSE: eb.license, KEYWORDS: eb.keywords,
      INHERITED: eb.inherited.join(' '), EPREFIX: '', repository: spec.repo, INSTALL_MASK: spec.installMask,
      BUILD_TIME: String(Math.floor(Date.now() / 1000)), SIZE: String(await treeSize(image)),
    };
    const md: Record<string, string | Buffer> = {};
    for (const [k, v] of Object.entries(vars)) if (v !== '' || k === 'EPREFIX') md[k] = `${v}\n`;
    const elf = await elfDepsOf(image, [`/usr/${this.libdir}`, `/${this.libdir}`]);
    if (elf) {
      if (elf.needed) md.NEEDED = `${elf.needed}\n`;
      if (elf.neededElf2) md['NEEDED.ELF.2'] = `${elf.neededElf2}\n`;
      if (elf.provides) md.PROVIDES = `${elf.provides}\n`;
      if (elf.requires) md.REQUIRES = `${elf.requires}\n`;
    }
    md[`${eb.pf}.ebuild`] = eb.text;
    md['environment.bz2'] = await compressBzip2(savedEnvironment(eb, vars, use));
    return md;
  }
}

/**
 * The saved environment Portage sources for the install phases: the
 * package's variables, then the ebuild's own code (its functions). Built
 * from the job's values only — never a dump of the builder's shell, which
 * would carry its paths and break reproducibility.
 */
export function savedEnvironment(eb: EbuildInfo, vars: Record<string, string>, use: string): Buffer {
  const q = (s: string) => `"${s.replace(/(["\\$`])/g, '\\$1')}"`;
  const env: Record<string, string> = {
    ...Object.fromEntries(['CATEGORY', 'PF', 'SLOT', 'EAPI', 'IUSE', 'CFLAGS', 'CXXFLAGS', 'LDFLAGS', 'CHOST', 'CBUILD', 'DEFINED_PHASES', 'KEYWORDS', 'LICENSE', 'DESCRIPTION', 'HOMEPAGE'].map((k) => [k, vars[k] ?? ''])),
    P: `${eb.pn}-${eb.pv}`, PN: eb.pn, PV: eb.pv, PR: eb.pr, USE: use,
  };
  const lines = Object.keys(env)
    .sort()
    .map((k) => `declare -x ${k}=${q(env[k]!)}`);
  return Buffer.from(`${lines.join('\n')}\n${eb.text.toString('utf8')}`);
}

async function compressBzip2(data: Buffer): Promise<Buffer> {
  const c = compressor('bzip2');
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of c) chunks.push(chunk as Buffer);
  })();
  c.end(data);
  await done;
  return Buffer.concat(chunks);
}

async function treeSize(dir: string): Promise<number> {
  let n = 0;
  for (const name of await readdir(dir)) {
    const st = await lstat(join(dir, name));
    if (st.isDirectory()) n += await treeSize(join(dir, name));
    else if (st.isFile()) n += st.size;
  }
  return n;
}
