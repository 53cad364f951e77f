/**
 * Backend `portage`: the real Portage builds the job. The job's
 * configuration becomes a generated configuration root (make.conf with its
 * CFLAGS/FEATURES/INSTALL_MASK, package.use with exactly its USE flags),
 * the build happens in one fixed prefix (the prefix lands in every path and
 * in environment.bz2, so builders only agree when it is the same), and the
 * package lands in a per-job PKGDIR.
 *
 * The command is configurable. It is called the way
 * ../shared/tools/portage/build_pkgs.py is (`CMD OUTDIR --target =CPV
 * --package-use LINE --make-conf LINE…`, `PGH_EPREFIX=PREFIX`), which runs
 * the real emerge in a Portage test scaffold; on a Gentoo host a wrapper
 * with the same interface runs `emerge --buildpkgonly` with
 * PORTAGE_CONFIGROOT set to the generated root (written to the job
 * directory as well, for inspection).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve as absolute } from 'node:path';
import { splitCpv } from '../formats/atom.js';
import { OUTPUT_AFFECTING_FEATURES } from '../formats/digests.js';
import { packagePath, readPackagesIndexFile } from '../formats/packages-index.js';
import { buildFailed, cancelled, refuse, unavailable, type BuildBackend, type BuildOutput, type BuildRequest, type JobSpec } from './backend.js';

export interface PortageBackendOptions {
  /** The build command and its first arguments, e.g. ['python3', '…/build_pkgs.py']. */
  command: string[];
  /** Fixed build prefix (PGH_EPREFIX); builders that should agree must share it. */
  prefix: string;
  /** An ebuild repository to check job ebuild digests against before building. */
  tree?: string;
  chost?: string;
  /** Extra environment for the command (e.g. PORTAGE_SRC). */
  env?: Record<string, string>;
}

/** The generated configuration root for one job: make.conf and package.use lines. */
export function portageConfig(spec: JobSpec): { makeConf: string[]; packageUse: string[] } {
  const q = (s: string) => `"${s.replace(/(["\\$`])/g, '\\$1')}"`;
  const wanted = new Set(spec.features);
  // Every output-affecting FEATURE is set explicitly, on or off, so the
  // host's defaults cannot change what is built.
  const features = OUTPUT_AFFECTING_FEATURES.map((f) => (wanted.has(f) ? f : `-${f}`));
  const makeConf = [
    `CFLAGS=${q(spec.cflags)}`,
    `CXXFLAGS=${q(spec.cxxflags)}`,
    `LDFLAGS=${q(spec.ldflags)}`,
    `FEATURES="\${FEATURES} ${features.join(' ')}"`,
    `INSTALL_MASK=${q(spec.installMask)}`,
    // The same mask on the binary package: Portage records PKG_INSTALL_MASK (not INSTALL_MASK) in its metadata, which is how the attested config names the variant.
    `PKG_INSTALL_MASK=${q(spec.installMask)}`,
    'BINPKG_FORMAT="gpkg"',
  ];
  // `-*` first: only the job's flags are on, whatever the IUSE defaults say.
  const packageUse = [`=${spec.cpv} -* ${spec.use.join(' ')}`.trim()];
  return { makeConf, packageUse };
}

function unsafe(s: string): boolean {
  // Everything goes to the command as separate argv entries, but make.conf is
  // sourced by bash: no newlines may smuggle extra lines into it.
  return /[\n\r\0]/.test(s);
}

export class PortageBackend implements BuildBackend {
  readonly name = 'portage';
  readonly chost: string;

  constructor(private readonly opts: PortageBackendOptions) {
    if (opts.command.length === 0) throw unavailable('the portage backend needs a command');
    this.chost = opts.chost ?? 'x86_64-pc-linux-gnu';
  }

