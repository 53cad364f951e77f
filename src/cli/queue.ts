/** `binswarm queue` — the coordinator's build queue. */
import { Command } from 'commander';
import { CoordinatorClient } from '../api/client.js';
import type { JobKind, JobState } from '../api/v1.js';
import { printJson, type CliCommand } from './common.js';

const command: CliCommand = {
  build() {
    return new Command()
      .description('List the build queue: each job\'s kind, configuration, state, lease holder, priority and why it is where it is.')
      .requiredOption('--coordinator <url>', 'coordinator URL')
      .option('--state <state>', 'only jobs in this state (queued, leased, done, failed, refused)')
      .option('--kind <kind>', 'only jobs of this kind (build, verify, abi-rebuild)')
      .option('--cpv <cpv>', 'only jobs for this package version')
      .option('--json', 'print JSON')
      .action(async (o: { coordinator: string; state?: JobState; kind?: JobKind; cpv?: string; json?: boolean }) => {
        const jobs = await new CoordinatorClient(o.coordinator).queue({ state: o.state, kind: o.kind, cpv: o.cpv });
        if (o.json) {
          printJson({ jobs });
          return;
        }
        for (const j of jobs) {
          console.log(`#${j.id.padEnd(6)} ${j.kind.padEnd(7)} ${j.state.padEnd(8)} ${j.cpv.padEnd(32)} USE="${j.spec.use.join(' ')}" ${j.spec.chost}  prio ${j.priority.toPrecision(3)}${j.holder ? `  holder ${j.holder.slice(0, 12)}` : ''}`);
          console.log(`        ${j.why}`);
        }
        if (jobs.length === 0) console.log('the queue is empty');
      });
  },
};

export default command;
