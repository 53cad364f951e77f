/** `binswarm setup-portage` — point Portage at a gateway, with Portage's signature check on. */
import { Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installGatewayKey } from '../gateway/portage-key.js';
import { printJson, type CliCommand } from './common.js';

export function binreposEntry(gateway: string, priority = 10, signed = true): string {
  return [
    '# Written by `binswarm setup-portage`. The gateway lists only binaries your',
    '# binswarm policy trusts and verifies every byte before Portage gets it.',
    '[binswarm]',
    `sync-uri = ${gateway.replace(/\/+$/, '')}`,
    `priority = ${priority}`,
    ...(signed
      ? [
          '# The gateway signs what your policy accepted with its local key, which',
          '# setup-portage trusted in /etc/portage/gnupg: Portage checks it too.',
          'verify-signature = true',
        ]
      : ['# The gateway runs with --no-sign: Portage cannot check signatures for this entry.', 'verify-signature = false']),
    '',
  ].join('\n');
}

const command: CliCommand = {
  build() {
    return new Command()
      .description("Point Portage at a gateway: /etc/portage/binrepos.conf/binswarm.conf, and the gateway's signing key trusted in /etc/portage/gnupg.")
      .requiredOption('--gateway <url>', 'gateway URL, e.g. http://127.0.0.1:7680')
      .option('--root <dir>', 'root of the system to configure', '/')
      .option('--priority <n>', 'binrepo priority', '10')
      .option('--gateway-data <dir>', "the gateway's data dir (its key is made in DIR/gnupg)", '/var/lib/binswarm/gateway')
      .option('--gpg-home <dir>', "the gateway's keyring if not DIR/gnupg")
      .option('--gpg-key <id>', 'the signing key in it (default: its only secret key)')
      .option('--portage-gnupg <dir>', "Portage's verification keyring (default ROOT/etc/portage/gnupg)")
      .option('--no-sign', 'the gateway runs with --no-sign: write verify-signature = false, install no key')
      .option('--dry-run', 'print the file instead of writing it')
      .option('--json', 'print what was done as JSON')
      .action(async (o: { gateway: string; root: string; priority: string; gatewayData: string; gpgHome?: string; gpgKey?: string; portageGnupg?: string; sign: boolean; dryRun?: boolean; json?: boolean }) => {
        const text = binreposEntry(o.gateway, Number(o.priority), o.sign);
        if (o.dryRun) return void process.stdout.write(text);
        const key = o.sign
          ? await installGatewayKey({ gatewayData: o.gatewayData, gpgHome: o.gpgHome, gpgKey: o.gpgKey, portageGnupg: o.portageGnupg ?? join(o.root, 'etc/portage/gnupg') })
          : undefined;
        const dir = join(o.root, 'etc/portage/binrepos.conf');
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'binswarm.conf'), text);
        if (o.json) return printJson({ binrepos: join(dir, 'binswarm.conf'), verifySignature: o.sign, key: key ?? null });
        if (key) console.log(`gateway key ${key.fingerprint} (${key.created ? 'made now' : 'existing'}) trusted in ${key.portageGnupg}`);
        console.log(`wrote ${join(dir, 'binswarm.conf')}; now: emerge --getbinpkg …`);
      });
  },
};

export default command;
