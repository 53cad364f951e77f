/** `binswarm gateway` — a local Portage binhost of what your policy trusts, verified locally. */
import { Command } from 'commander';
import { Gateway } from '../gateway/gateway.js';
import { localUseOf, readPortageConfig } from '../gateway/local-config.js';
import { buildGatewayApp } from '../gateway/server.js';
import { openPortageSigning, type PortageSigningFlags } from './portage-signing.js';
import { readPrivateKey } from '../trust/keys.js';
import { loadPolicy } from '../trust/policy.js';
import { collect, parseSize, type CliCommand } from './common.js';
import { listenOrClose, parseListen, untilSignal } from './listen.js';
import { daemonLogger } from './logger.js';

export const DEFAULT_CHOST = 'x86_64-pc-linux-gnu';

interface Opts {
  coordinator: string;
  log?: string;
  data: string;
  policy: string;
  listen: string;
  chost: string;
  key?: string;
  interval: string;
  cacheSize: string;
  use?: string;
  packageUse: string[];
  portageConfig?: string;
}

export async function runGateway(o: Opts & PortageSigningFlags): Promise<void> {
  const { host, port } = parseListen(o.listen);
  const logger = daemonLogger('gateway');
  const signing = await openPortageSigning(o.data, o);
  const localUse = o.portageConfig ? readPortageConfig(o.portageConfig) : o.use !== undefined || o.packageUse.length > 0 ? localUseOf(o.use, o.packageUse) : undefined;
  const gw = await Gateway.open({
    coordinator: o.coordinator, logUrl: o.log, dataDir: o.data, policy: loadPolicy(o.policy), chost: o.chost, localUse, cacheBytes: parseSize(o.cacheSize, '--cache-size'),
    key: o.key ? await readPrivateKey(o.key) : undefined,
    signForPortage: signing,
    log: (line) => logger.info(line),
  });
  // One refresh at a time; a failed one keeps serving the last verified view.
  let running: Promise<unknown> | undefined;
  const refresh = () => (running ??= gw.refresh().finally(() => (running = undefined)));
  await refresh().catch((e) => logger.warn({ err: (e as Error).message }, 'first refresh failed'));
  const app = buildGatewayApp(gw, { refresh });
  const url = await listenOrClose(app, { host, port }, async () => {
    await gw.close();
    await signing?.close();
  });
  const timer = setInterval(() => void refresh().catch((e) => logger.warn({ err: (e as Error).message }, 'refresh failed')), Number(o.interval) * 1000);
  process.stdout.write(`${JSON.stringify({ listening: url, served: gw.current()?.packages.size ?? 0, checkpointSize: gw.current()?.checkpointSize ?? null, notServing: gw.unservable() ?? null })}\n`);
  await untilSignal(async () => {
    clearInterval(timer);
    await app.close();
    await running?.catch(() => undefined);
    await gw.close();
    await signing?.close();
  });
}

const command: CliCommand = {
  build() {
    return new Command()
      .description('Serve a Portage binhost (Packages + CAT/PN/PF-BUILD_ID.gpkg.tar) listing only what your policy trusts and your system can use; archives are fetched and verified when Portage asks.')
      .requiredOption('--coordinator <url>', 'coordinator URL')
      .option('--log <url>', "the tiled log's URL, e.g. a mirror (default: <coordinator>/log)")
      .requiredOption('--data <dir>', 'gateway state (gateway.db) and verified archive cache')
      .requiredOption('--policy <file>', 'your trust policy (TOML)')
      .option('--listen <host:port>', 'where Portage connects', '127.0.0.1:7680')
      .option('--chost <chost>', 'your CHOST', DEFAULT_CHOST)
      .option('--portage-config <dir>', 'read USE from DIR/make.conf and DIR/package.use (e.g. /etc/portage): list only builds whose USE matches')
      .option('--use <flags>', "your global USE (as in make.conf), e.g. 'nls -debug'")
      .option('--package-use <line>', "a package.use line, e.g. 'app-misc/hello debug' (repeatable)", collect, [])
      .option('--cache-size <size>', 'cap of the verified archive cache (LRU)', '10G')
      .option('--key <file>', 'a key to sign reports of bad holders')
      .option('--interval <seconds>', 'refresh period', '300')
      .option('--no-sign', 'serve archives unsigned (Portage then needs verify-signature = false)')
      .option('--gpg-home <dir>', 'OpenPGP keyring that signs for Portage (default DATA/gnupg, made if missing)')
      .option('--gpg-key <id>', 'signing key in that keyring (default: its only secret key)')
      .option('--gpg-passphrase-file <file>', "the signing key's passphrase (e.g. getuto's /etc/portage/gnupg/pass)")
      .addHelpText('after', '\nThen: binswarm setup-portage --gateway http://127.0.0.1:7680\nStatus, view age and reasons: curl http://127.0.0.1:7680/-/status')
      .action(runGateway);
  },
};

export default command;
