/** `binswarm publish PKGDIR` — contribute what you built. */
import { Command } from 'commander';
import { BlobStore } from '../transfer/blob-store.js';
import { publishPkgdir } from '../node/contribute.js';
import { readEnvelopeFile } from '../trust/files.js';
import { readPrivateKey } from '../trust/keys.js';
import { collect, EXIT, printJson, type CliCommand } from './common.js';

let problems = false;

const command: CliCommand = {
  build() {
    return new Command()
      .description('Contribute a PKGDIR: attest every package and submit it; offer the archive only when the network lacks that output.')
      .argument('<pkgdir>', 'a Portage PKGDIR (with its Packages index)')
      .requiredOption('--coordinator <url>', 'coordinator URL')
      .requiredOption('--key <file>', 'your builder private key')
      .option('--cert <file>', 'certificate to submit first (your operator and builder certificates; repeatable)', collect, [])
      .requiredOption('--data <dir>', "the node's data directory (archives are stored here and served by `binswarm node`)")
      .option('--public-url <url>', 'URL of your running node, for archives the network does not have yet')
      .option('--serve', 'also keep and announce archives the network already has (become one more holder)')
      .option('--sign-only', 'only sign outputs the network already has (your build agrees with theirs); offer nothing, skip the rest')
      .option('--json', 'print JSON')
      .action(async (pkgdir: string, o: { coordinator: string; key: string; cert: string[]; data: string; publicUrl?: string; serve?: boolean; signOnly?: boolean; json?: boolean }) => {
        const tty = process.stderr.isTTY && !o.json;
        const result = await publishPkgdir(pkgdir, {
          coordinator: o.coordinator,
          key: await readPrivateKey(o.key),
          certificates: await Promise.all(o.cert.map(readEnvelopeFile)),
          store: await BlobStore.open(o.data),
          publicUrl: o.publicUrl,
          serve: o.serve,
          signOnly: o.signOnly,
          onProgress: tty ? (d, t, cpv) => process.stderr.write(`\r\x1b[K[${d + 1}/${t}] ${cpv}`) : undefined,
        });
        if (tty) process.stderr.write('\r\x1b[K');
        problems = result.problems.length > 0;
        if (o.json) printJson(result);
        else {
          for (const p of result.packages) console.log(`${p.cpv.padEnd(36)} ${p.action.padEnd(15)} log #${p.logIndex}  binrev ${p.binrev}${p.dispute ? `  DISPUTED (${p.dispute.length} outputs)` : ''}`);
          for (const p of result.skipped) console.log(`${p.cpv.padEnd(36)} skipped         (--sign-only: the network has no such output yet)`);
          for (const p of result.problems) console.log(`problem: ${p.path ?? ''}: ${p.message} [${p.code}]`);
        }
      });
  },
  exitCode: () => (problems ? EXIT.problems : EXIT.ok),
};

export default command;
