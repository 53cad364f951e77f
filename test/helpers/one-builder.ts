/** An in-process coordinator (SQLite in DIR) and one certified builder of operator alice: the smallest network a test can attest into. */
import { join } from 'node:path';
import { buildCoordinatorApp } from '../../src/coordinator/server.js';
import { openStore } from '../../src/coordinator/store/sql-store.js';
import { generateKey } from '../../src/trust/keys.js';
import { DAY, World } from './trust-world.js';

export async function coordinatorWithBuilder(t: { after: (fn: () => unknown) => void }, dir: string) {
  const w = new World();
  const valid = { from: new Date(Date.now() - DAY), to: new Date(Date.now() + 365 * DAY) };
  const builder = w.builder(w.operator('alice', { ...valid, builders: 0 }), valid);
  const store = await openStore(join(dir, 'coord.db'));
  const { app } = await buildCoordinatorApp({ store, key: generateKey(), roots: [w.root.publicKey] });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  return { w, builder, store, url };
}
