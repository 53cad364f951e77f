/** What every CLI command shares: its shape, JSON/human output, and error reporting. */
import type { Command } from 'commander';
import { BinswarmError, isBinswarmError } from '../errors.js';

export interface CliCommand {
  /** A fresh commander Command with options and an async action. */
  build(): Command;
  /** Optional: the exit status after a successful run (e.g. 1 when problems were found). */
  exitCode?(program: Command): number | undefined;
}

/** Exit statuses: 0 ok, 1 the check ran and found problems, 2 bad input/usage, 70 internal error. */
export const EXIT = { ok: 0, problems: 1, badInput: 2, internal: 70 } as const;

/** commander helper for repeatable options (`--cert A --cert B`). */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * One line on stderr naming the subject and the problem — never a stack
 * trace unless BINSWARM_DEBUG is set. With --json the same error also goes
 * to stdout as `{error: {code, message}}` so scripts need not parse stderr.
 */
export function reportError(e: unknown, opts: { json: boolean }): number {
  if (process.env.BINSWARM_DEBUG) console.error(e);
  if (isBinswarmError(e)) {
    const where = e.subject ? `${e.subject}: ` : '';
    // Several independent problems (a config file's bad keys): one line each.
    const problems = (e as { problems?: unknown }).problems;
    const lines = Array.isArray(problems) && problems.length > 0 ? problems.map(String) : [e.message];
    for (const line of lines) process.stderr.write(`binswarm: ${where}${line} [${e.code}]\n`);
    if (opts.json) printJson({ error: { code: e.code, message: e.message, ...(e.subject ? { subject: e.subject } : {}) } });
    return EXIT.badInput;
  }
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`binswarm: internal error: ${message.split('\n')[0]}\n`);
  if (opts.json) printJson({ error: { code: 'INTERNAL', message } });
  return EXIT.internal;
}

/** `20M`, `1.5G`, `4096`, `512k` → bytes (binary units); a clear error otherwise. */
export function parseSize(text: string, what = 'size'): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(?:i?B)?$/.exec(text.trim());
  if (!m) throw new BinswarmError('BAD_ARGUMENT', `${what}: expected a size like 512k, 20M, 1G; got '${text}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}
