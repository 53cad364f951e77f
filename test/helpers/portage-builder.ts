/**
 * The network the real-Portage builder tests start from: a coordinator
 * (verify target 1) and alice's builder on the portage backend
 * (`build_pkgs.py`, one fixed build prefix), as real processes.
 */
import { join } from 'node:path';
import { CoordinatorClient } from '../../src/api/client.js';
import { portageToolsDir } from './env.js';
import { operatorWorld, type OperatorFiles } from './operators.js';
import { portageSource } from './portage.js';
import { startBinswarm } from './procs.js';

export async function portageBuilderNetwork(t: { after: (fn: () => unknown) => void }, dir: string) {
  const w = operatorWorld(dir, ['alice']);
  const coord = await startBinswarm<{ listening: string }>(['coordinator', '--data', join(dir, 'coord'), '--listen', '127.0.0.1:0', '--roots', w.rootPub, '--verify-target', '1', '--heartbeat', '10'], t);
  const C = coord.ready.listening;
  const alice = w.people[0] as OperatorFiles;
  /** Starts (or restarts, with another environment) alice's builder. */
  const startBuilder = (env: Record<string, string> = {}) =>
    startBinswarm<{ listening: string }>(
      ['node', '--roles', 'build', '--coordinator', C, '--data', join(dir, 'node-alice'), '--key', alice.key, ...alice.certs.flatMap((c) => ['--cert', c]), '--listen', '127.0.0.1:0', '--poll', '0.2', '--json',
        '--backend', 'portage', '--portage-command', `python3 ${join(portageToolsDir, 'build_pkgs.py')}`, '--portage-prefix', join(dir, 'prefix', 'p')],
      t,
      60_000,
      { PORTAGE_SRC: portageSource(), ...env },
    );
  return { w, coord, C, client: new CoordinatorClient(C), alice, startBuilder };
}
