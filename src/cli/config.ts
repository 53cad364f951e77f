/**
 * One config file for every command: /etc/binswarm/binswarm.toml (or
 * `--config FILE`, or BINSWARM_CONFIG). Its `[command]` sections hold the
 * command's long flag names as keys (`[gateway] listen = "127.0.0.1:7680"`,
 * `--no-sign` is `sign = false`, a repeatable flag takes an array), so every
 * flag of every command — also ones added later — has a key with no table
 * to keep. A flag given on the command line wins over the file.
 *
 * The schema of a section is made from the command's own options and checked
 * with zod; each problem is one line naming the section and key.
 */
import type { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { BinswarmError } from '../errors.js';

export { configPath, DEFAULT_CONFIG } from './config-path.js';

export type ConfigErrorCode = 'BAD_CONFIG';

/** A config file with problems: one line per problem (the CLI prints each). */
export class ConfigError extends BinswarmError<ConfigErrorCode> {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super('BAD_CONFIG', problems.join('; '), { subject: file });
  }
}

/** The config key of an option: its long name without `--` (and without `no-` for a negating flag). */
export function configKey(o: Option): string | undefined {
  const long = o.long?.replace(/^--/, '');
  if (!long) return undefined;
  return o.negate ? long.replace(/^no-/, '') : long;
}

const isRepeatable = (o: Option) => Array.isArray(o.defaultValue) || o.variadic;
const takesValue = (o: Option) => o.required || o.optional;

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (v instanceof Date) return 'a date';
  return typeof v === 'object' ? 'a table' : `${typeof v} ${JSON.stringify(v)}`;
}

/** The zod schema of one option's value in the file. */
function valueSchema(o: Option): z.ZodType {
  const scalar = z.union([z.string(), z.number().finite()]).transform(String);
  if (!takesValue(o)) return z.boolean();
  // A list of values: the repeated flag; for a comma-separated flag (--roles) the items joined.
  const list = z.array(scalar);
  if (isRepeatable(o)) return z.union([list, scalar.transform((s) => [s])]);
  return z.union([scalar, list.transform((a) => a.join(','))]);
}

function expected(o: Option): string {
  if (!takesValue(o)) return 'true or false';
  if (isRepeatable(o)) return 'a string or an array of strings';
  return 'a string or a number';
}

/** Reads and parses the file; TOML syntax errors are one line too. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, [`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(path, [`not valid TOML: ${(e as Error).message.split('\n')[0]}`]);
  }
}

/**
 * Checks the whole file's shape (sections are known commands) and this
 * command's section against its options; returns the option values to use.
 */
export function sectionValues(file: string, config: Record<string, unknown>, commands: readonly string[], name: string, program: Command): Map<Option, unknown> {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(config)) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Date) problems.push(`${k}: settings go in a [command] section, e.g. [gateway]`);
    else if (!commands.includes(k)) problems.push(`[${k}]: no such command (sections are: ${commands.join(', ')})`);
  }
  const section = (config[name] ?? {}) as Record<string, unknown>;
  const out = new Map<Option, unknown>();
  if (typeof section === 'object' && section !== null && !Array.isArray(section)) {
    const byKey = new Map<string, Option>();
    for (const o of program.options as Option[]) {
      const key = configKey(o);
      if (key && key !== 'help' && key !== 'config') byKey.set(key, o);
    }
    for (const [key, value] of Object.entries(section)) {
      const o = byKey.get(key);
      if (!o) {
        problems.push(`[${name}] ${key}: unknown key (keys are the long flags of \`binswarm ${name} --help\`)`);
        continue;
      }
      const r = valueSchema(o).safeParse(value);
      if (!r.success) problems.push(`[${name}] ${key}: expected ${expected(o)}, got ${describe(value)}`);
      else out.set(o, r.data);
    }
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  return out;
}

/** Whether argv sets this option (so the file's value is not used). */
function givenOnCommandLine(o: Option, argv: string[]): boolean {
  const flags = [o.long, o.short].filter((f): f is string => !!f);
  if (o.negate && o.long) flags.push(o.long.replace(/^--no-/, '--'));
  for (const a of argv) {
    if (a === '--') break;
    if (flags.some((f) => a === f || a.startsWith(`${f}=`))) return true;
  }
  return false;
}

/** Applies the file's section for `name` to `program` (before it parses `argv`). */
export function applyConfig(program: Command, name: string, argv: string[], file: string, config: Record<string, unknown>, commands: readonly string[]): void {
  for (const [o, value] of sectionValues(file, config, commands, name, program)) {
    if (givenOnCommandLine(o, argv)) continue;
    program.setOptionValueWithSource(o.attributeName(), value, 'config');
  }
}
