/** Times on the command line: ISO 8601, or now. */
import { BinswarmError } from '../errors.js';

export function parseTime(text: string | undefined, now = new Date()): Date {
  if (text === undefined || text === 'now') return now;
  const t = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(t)) throw new BinswarmError('BAD_TIME', `not an ISO 8601 time: '${text}'`);
  return new Date(t);
}
