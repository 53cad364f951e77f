/** `binswarm coordinator` — registry, tracker and transparency log over HTTP. */
import { Command } from 'commander';
import { buildCoordinatorApp, openCoordinatorState } from '../coordinator/server.js';
import { readPublicKey } from '../trust/keys.js';
import { BinswarmError } from '../errors.js';
import { DEFAULT_DECAY } from '../coordinator/scheduler.js';
import { collect, type CliCommand } from './common.js';

function positive(v: string, name: string, integer = false): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0 || (integer && !Number.isInteger(x))) throw new BinswarmError('BAD_USAGE', `${name} must be a positive ${integer ? 'integer' : 'number'}, not '${v}'`);
  return x;
}
import { listenOrClose, parseListen, untilSignal } from './listen.js';
import { daemonLogger } from './logger.js';


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
      .option('--verify-target <n>', 'distinct operators that must agree before verify jobs stop (the highest threshold any policy in use asks for)', '3')
      .option('--heartbeat <seconds>', 'builders heartbeat this often; a lease not renewed within 3x expires', '30')
      .option('--demand-half-life <days>', 'demand halves after this many days without a new census or request', '14')
      .option('--sample-interval <seconds>', "dashboard charts: sample queue, peers, bytes served and trust levels this often (0: off)", '15')
      .option('--samples-kept <n>', 'dashboard charts: samples kept (the window is interval × n)', '960')
      .addHelpText('after', '\nAPI description: GET /v1/openapi.json\nDashboard: GET / (the same numbers as JSON: GET /v1/dashboard)\n\nExample:\n  binswarm coordinator --data /var/lib/binswarm/coordinator --roots root.pub --listen 0.0.0.0:7600')
      .action(async (o: { data: string; listen: string; db?: string; roots: string[]; origin: string; rateLimit: string; logLevel: string; banAfter: string; probeInterval: string; mirrorTtl: string; witnesses: string; verifyTarget: string; heartbeat: string; demandHalfLife: string; sampleInterval: string; samplesKept: string }) => {
        const { host, port } = parseListen(o.listen);
        const verifyTarget = positive(o.verifyTarget, '--verify-target', true);
        const heartbeatMs = positive(o.heartbeat, '--heartbeat') * 1000;
        const halfLifeMs = positive(o.demandHalfLife, '--demand-half-life') * 86_400_000;
        const sampleIntervalMs = o.sampleInterval === '0' ? 0 : positive(o.sampleInterval, '--sample-interval') * 1000;
        const samplesKept = positive(o.samplesKept, '--samples-kept', true);
        const roots = await Promise.all(o.roots.map(readPublicKey));
        const { store, key, keyCreated } = await openCoordinatorState(o.data, o.db);
        const { app } = await buildCoordinatorApp({ store, key, roots, origin: o.origin, ratePerMinute: Number(o.rateLimit), logLevel: o.logLevel,
          tracker: { banAfterReports: Number(o.banAfter), mirrorTtlMs: Number(o.mirrorTtl) * 1000 }, probeIntervalMs: Number(o.probeInterval) * 1000 || undefined,
          witnesses: Number(o.witnesses), sampleIntervalMs, samplesKept,
          scheduler: { verifyTarget, heartbeatMs, decay: { ...DEFAULT_DECAY, halfLifeMs } } });
        const url = await listenOrClose(app, { host, port }, () => store.close());
        daemonLogger('coordinator').info({ url, dashboard: `${url}/`, store: store.kind, origin: o.origin, logKey: key.publicKey.id, keyCreated, roots: roots.length }, `coordinator on ${url}`);
        // The line tests and scripts wait for:
        process.stdout.write(`${JSON.stringify({ listening: url, dashboard: `${url}/`, logKey: key.publicKey.raw.toString('base64'), origin: o.origin })}\n`);
        await untilSignal(async () => {
          await app.close();
          await store.close();
        });
      });
  },
};

export default command;
