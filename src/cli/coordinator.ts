/** `binswarm coordinator` — registry, tracker and transparency log over HTTP. */
import { Command } from 'commander';
import { buildCoordinatorApp, openCoordinatorState } from '../coordinator/server.js';
import { readPublicKey } from '../trust/keys.js';
import { collect, type CliCommand } from './common.js';
import { parseListen, untilSignal } from './listen.js';


const command: CliCommand = {
  build() {
    return new Command()
      .description('Run the coordinator: peers, certificates, attestations, holders and the transparency log, over HTTP (/v1).')
      .requiredOption('--data <dir>', 'state directory (coordinator.key, coordinator.db)')
      .option('--listen <host:port>', 'address to listen on', '127.0.0.1:7600')
      .option('--db <url>', 'postgres://… for PostgreSQL (default: SQLite at DIR/coordinator.db)')
      .option('--roots <pubfile>', 'trust root public key whose operator certificates are accepted (repeatable)', collect, [])
      .option('--origin <name>', 'log origin / checkpoint key name', 'binswarm.local/log')
      .option('--rate-limit <n>', 'requests per minute per key', '6000')
      .option('--ban-after <n>', 'distinct reporters after which a holder is no longer handed out', '2')
      .option('--probe-interval <seconds>', 'health-probe peers that gave a URL this often (0: off)', '30')
      .option('--mirror-ttl <seconds>', 'a mirror that has not re-registered for this long has left', '600')
      .option('--witnesses <n>', 'cosignatures a checkpoint needs before /log/checkpoint publishes it', '0')
      .option('--log-level <level>', 'request log level (fatal, error, warn, info)', 'warn')
      .addHelpText('after', '\nAPI description: GET /v1/openapi.json\n\nExample:\n  binswarm coordinator --data /var/lib/binswarm/coordinator --roots root.pub --listen 0.0.0.0:7600')
      .action(async (o: { data: string; listen: string; db?: string; roots: string[]; origin: string; rateLimit: string; logLevel: string; banAfter: string; probeInterval: string; mirrorTtl: string; witnesses: string }) => {
        const { host, port } = parseListen(o.listen);
        const roots = await Promise.all(o.roots.map(readPublicKey));
        const { store, key, keyCreated } = await openCoordinatorState(o.data, o.db);
        const { app } = await buildCoordinatorApp({ store, key, roots, origin: o.origin, ratePerMinute: Number(o.rateLimit), logLevel: o.logLevel,
          tracker: { banAfterReports: Number(o.banAfter), mirrorTtlMs: Number(o.mirrorTtl) * 1000 }, probeIntervalMs: Number(o.probeInterval) * 1000 || undefined, witnesses: Number(o.witnesses) });
        const url = await app.listen({ host, port });
        process.stderr.write(`binswarm coordinator on ${url} (${store.kind}); log ${o.origin}, key ${key.publicKey.id}${keyCreated ? ' (new)' : ''}; ${roots.length} root(s)\n`);
        // The line tests and scripts wait for:
        process.stdout.write(`${JSON.stringify({ listening: url, logKey: key.publicKey.raw.toString('base64'), origin: o.origin })}\n`);
        await untilSignal(async () => {
          await app.close();
          await store.close();
        });
      });
  },
};

export default command;
