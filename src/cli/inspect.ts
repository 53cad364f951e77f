/** `binswarm inspect PATH` — a package file or a PKGDIR. */
import { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { BinswarmError } from '../errors.js';
import { inspectPackage, type PackageInfo } from '../formats/inspect.js';
import { checkPkgdir } from '../formats/pkgdir.js';
import { EXIT, printJson, type CliCommand } from './common.js';

/** The JSON shape of one package (stable: scripts rely on it). */
export function packageJson(p: PackageInfo) {
  return {
    path: p.path,
    format: p.format,
    cpv: p.cpv,
    slot: p.slot,
    subslot: p.subslot,
    buildId: p.buildId ?? null,
    eapi: p.eapi,
    chost: p.chost,
    use: p.use,
    iuse: p.iuse,
    cflags: p.cflags,
    cxxflags: p.cxxflags,
    ldflags: p.ldflags,
    compression: p.compression,
    signed: p.signed,
    archive: p.archive,
    ...(p.md5 ? { md5: p.md5, sha1: p.sha1 } : {}),
    imageDigest: p.imageDigest,
    metadataDigest: p.metadataDigest,
    outputDigest: p.outputDigest,
    buildKey: p.buildKey,
    configKey: p.configKey,
    buildConfig: p.buildConfig,
  };
}

function human(p: PackageInfo): string {
  const rows: [string, string][] = [
    ['package', `${p.cpv}${p.buildId !== undefined ? ` (BUILD_ID ${p.buildId})` : ''}`],
    ['slot', p.slot === p.subslot ? p.slot : `${p.slot}/${p.subslot}`],
    ['format', `${p.format}, ${p.compression}${p.signed ? ', signed' : ', unsigned'}`],
    ['eapi', p.eapi],
    ['chost', p.chost],
    ['use', p.buildConfig.use.join(' ') || '(none)'],
    ['cflags', p.cflags],
    ['depAbi', p.buildConfig.depAbi.join(' ') || '(none)'],
    ['links', p.buildConfig.links?.join(' ') ?? '(none)'],
    ['archive', `${p.archive.size} bytes, sha256 ${p.archive.sha256}`],
    ['image', p.imageDigest],
    ['metadata', p.metadataDigest],
    ['output', p.outputDigest],
    ['buildKey', p.buildKey],
    ['configKey', p.configKey],
  ];
  return rows.map(([k, v]) => `${k.padEnd(10)} ${v}`).join('\n');
}

let problemsFound = false;

const command: CliCommand = {
  build() {
    return new Command()
      .description('Read a binary package (.gpkg.tar or .tbz2) or a whole PKGDIR; print metadata and digests.')
      .argument('<path>', 'a .gpkg.tar, a .tbz2, or a PKGDIR with a Packages index')
      .option('--json', 'print JSON')
      .addHelpText(
        'after',
        `
For a PKGDIR every package is checked against the Packages index (missing
files, SIZE/MD5/SHA1 mismatches, entries without files, files without entries).

Exit status: 0 ok, 1 problems found in a PKGDIR, 2 unreadable or corrupt input.

Examples:
  binswarm inspect /var/cache/binpkgs/app-misc/hello-1.0.gpkg.tar
  binswarm inspect --json /var/cache/binpkgs | jq '.problems'`,
      )
      .action(async (path: string, opts: { json?: boolean }) => {
        const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
          throw new BinswarmError('NOT_FOUND', `cannot read: ${e.code ?? e.message}`, { subject: path });
        });
        if (st.isDirectory()) {
          const tty = process.stderr.isTTY && !opts.json;
          const report = await checkPkgdir(path, {
            onProgress: tty ? (done, total, rel) => process.stderr.write(`\r\x1b[K[${done}/${total}] ${rel}`) : undefined,
          });
          if (tty) process.stderr.write('\r\x1b[K');
          problemsFound = report.problems.length > 0;
          if (opts.json) printJson({ packages: report.packages.map(packageJson), problems: report.problems });
          else {
            for (const p of report.packages) console.log(`${p.cpv.padEnd(40)} ${p.outputDigest.slice(0, 16)}  ${p.archive.size} bytes`);
            for (const pr of report.problems) console.log(`problem: ${pr.path ?? pr.cpv ?? ''}: ${pr.message} [${pr.code}]`);
            console.log(`${report.packages.length} packages, ${report.problems.length} problems`);
          }
          return;
        }
        try {
          const info = await inspectPackage(path, { portageDigests: false });
          if (opts.json) printJson(packageJson(info));
          else console.log(human(info));
        } catch (e) {
          throw e instanceof BinswarmError ? e.withSubject(path) : e;
        }
      });
  },
  exitCode: () => (problemsFound ? EXIT.problems : EXIT.ok),
};

export default command;
