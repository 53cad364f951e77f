/** An in-process network for gateway tests: a coordinator, two operators' contributor nodes, the multi-instance fixture published by both. */
import { join } from 'node:path';
import Fastify from 'fastify';
import { buildCoordinatorApp } from '../../src/coordinator/server.js';
import { openStore } from '../../src/coordinator/store/sql-store.js';
import { Gateway, type GatewayOptions } from '../../src/gateway/gateway.js';
import { BlobStore } from '../../src/transfer/blob-store.js';
import { registerBlobRoutes } from '../../src/node/blob-server.js';
import { publishPkgdir } from '../../src/node/contribute.js';
import { generateKey } from '../../src/trust/keys.js';
import { parsePolicy } from '../../src/trust/policy.js';
import { publicKeyToPem } from '../../src/trust/keys.js';
import { fixturesDir, tempDir } from '../helpers/env.js';
import { DAY, World } from '../helpers/trust-world.js';

export const MULTI = () => join(fixturesDir, 'multi');

export async function network(t: { after: (fn: () => unknown) => void }) {
  const dir = await tempDir(t);
  const store = await openStore(join(dir, 'c.db'));
  const key = generateKey();
  const w = new World();
  const { app } = await buildCoordinatorApp({ store, key, roots: [w.root.publicKey] });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  let up = true;
  const stopCoordinator = async () => {
    if (!up) return;
    up = false;
    await app.close();
    await store.close();
  };
  t.after(stopCoordinator);
  const span = { from: new Date(Date.now() - DAY), to: new Date(Date.now() + 365 * DAY) };
  const ops = ['alice', 'bob'].map((name) => {
    // The builder's certificate must start inside its operator's.
    const op = w.operator(name, { ...span, builders: 0 });
    w.builder(op, span);
    return op;
  });
  const nodes = [];
  for (const [i, op] of ops.entries()) {
    const blobs = await BlobStore.open(join(dir, `node-${op.name}`));
    const nodeApp = Fastify();
    registerBlobRoutes(nodeApp, blobs);
    const nodeUrl = await nodeApp.listen({ host: '127.0.0.1', port: 0 });
    t.after(() => nodeApp.close());
    nodes.push({ blobs, url: nodeUrl });
    const r = await publishPkgdir(MULTI(), { coordinator: url, key: op.builders[0]!.key, certificates: [op.cert, op.builders[0]!.cert], store: blobs, publicUrl: nodeUrl, serve: i === 0 });
    if (r.problems.length) throw new Error(JSON.stringify(r.problems));
  }
  const policyText = (extra = '') => `roots = ["root.pub"]\nthreshold = 2\n${extra}`;
  const policy = (extra = '') => parsePolicy(policyText(extra), dir);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'root.pub'), publicKeyToPem(w.root.publicKey));
  const gateways: Gateway[] = [];
  t.after(async () => {
    for (const g of gateways) await g.close().catch(() => undefined);
  });
  const gateway = async (name: string, o: Partial<GatewayOptions> = {}) => {
    const g = await Gateway.open({ coordinator: url, dataDir: join(dir, name), policy: policy(), chost: 'x86_64-pc-linux-gnu', key: generateKey(), ...o });
    gateways.push(g);
    return g;
  };
  return { dir, url, store, key, w, ops, nodes, policy, gateway, stopCoordinator };
}