  private async check(spec: JobSpec): Promise<void> {
    try {
      splitCpv(spec.cpv);
    } catch {
      throw refuse(`not a package version: ${spec.cpv}`, spec.cpv);
    }
    if (spec.chost !== this.chost) throw refuse(`CHOST ${spec.chost} is not this builder's (${this.chost})`, spec.cpv);
    for (const v of [spec.cflags, spec.cxxflags, spec.ldflags, spec.installMask, ...spec.use, ...spec.features]) {
      if (unsafe(v)) throw refuse('a configuration value contains a line break', spec.cpv);
    }
    const known = new Set<string>(OUTPUT_AFFECTING_FEATURES);
    const other = spec.features.filter((f) => !known.has(f));
    if (other.length) throw refuse(`FEATURES ${other.join(' ')} are not output-affecting FEATURES binswarm knows (${OUTPUT_AFFECTING_FEATURES.join(' ')})`, spec.cpv);
    const bad = spec.use.filter((f) => !/^[A-Za-z0-9][A-Za-z0-9+_@-]*$/.test(f));
    if (bad.length) throw refuse(`invalid USE flag ${bad[0]}`, spec.cpv);
    if (this.opts.tree && spec.ebuild) {
      const c = splitCpv(spec.cpv);
      const path = join(this.opts.tree, c.category, c.pn, `${c.pf}.ebuild`);
      if (!existsSync(path)) throw refuse(`unknown package ${spec.cpv} (not in ${this.opts.tree})`, spec.cpv);
      const have = createHash('sha256').update(await readFile(path)).digest('hex');
      if (have !== spec.ebuild) throw refuse(`ebuild digest mismatch: the job wants ${spec.ebuild.slice(0, 12)}…, this tree has ${have.slice(0, 12)}…`, spec.cpv);
    }
  }

  async build(req: BuildRequest): Promise<BuildOutput> {
    const spec = req.spec;
    const workDir = absolute(req.workDir);
    await this.check(spec);
    const cfg = portageConfig(spec);
    const root = join(workDir, 'config', 'etc', 'portage');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'make.conf'), `${cfg.makeConf.join('\n')}\n`);
    await writeFile(join(root, 'package.use'), `${cfg.packageUse.join('\n')}\n`);
    const pkgdir = join(workDir, 'pkgdir');
    const args = [...this.opts.command.slice(1), pkgdir, '--target', `=${spec.cpv}`, ...cfg.packageUse.flatMap((l) => ['--package-use', l]), ...cfg.makeConf.flatMap((l) => ['--make-conf', l])];
    const output = await this.run(this.opts.command[0]!, args, { ...this.opts.env, PGH_EPREFIX: this.opts.prefix, PORTAGE_CONFIGROOT: join(workDir, 'config') }, req);
    if (/there are no ebuilds (?:built with USE flags )?to satisfy/.test(output)) throw refuse(`unknown package ${spec.cpv} (Portage has no ebuild for it)`, spec.cpv);
    if (!existsSync(join(pkgdir, 'Packages'))) throw buildFailed(`Portage produced no packages: ${output.trim().split('\n').slice(-6).join(' | ')}`);
    const index = await readPackagesIndexFile(join(pkgdir, 'Packages'));
    const block = index.packages.find((b) => b.get('CPV') === spec.cpv);
    const rel = block && packagePath(block);
    if (!rel) throw buildFailed(`Portage built ${index.packages.map((b) => b.get('CPV')).join(', ') || 'nothing'} but not ${spec.cpv}`);
    return { path: join(pkgdir, rel) };
  }

  private run(cmd: string, args: string[], env: Record<string, string>, req: BuildRequest): Promise<string> {
    return new Promise((resolve, reject) => {
      if (req.signal.aborted) return reject(cancelled(req.signal));
      const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let all = '';
      let partial = '';
      const onData = (d: string) => {
        all = (all + d).slice(-64_000);
        partial += d;
        const lines = partial.split('\n');
        partial = lines.pop()!;
        for (const l of lines) req.onLog?.(l);
      };
      child.stdout.setEncoding('utf8').on('data', onData);
      child.stderr.setEncoding('utf8').on('data', onData);
      const kill = () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      };
      req.signal.addEventListener('abort', kill, { once: true });
      child.on('error', (e) => reject(buildFailed(`cannot run ${cmd}: ${e.message}`, e)));
      child.on('close', (code) => {
        req.signal.removeEventListener('abort', kill);
        if (req.signal.aborted) return reject(cancelled(req.signal));
        if (code === 0 || /there are no ebuilds/.test(all)) return resolve(all);
        reject(buildFailed(`${cmd} exited ${code}: ${all.trim().split('\n').filter((l) => !l.startsWith('{')).slice(-6).join(' | ')}`));
      });
    });
  }
}
