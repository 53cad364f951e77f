/** `binswarm keygen --out FILE` — a new Ed25519 key pair. */
import { Command } from 'commander';
import { generateKey } from '../trust/keys.js';
import { writeKeyPair } from '../trust/files.js';
import { printJson, type CliCommand } from './common.js';

const command: CliCommand = {
  build() {
    return new Command()
      .description('Make an Ed25519 key pair: FILE (private, mode 0600) and FILE.pub; prints the key id.')
      .requiredOption('--out <file>', 'where to write the private key (never overwritten)')
      .option('--json', 'print JSON')
      .addHelpText('after', '\nThe key id is the hex sha256 of the 32-byte public key.\n\nExample:\n  binswarm keygen --out ~/.config/binswarm/builder.key')
      .action(async (opts: { out: string; json?: boolean }) => {
        const key = generateKey();
        await writeKeyPair(opts.out, key);
        if (opts.json) printJson({ keyId: key.publicKey.id, privateKey: opts.out, publicKey: `${opts.out}.pub` });
        else console.log(key.publicKey.id);
      });
  },
};

export default command;
