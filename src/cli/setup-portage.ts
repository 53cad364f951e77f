/** `binswarm setup-portage` — point Portage at a gateway. */
import { Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliCommand } from './common.js';

export function binreposEntry(gateway: string, priority = 10): string {
  return [
    '# Written by `binswarm setup-portage`. The gateway lists only binaries your',
    '# binswarm policy trusts and verifies every byte before Portage gets it.',
    '[binswarm]',
    `sync-uri = ${gateway.replace(/\/+$/, '')}`,
    `priority = ${priority}`,
    '# Portage checks GnuPG signatures inside each gpkg by default. binswarm',
    '# packages carry none yet (trust comes from your policy instead), so the',
    '# check is off for this entry only.',
    'verify-signature = false',
    '',
  ].join('\n');
}

const command: CliCommand = {
  build() {
    return new Command()
      .description('Write /etc/portage/binrepos.conf/binswarm.conf pointing Portage at a gateway.')
      .requiredOption('--gateway <url>', 'gateway URL, e.g. http://127.0.0.1:7680')
      .option('--root <dir>', 'root of the system to configure', '/')
      .option('--priority <n>', 'binrepo priority', '10')
      .option('--dry-run', 'print the file instead of writing it')
      .action(async (o: { gateway: string; root: string; priority: string; dryRun?: boolean }) => {
        const text = binreposEntry(o.gateway, Number(o.priority));
        if (o.dryRun) return void process.stdout.write(text);
        const dir = join(o.root, 'etc/portage/binrepos.conf');
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'binswarm.conf'), text);
        console.log(`wrote ${join(dir, 'binswarm.conf')}; now: emerge --getbinpkg …`);
      });
  },
};

export default command;
