/** `binswarm submit FILE…` — send prepared certificates, revocations and attestations to a coordinator. */
import { Command } from 'commander';
import { CoordinatorClient } from '../api/client.js';
import { submitAll, type SubmitItem, type SubmitResult } from '../api/submit.js';
import { BinswarmError } from '../errors.js';
import { parseEnvelope } from '../trust/dsse.js';
import { expandJsonFiles, readJsonFile } from '../trust/files.js';
import { readPrivateKey } from '../trust/keys.js';
import { asLoggedStatement } from '../trust/log-time.js';
import { statementKind } from '../trust/statements.js';
import { EXIT, printJson, type CliCommand } from './common.js';

let refused = false;

function line(r: SubmitResult): string {
  const head = `${r.name}  ${r.kind}`;
  if ('error' in r) return `${head}  REFUSED: ${r.error.message} [${r.error.code}]`;
  return `${head}  logged at index ${r.ok.logIndex}, log time ${new Date(r.ok.logTime).toISOString()}${r.ok.duplicate ? ' (already logged)' : ''}`;
}

const command: CliCommand = {
  build() {
    return new Command()
      .description('Send prepared envelopes (certificates, revocations, attestations; the kind is read from each payload) to a coordinator, in the order given, and print what became of each: its log index, or the typed error it was refused with. Exit 1 if any was refused.')
      .argument('<files...>', 'envelope files (or log entries {envelope, …}), or directories of *.json')
      .requiredOption('--coordinator <url>', 'coordinator URL')
      .requiredOption('--key <file>', 'private key that signs the requests (any key; each statement carries its own signature)')
      .option('--json', 'print JSON')
      .action(async (files: string[], o: { coordinator: string; key: string; json?: boolean }) => {
        // Every file is read and checked before anything is sent: bad input changes nothing.
        const items: SubmitItem[] = [];
        for (const file of await expandJsonFiles(files)) {
          const s = asLoggedStatement(await readJsonFile(file));
          const kind = s && statementKind(s.envelope);
          if (!kind) throw new BinswarmError('NOT_A_STATEMENT', 'not a binswarm certificate, revocation or attestation envelope', { subject: file });
          items.push({ name: file, kind, envelope: parseEnvelope(s.envelope, file) });
        }
        const client = new CoordinatorClient(o.coordinator, await readPrivateKey(o.key));
        const results = await submitAll(client, items, o.json ? undefined : (r) => console.log(line(r)));
        refused = results.some((r) => 'error' in r);
        if (o.json) printJson({ results });
      });
  },
  exitCode: () => (refused ? EXIT.problems : undefined),
};

export default command;
