/** `binswarm certify` — a root certifies an operator, an operator its builder keys. */
import { Command, Option } from 'commander';
import { BinswarmError } from '../errors.js';
import { writeJsonOut } from '../trust/files.js';
import { readPrivateKey, readPublicKey } from '../trust/keys.js';
import { signCertificate } from '../trust/statements.js';
import { parseTime } from './time.js';
import type { CliCommand } from './common.js';

const command: CliCommand = {
  build() {
    return new Command()
      .description('Certify a key: a trust root certifies an operator; an operator certifies its builder keys.')
      .requiredOption('--key <file>', "the issuer's private key (root or operator)")
      .requiredOption('--subject <pubfile>', 'public key being certified')
      .addOption(new Option('--role <role>', 'what the subject is').choices(['operator', 'builder']).makeOptionMandatory())
      .requiredOption('--name <name>', 'human name of the operator or builder')
      .option('--days <n>', 'validity in days', '365')
      .option('--not-before <iso>', 'start of validity (default: now)')
      .requiredOption('--out <file>', 'write the certificate envelope here')
      .addHelpText('after', '\nExamples:\n  binswarm certify --key root.key --subject alice.key.pub --role operator --name alice --out alice.cert.json\n  binswarm certify --key alice.key --subject b1.key.pub --role builder --name alice-b1 --out b1.cert.json')
      .action(async (opts: { key: string; subject: string; role: 'operator' | 'builder'; name: string; days: string; notBefore?: string; out: string }) => {
        const days = Number(opts.days);
        if (!Number.isFinite(days) || days <= 0 || days > 3650) throw new BinswarmError('BAD_ARGUMENT', `--days must be in 1..3650, got '${opts.days}'`);
        const from = parseTime(opts.notBefore);
        const envelope = signCertificate(
          { role: opts.role, name: opts.name, subject: await readPublicKey(opts.subject), notBefore: from, notAfter: new Date(from.getTime() + days * 86_400_000) },
          await readPrivateKey(opts.key),
        );
        await writeJsonOut(opts.out, envelope);
      });
  },
};

export default command;
