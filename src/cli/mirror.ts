/** `binswarm mirror status` — what a mirror holds against what it is assigned, and what it has served. */
import { Command } from 'commander';
import { BinswarmError } from '../errors.js';
import type { MirrorStatus } from '../node/mirror.js';
import { printJson, type CliCommand } from './common.js';

interface NodeStatus {
  keyId: string;
  roles: string[];
  bytesServed: number;
  uploads: number;
  mirror: MirrorStatus | null;
}

const fmt = (n: number) => (n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${n} B`);

const command: CliCommand = {
  build() {
    const program = new Command().description('Mirror role: see `binswarm node --roles mirror --quota SIZE --domain NAME` to run one.');
    program
      .command('status')
      .description('Show a running mirror\'s assigned, held and missing archives and bytes served (exit 1 while something is missing).')
      .option('--url <url>', 'the mirror node\'s blob server', 'http://127.0.0.1:7700')
      .option('--json', 'print JSON')
      .action(async (o: { url: string; json?: boolean }) => {
        let st: NodeStatus;
        try {
          const res = await fetch(`${o.url.replace(/\/+$/, '')}/status`, { signal: AbortSignal.timeout(10_000) });
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          st = (await res.json()) as NodeStatus;
        } catch (e) {
          throw new BinswarmError('NODE_UNREACHABLE', `cannot read ${o.url}/status: ${(e as Error).message}`);
        }
        if (!st.mirror) throw new BinswarmError('NOT_A_MIRROR', `${o.url} does not run the mirror role`);
        const m = st.mirror;
        if (o.json) printJson({ keyId: st.keyId, bytesServed: st.bytesServed, ...m });
        else {
          process.stdout.write(
            [
              `mirror ${st.keyId.slice(0, 16)}… domain ${m.domain ?? '(none)'}, quota ${fmt(m.quota)}`,
              `assigned ${m.assigned} (${fmt(m.assignedBytes)}), held ${m.held} (${fmt(m.usedBytes)}), missing ${m.missing}${m.fetching ? `, fetching ${m.fetching.slice(0, 16)}…` : ''}`,
              `served ${fmt(st.bytesServed)}; last sync ${m.lastSync ? new Date(m.lastSync).toISOString() : 'never'}${m.lastError ? `; last error: ${m.lastError}` : ''}`,
              '',
            ].join('\n'),
          );
        }
        if (m.missing > 0) process.exitCode = 1;
      });
    return program;
  },
};

export default command;
