/** `binswarm node` — serve your blob store, contribute a PKGDIR, build jobs (role build, node-build.ts), and (role consume) run a gateway. */
import { Command } from 'commander';
import Fastify from 'fastify';
import { CoordinatorClient } from '../api/client.js';
import { BinswarmError } from '../errors.js';
import { BlobStore } from '../transfer/blob-store.js';
import { registerBlobRoutes } from '../node/blob-server.js';
import { Mirror } from '../node/mirror.js';
import { SwarmFetcher } from '../transfer/swarm-fetcher.js';
import { TokenBucket } from '../transfer/token-bucket.js';
import { startPeriodicRoles } from '../node/periodic-roles.js';
import { registerNodeStatus } from '../node/status.js';
import { readEnvelopeFile } from '../trust/files.js';
import { readPrivateKey } from '../trust/keys.js';
import { collect, parseSize, type CliCommand } from './common.js';
import { DEFAULT_CHOST, runGateway } from './gateway.js';
import { addBuildOptions, backendFor, startBuilder, type BuildFlags } from './node-build.js';
import { listenOrClose, parseListen, untilSignal } from './listen.js';
import { parseRoles } from './roles.js';
import type { PortageSigningFlags } from './portage-signing.js';
import { daemonLogger } from './logger.js';
import { runWitness } from './witness.js';


