/** `binswarm verify-attestation FILE` — signature and schema of one attestation. */
import { Command } from 'commander';
import { BinswarmError } from '../errors.js';
import { readJsonFile } from '../trust/files.js';
import { readPublicKey } from '../trust/keys.js';
import { openAttestation } from '../trust/statements.js';
import { printJson, type CliCommand } from './common.js';

const command: CliCommand = {
  build() {
    return new Command()
      .description('Check an attestation: DSSE signature by the builder key it names, strict schema, buildKey recomputed.')
      .argument('<file>', 'attestation envelope (JSON)')
      .option('--key <pubfile>', 'also require the signer to be this public key')
      .option('--json', 'print JSON')
      .addHelpText('after', '\nThis checks the statement alone; whether it counts toward trust depends on\ncertificates and your policy: see `binswarm trust explain`.\n\nExit status: 0 valid, 2 invalid.')
      .action(async (file: string, opts: { key?: string; json?: boolean }) => {
        const { statement, signer } = openAttestation(await readJsonFile(file), file);
        if (opts.key) {
          const want = await readPublicKey(opts.key);
          if (want.id !== signer) throw new BinswarmError('KEY_MISMATCH', `signed by ${signer}, not by ${want.id}`, { subject: file });
        }
        if (opts.json) printJson({ valid: true, signer, statement });
        else {
          console.log(`valid ${statement.kind} attestation by ${signer}`);
          console.log(`  ${statement.cpv}  buildKey ${statement.buildKey}`);
          console.log(`  output ${statement.outputDigest}`);
          console.log(`  archive ${statement.archive.sha256} (${statement.archive.size} bytes)  at ${statement.time}`);
        }
      });
  },
};

export default command;
