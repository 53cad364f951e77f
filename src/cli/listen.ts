/** HOST:PORT parsing and running a server until SIGINT/SIGTERM. */
import type { FastifyInstance } from 'fastify';
import { BinswarmError } from '../errors.js';

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) throw new BinswarmError('BAD_ARGUMENT', `--listen wants HOST:PORT, got '${text}'`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export function untilSignal(close: () => Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void close().finally(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * Listens, or — when the address is taken or not ours — closes what the
 * caller opened (`cleanup`: stores, timers) and throws one clear error, so
 * the process exits instead of hanging on open handles.
 */
export async function listenOrClose(app: FastifyInstance, at: { host: string; port: number }, cleanup: () => Promise<unknown> = async () => undefined): Promise<string> {
  try {
    return await app.listen(at);
  } catch (e) {
    await app.close().catch(() => undefined);
    await cleanup().catch(() => undefined);
    throw new BinswarmError('LISTEN_FAILED', `cannot listen on ${at.host}:${at.port}: ${(e as Error).message}`);
  }
}