const command: CliCommand = {
  build() {
    const cmd = new Command()
      .description('Run a node: serve the blob store over HTTP, announce what it holds, contribute a watched PKGDIR, build jobs (role build), run a gateway.')
      .requiredOption('--coordinator <url>', 'coordinator URL')
      .requiredOption('--data <dir>', 'node data directory (blobs/sha256/…)')
      .requiredOption('--key <file>', 'node/builder private key')
      .option('--cert <file>', 'certificates to submit (repeatable)', collect, [])
      .option('--listen <host:port>', 'blob server address', '127.0.0.1:7700')
      .option('--public-url <url>', 'how others reach this node (default: http://LISTEN)')
      .option('--roles <list>', 'comma-separated: consume (the default) and, each opt-in, contribute, sign, mirror, build, census, witness (see contrib/binswarm.toml)', 'consume')
      .option('--witness-name <name>', 'role witness: the name your cosignatures carry (default: witness-<key id prefix>)')
      .option('--watch <pkgdir>', 'contribute this PKGDIR now and whenever it changes (role contribute), or only sign the outputs of it the network already has (role sign)')
      .option('--census-root <dir>', 'role census: the system whose ROOT/var/db/pkg is counted', '/')
      .option('--census-interval <hours>', 'role census: how often the census is sent again', '24')
      .option('--watch-interval <seconds>', 'how often to look at the PKGDIR', '60')
      .option('--upload-rate <size>', 'upload limit per second for all uploads together, e.g. 20M (default: none)')
      .option('--max-uploads <n>', 'concurrent uploads; more get 503 + Retry-After', '64')
      .option('--download-rate <size>', 'download limit per second (mirror fetches), e.g. 50M (default: none)')
      .option('--quota <size>', 'disk the mirror offers, e.g. 500G (role mirror)')
      .option('--domain <name>', 'failure domain: site, ISP… (role mirror; replicas avoid sharing one)')
      .option('--sync-interval <seconds>', 'how often a mirror re-reads its assignments (role mirror)', '60')
      .option('--report-interval <seconds>', 're-register with the coordinator this often, with the bytes served so far (its dashboard sums them; keeps this peer listed as healthy; a mirror also re-registers on each sync)', '300')
      .option('--policy <file>', 'policy for the gateway (role consume)')
      .option('--gateway-listen <host:port>', 'gateway address (role consume)', '127.0.0.1:7680')
      .option('--chost <chost>', 'gateway CHOST', DEFAULT_CHOST)
      .option('--no-sign', 'gateway: serve archives unsigned (Portage then needs verify-signature = false)')
      .option('--gpg-home <dir>', 'gateway: keyring that signs for Portage (default DATA/gateway/gnupg)')
      .option('--gpg-key <id>', 'gateway: signing key in that keyring')
      .option('--gpg-passphrase-file <file>', "gateway: the signing key's passphrase");
    return addBuildOptions(cmd)
      .action(async (o: BuildFlags & { coordinator: string; data: string; key: string; cert: string[]; listen: string; publicUrl?: string; roles: string; watch?: string; watchInterval: string; censusRoot: string; censusInterval: string; policy?: string; gatewayListen: string; chost: string; uploadRate?: string; maxUploads: string; downloadRate?: string; quota?: string; domain?: string; syncInterval: string; reportInterval: string; witnessName?: string } & PortageSigningFlags) => {
        const roles: string[] = parseRoles(o.roles);
        const backend = backendFor(o, roles);
        const logger = daemonLogger('node');
        const { host, port } = parseListen(o.listen);
        const key = await readPrivateKey(o.key);
        const store = await BlobStore.open(o.data);
        const isMirror = roles.includes('mirror');
        if (isMirror && !o.quota) throw new BinswarmError('BAD_ARGUMENT', 'role mirror needs --quota SIZE');
        const reportMs = Number(o.reportInterval) * 1000;
        if (!(reportMs > 0)) throw new BinswarmError('BAD_ARGUMENT', `--report-interval wants a positive number of seconds, got '${o.reportInterval}'`);
        // Downloaders keep connections alive; on shutdown they are cut, not waited for.
        const app = Fastify({ logger: false, forceCloseConnections: true });
        const stats = registerBlobRoutes(app, store, { maxConcurrent: Number(o.maxUploads), bucket: o.uploadRate ? new TokenBucket(parseSize(o.uploadRate, '--upload-rate')) : undefined });
        let mirror: Mirror | undefined;
        app.get('/health', async () => ({ ok: true }));
        const status = registerNodeStatus(app, { roles, keyId: key.publicKey.id, gateway: roles.includes('consume') ? `http://${o.gatewayListen}` : null });
        app.get('/status', async () => ({ keyId: key.publicKey.id, roles, bytesServed: stats.bytesServed, uploads: stats.active, requests: stats.requests, mirror: mirror?.status ?? null }));
        const listening = await listenOrClose(app, { host, port });
        const publicUrl = o.publicUrl ?? listening;
        status.setPublicUrl(publicUrl);
        const client = new CoordinatorClient(o.coordinator, key);
        const knownRoles = roles.filter((r) => ['consume', 'contribute', 'mirror', 'build', 'witness'].includes(r));
        if (isMirror) {
          const fetcher = new SwarmFetcher(store, { client, report: true, announceUrl: publicUrl, bucket: o.downloadRate ? new TokenBucket(parseSize(o.downloadRate, '--download-rate')) : undefined });
          mirror = new Mirror({ client, keyId: key.publicKey.id, store, fetcher, publicUrl, roles: knownRoles, quota: parseSize(o.quota!, '--quota'), domain: o.domain ?? null, served: () => stats.bytesServed, log: (l) => process.stderr.write(`mirror: ${l}\n`) });
        }
        // The registration is the heartbeat that keeps this peer listed as healthy, and carries its served-bytes counter.
        const report = () => (mirror ? mirror.register() : client.registerPeer({ roles: knownRoles, url: publicUrl, served: stats.bytesServed }).then(() => undefined));
        await report();
        const reporter = setInterval(() => void report().catch((e) => logger.warn({ err: (e as Error).message }, 'registration failed')), reportMs);
        // Re-announce what we hold (after a restart, or a coordinator that lost state).
        for await (const b of store.list()) if (await client.archive(b.sha256)) await client.announceHolder(b.sha256, publicUrl).catch(() => undefined);
        const certificates = await Promise.all(o.cert.map(readEnvelopeFile));
        const stopRoles = startPeriodicRoles({
          roles, coordinator: o.coordinator, key, certificates, store, publicUrl, logger, watch: o.watch, watchIntervalMs: Number(o.watchInterval) * 1000,
          censusRoot: o.censusRoot, censusIntervalMs: Number(o.censusInterval) * 3_600_000, contributed: (n) => status.contributed(n),
        });
        process.stdout.write(`${JSON.stringify({ listening, publicUrl, keyId: key.publicKey.id, roles, ...(backend ? { backend: backend.name } : {}) })}\n`);
        const stopBuilder = backend ? await startBuilder(backend, o, { client, key, store, publicUrl, certificates, data: o.data }) : undefined;
        const stopMirror = mirror?.run(Number(o.syncInterval) * 1000);
        const stopNode = async () => {
          await stopBuilder?.();
          stopMirror?.();
          stopRoles();
          clearInterval(reporter);
          await app.close();
        };
        if (roles.includes('witness')) {
          // The node key is the witness key: the coordinator checks cosignatures with the key that signs the request.
          await runWitness({ coordinator: o.coordinator, data: `${o.data}/witness`, key: o.key, name: o.witnessName ?? `witness-${key.publicKey.id.slice(0, 16)}`, interval: '60' }, key);
          await stopNode();
          return;
        }
        if (roles.includes('consume')) {
          if (!o.policy) throw new Error('role consume needs --policy');
          await runGateway({ coordinator: o.coordinator, data: `${o.data}/gateway`, policy: o.policy, listen: o.gatewayListen, chost: o.chost, key: o.key, interval: '300', cacheSize: '10G', packageUse: [], sign: o.sign, gpgHome: o.gpgHome, gpgKey: o.gpgKey, gpgPassphraseFile: o.gpgPassphraseFile });
          await stopNode();
          return;
        }
        await untilSignal(stopNode);
      });
  },
};

export default command;
