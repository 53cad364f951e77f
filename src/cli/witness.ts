/** `binswarm witness` — follow a coordinator's log, cosign checkpoints that extend the last one, refuse and keep evidence of a fork. */
import { Command } from 'commander';
import { BinswarmError } from '../errors.js';
import { LogForkError } from '../log/verifier.js';
import { readPrivateKey, readPublicKey, type PrivateKey } from '../trust/keys.js';
import { witnessOnce, type WitnessOptions } from '../witness/witness.js';
import { type CliCommand } from './common.js';
import { untilSignal } from './listen.js';

export interface WitnessCliOptions {
  coordinator: string;
  log?: string;
  data: string;
  key: string;
  name: string;
  logKey?: string;
  logName?: string;
  interval: string;
  once?: boolean;
}

export async function witnessOptions(o: WitnessCliOptions, key?: PrivateKey): Promise<WitnessOptions> {
  if ((o.logKey === undefined) !== (o.logName === undefined)) throw new BinswarmError('BAD_ARGUMENT', '--log-key and --log-name go together');
  return {
    coordinator: o.coordinator, logUrl: o.log, dataDir: o.data, name: o.name, key: key ?? (await readPrivateKey(o.key)),
    log: o.logKey ? { name: o.logName!, key: await readPublicKey(o.logKey) } : undefined,
  };
}

/** Runs rounds every `interval` seconds until a signal; a fork stops cosigning for good (exit 1). */
export async function runWitness(o: WitnessCliOptions, key?: PrivateKey): Promise<number> {
  const opts = await witnessOptions(o, key);
  const round = async (): Promise<'fork' | 'ok' | 'failed'> => {
    try {
      const r = await witnessOnce(opts);
      process.stdout.write(`${JSON.stringify({ cosigned: r.size, witnesses: r.witnesses })}\n`);
      return 'ok';
    } catch (e) {
      process.stderr.write(`witness: ${(e as Error).message}${(e as BinswarmError).code ? ` [${(e as BinswarmError).code}]` : ''}\n`);
      if (e instanceof LogForkError) return 'fork';
      return 'failed';
    }
  };
  const first = await round();
  if (o.once || first === 'fork') return first === 'ok' ? 0 : 1;
  let stopped = false;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      void round().then((r) => {
        if (r === 'fork' && !stopped) {
          stopped = true;
          clearInterval(timer);
          resolve();
        }
      });
    }, Number(o.interval) * 1000);
    void untilSignal(async () => {
      clearInterval(timer);
      resolve();
    });
  });
  return stopped ? 1 : 0;
}

let code = 0;

const command: CliCommand = {
  build() {
    return new Command()
      .description("Witness a coordinator's log: check each new checkpoint extends the last one you cosigned (recomputing the tree from its entry bundles), cosign it (C2SP tlog-cosignature) and submit the cosignature. A fork (two roots for one size, or entries that do not lead to the signed root) is refused and its evidence kept in DIR/evidence/.")
      .requiredOption('--coordinator <url>', 'coordinator URL')
      .option('--log <url>', "the tiled log's URL (default: <coordinator>/log)")
      .requiredOption('--data <dir>', 'witness state (witness.json: last cosigned checkpoint and tree edge) and evidence/')
      .requiredOption('--key <file>', 'your witness private key (the coordinator checks the cosignature with the key that signs the request)')
      .requiredOption('--name <name>', 'your witness name, as gateways list it in their policy')
      .option('--log-key <pubfile>', "the log's public key (default: trust on first use)")
      .option('--log-name <name>', "the log's key name")
      .option('--interval <seconds>', 'how often to look for a new checkpoint', '60')
      .option('--once', 'one round, then exit (0 cosigned, 1 refused)')
      .addHelpText('after', '\nGateways then require you in their policy:\n  [witnesses]\n  required = 1\n  keys = [{ name = "w1", key = "w1.pub" }]')
      .action(async (o: WitnessCliOptions) => {
        code = await runWitness(o);
      });
  },
  exitCode() {
    return code;
  },
};

export default command;
