/** `binswarm revoke` — revoke a key you certified (or any key, as a root). */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { writeJsonOut } from '../trust/files.js';
import { readPrivateKey, readPublicKey } from '../trust/keys.js';
import { signRevocation } from '../trust/statements.js';
import { parseTime } from './time.js';
import type { CliCommand } from './common.js';
import { BinswarmError } from '../errors.js';

const command: CliCommand = {
  build() {
    return new Command()
      .description('Revoke a key (send the file with `binswarm submit`). Once logged, nothing the key signs counts; what was logged before counts unless signed or first logged at or after --at.')
      .requiredOption('--key <file>', "the issuer's private key")
      .requiredOption('--subject <pubfile|keyid>', 'the revoked public key file, or its key id')
      .option('--at <iso>', 'revocation time (default: now); use the time of a compromise', undefined)
      .option('--reason <text>', 'why (shown to users)')
      .requiredOption('--out <file>', 'write the revocation envelope here')
      .action(async (opts: { key: string; subject: string; at?: string; reason?: string; out: string }) => {
        let subject: string;
        if (/^[0-9a-f]{64}$/.test(opts.subject) && !existsSync(opts.subject)) subject = opts.subject;
        else if (existsSync(opts.subject)) subject = (await readPublicKey(opts.subject)).id;
        else throw new BinswarmError('NOT_FOUND', 'neither a key file nor a 64-hex key id', { subject: opts.subject });
        await writeJsonOut(opts.out, signRevocation({ subject, time: parseTime(opts.at), reason: opts.reason }, await readPrivateKey(opts.key)));
      });
  },
};

export default command;
