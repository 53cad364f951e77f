/**
 * Where the config file is. Apart from config.ts so that a command run
 * without a config file never loads zod and the TOML parser (about 40 ms of
 * CPU at every start: `binswarm inspect` of a small package took 0.16 s of
 * CPU, most of it startup).
 */
import { existsSync } from 'node:fs';

export const DEFAULT_CONFIG = '/etc/binswarm/binswarm.toml';

/** Takes `--config FILE` / `--config=FILE` out of argv; the path is the flag, else BINSWARM_CONFIG, else the default if it exists. */
export function configPath(argv: string[], env: NodeJS.ProcessEnv = process.env): { path: string | undefined; explicit: boolean; rest: string[] } {
  const rest: string[] = [];
  let path: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--config') path = argv[++i] ?? '';
    else if (a.startsWith('--config=')) path = a.slice('--config='.length);
    else rest.push(a);
  }
  if (path !== undefined) return { path, explicit: true, rest };
  if (env.BINSWARM_CONFIG) return { path: env.BINSWARM_CONFIG, explicit: true, rest };
  return { path: existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined, explicit: false, rest };
}
