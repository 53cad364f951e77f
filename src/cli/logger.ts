/**
 * Daemon logs through pino (what fastify logs with): JSON lines when stderr
 * is not a terminal (journald, OpenRC's log file, a log shipper), short
 * human lines on a terminal. Logs go to stderr: stdout carries each
 * daemon's one JSON "ready" line that scripts and tests read.
 * BINSWARM_LOG_FORMAT=json|human and BINSWARM_LOG_LEVEL override.
 */
import { pino, type Logger } from 'pino';

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const BASE_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'component', 'msg']);

/** One pino JSON record → `12:00:01 gateway warn refresh failed: … key=value`. */
export function humanLine(record: string): string {
  const r = JSON.parse(record) as Record<string, unknown>;
  const time = new Date(Number(r.time)).toISOString().slice(11, 19);
  const extra = Object.entries(r)
    .filter(([k]) => !BASE_KEYS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${time} ${r.component ?? 'binswarm'} ${LEVELS[Number(r.level)] ?? r.level} ${r.msg ?? ''}${extra.length ? ` ${extra.join(' ')}` : ''}\n`;
}

export function daemonLogger(component: string, out: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): Logger {
  const human = env.BINSWARM_LOG_FORMAT ? env.BINSWARM_LOG_FORMAT === 'human' : out.isTTY === true;
  const destination = human ? { write: (s: string) => void out.write(humanLine(s)) } : out;
  return pino({ level: env.BINSWARM_LOG_LEVEL ?? 'info', base: { component }, timestamp: pino.stdTimeFunctions.epochTime }, destination);
}
