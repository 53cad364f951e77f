/**
 * Child process for the swarm benchmark: N blob servers (the node's real
 * blob routes) over one store directory, each with its own upload-rate
 * bucket, so each is a separate holder capped at RATE bytes/s. Prints the
 * URLs as one JSON line; exits when stdin closes.
 *   node dist/bench/swarm-holders.js DIR N RATE
 */
import Fastify from 'fastify';
import { registerBlobRoutes } from '../src/node/blob-server.js';
import { BlobStore } from '../src/transfer/blob-store.js';
import { TokenBucket } from '../src/transfer/token-bucket.js';

const [dir, n, rate] = process.argv.slice(2);
const store = await BlobStore.open(dir!);
const urls: string[] = [];
const apps: import('fastify').FastifyInstance[] = [];
for (let i = 0; i < Number(n); i++) {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  // A small burst (256 KiB) so the cap holds from the first second: the bench compares against 8 × RATE.
  registerBlobRoutes(app, store, { bucket: Number(rate) > 0 ? new TokenBucket(Number(rate), 256 * 1024) : undefined });
  urls.push(await app.listen({ host: '127.0.0.1', port: 0 }));
  apps.push(app);
}
process.stdout.write(`${JSON.stringify({ urls })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void Promise.all(apps.map((a) => a.close())).then(() => process.exit(0)));
