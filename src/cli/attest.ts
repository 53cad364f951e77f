/** `binswarm attest PKG --key KEY` — sign an attestation for a package file. */
import { Command, Option } from 'commander';
import { BinswarmError } from '../errors.js';
import { inspectPackage } from '../formats/inspect.js';
import { pieceRootOfFile } from '../transfer/pieces.js';
import { writeJsonOut } from '../trust/files.js';
import { readPrivateKey } from '../trust/keys.js';
import { signAttestation } from '../trust/statements.js';
import { parseTime } from './time.js';
import type { CliCommand } from './common.js';

const command: CliCommand = {
  build() {
    return new Command()
      .description('Sign an attestation (DSSE envelope) saying this package file is the output of its build config.')
      .argument('<pkg>', 'a .gpkg.tar or .tbz2')
      .requiredOption('--key <file>', 'the builder private key')
      .addOption(new Option('--kind <kind>', 'what you did').choices(['build', 'verify', 'contribute']).default('build'))
      .option('--out <file>', 'write the envelope here (default: stdout)')
      .option('--time <iso>', 'attestation time (default: now)')
      .addHelpText('after', '\nExample:\n  binswarm attest /var/cache/binpkgs/app-misc/hello-1.0.gpkg.tar --key builder.key --out hello.att.json')
      .action(async (pkg: string, opts: { key: string; kind: 'build' | 'verify' | 'contribute'; out?: string; time?: string }) => {
        const key = await readPrivateKey(opts.key);
        const info = await inspectPackage(pkg).catch((e) => {
          throw e instanceof BinswarmError ? e.withSubject(pkg) : e;
        });
        const envelope = signAttestation(
          {
            kind: opts.kind,
            buildConfig: info.buildConfig,
            outputDigest: info.outputDigest,
            archive: { sha256: info.archive.sha256, size: info.archive.size, pieceRoot: await pieceRootOfFile(pkg) },
            time: parseTime(opts.time),
          },
          key,
        );
        await writeJsonOut(opts.out, envelope);
      });
  },
};

export default command;
