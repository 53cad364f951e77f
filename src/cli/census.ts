/** `binswarm census` — count what is installed here as demand for builds. */
import { Command } from 'commander';
import { BinswarmError } from '../errors.js';
import { censusPayload, submitCensus, takeCensus } from '../node/census.js';
import { readPrivateKey } from '../trust/keys.js';
import { EXIT, printJson, type CliCommand } from './common.js';

let problems = false;

const command: CliCommand = {
  build() {
    return new Command()
      .description('Read the installed-package database (ROOT/var/db/pkg) and derive each package\'s build config and configKey; with --coordinator, submit them (signed) as demand.')
      .option('--root <dir>', 'system root whose var/db/pkg is read', '/')
      .option('--vdb <dir>', 'read this package database directory instead of ROOT/var/db/pkg')
      .option('--dry-run', 'print what would be sent and send nothing (the default without --coordinator)')
      .option('--coordinator <url>', 'coordinator URL to submit the census to')
      .option('--key <file>', 'your private key (signs the submission; one key counts once per configuration)')
      .option('--json', 'print JSON: {configs: [...]} exactly as sent, plus the reply')
      .addHelpText(
        'after',
        '\nWhat is sent: for each installed package, its build config only — cpv, repository, ebuild sha256, eclasses, EAPI, CHOST, arch, enabled USE flags of IUSE, CFLAGS/CXXFLAGS/LDFLAGS, output-affecting FEATURES, INSTALL_MASK and the ABI of its := dependencies. Nothing else leaves the machine: no file lists, no hostnames, no other settings. Run with --dry-run (or without --coordinator) to see it.\n\nExample:\n  binswarm census --dry-run\n  binswarm census --coordinator https://coordinator.example --key builder.key',
      )
      .action(async (o: { root: string; vdb?: string; dryRun?: boolean; coordinator?: string; key?: string; json?: boolean }) => {
        if (o.coordinator && !o.key && !o.dryRun) throw new BinswarmError('BAD_USAGE', '--coordinator needs --key (the submission is signed)');
        const census = await takeCensus(o.root, { vdb: o.vdb });
        problems = census.problems.length > 0;
        const send = o.coordinator !== undefined && !o.dryRun;
        const reply = send ? await submitCensus(census, o.coordinator!, await readPrivateKey(o.key!)) : undefined;
        if (o.json) {
          printJson({ ...censusPayload(census), ...(reply ? { submitted: reply } : { submitted: null }), problems: census.problems });
          return;
        }
        for (const c of census.configs) {
          const cfg = c.config;
          console.log(`${c.cpv.padEnd(36)} ${c.configKey.slice(0, 16)}  ${cfg.chost}  USE="${cfg.use.join(' ')}"  CFLAGS="${cfg.cflags}"${cfg.depAbi.length ? `  := ${cfg.depAbi.join(' ')}` : ''}`);
        }
        for (const p of census.problems) console.log(`problem: ${p.dir}: ${p.message} [${p.code}]`);
        console.log(send ? `sent ${reply!.accepted} configuration(s) to ${o.coordinator}; ${reply!.jobsCreated} new build job(s)` : `${census.configs.length} configuration(s); nothing sent (dry run${o.coordinator ? '' : '; add --coordinator URL --key K to submit'})`);
      });
  },
  exitCode: () => (problems ? EXIT.problems : EXIT.ok),
};

export default command;
