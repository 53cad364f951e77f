/**
 * The log is the clock. Every statement a client judges has a place in the
 * coordinator's log: its receipt time (logTime, inside the leaf, covered by
 * checkpoints) and its index. Revocation and certificate validity are judged
 * there, never only at the time a signer claims for itself: a thief holding
 * a revoked key can write any time into what it signs, but not into the log.
 *
 * A statement not taken from a log (a bare envelope file) is judged as if it
 * were logged at the evaluation time — what a coordinator would do with it
 * if it were submitted now.
 */

/** How far a signer's own time may be ahead of its log time (clock skew). */
export const MAX_SIGNER_SKEW_MS = 5 * 60 * 1000;

/** A statement as it stands in a log: its envelope, receipt time and index. */
export interface LoggedStatement {
  envelope: unknown;
  /** Receipt time, ms since the epoch (the leaf's logTime); left out for a statement not from a log. */
  logTime?: number;
  logIndex?: number;
}

/** Where a statement stands in the log. */
export interface LogPosition {
  logTime: number;
  logIndex?: number;
  /** False when the statement is not from a log and logTime is the evaluation time. */
  fromLog: boolean;
}

export function positionOf(s: LoggedStatement, now: number): LogPosition {
  return s.logTime === undefined ? { logTime: now, logIndex: s.logIndex, fromLog: false } : { logTime: s.logTime, logIndex: s.logIndex, fromLog: true };
}

/** Strictly earlier in the log: by index when both have one, else by receipt time (a tie is not earlier). */
export function loggedBefore(a: LogPosition, b: LogPosition): boolean {
  if (a.logIndex !== undefined && b.logIndex !== undefined) return a.logIndex < b.logIndex;
  return a.logTime < b.logTime;
}

export function iso(t: number): string {
  return new Date(t).toISOString();
}

export function describePosition(p: LogPosition): string {
  if (!p.fromLog) return `not from a log, taken as logged now (${iso(p.logTime)})`;
  return `logged at ${iso(p.logTime)}${p.logIndex !== undefined ? ` (index ${p.logIndex})` : ''}`;
}

/** A revocation that passed its checks: the key it revokes, the time it states, and where it was logged. */
export interface RevocationEntry {
  subject: string;
  time: number;
  at: LogPosition;
}

/** Which time decided a verdict: the log's receipt time or the signer's own. */
export type DecidingTime = 'log-time' | 'own-time';

/**
 * Does a revocation of the signing key void a statement signed at `own`
 * and logged at `at`? Yes when any revocation of the key was logged before
 * it (whatever its own time says); otherwise when its own time — or its
 * receipt time — is at or after the revocation's stated time (an operator
 * may revoke back to the moment of a compromise: what was signed, or first
 * seen, from then on is void).
 */
export function revokedFor(revocations: readonly RevocationEntry[], own: number, at: LogPosition): { why: string; decidedBy: DecidingTime } | undefined {
  for (const r of revocations) {
    if (loggedBefore(r.at, at)) return { decidedBy: 'log-time', why: `revocation ${describePosition(r.at)} comes before this statement (${describePosition(at)}), whatever its own time says` };
  }
  for (const r of revocations) {
    if (own >= r.time) return { decidedBy: 'own-time', why: `revoked as of ${iso(r.time)}; signed at ${iso(own)}, after that` };
  }
  for (const r of revocations) {
    if (at.fromLog && at.logTime >= r.time) return { decidedBy: 'log-time', why: `revoked as of ${iso(r.time)}; first logged at ${iso(at.logTime)}, after that` };
  }
  return undefined;
}

/**
 * A statement file as `trust explain` and `submit` take it: a bare DSSE
 * envelope, or a log entry as the coordinator's API serves it
 * (`{envelope, logIndex, logTime}`). Anything else is undefined.
 */
export function asLoggedStatement(value: unknown): LoggedStatement | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if ('payloadType' in v) return { envelope: value };
  if (!('envelope' in v)) return undefined;
  const int = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!int(v.logTime) || (v.logIndex !== undefined && !int(v.logIndex))) return undefined;
  return { envelope: v.envelope, logTime: v.logTime as number, logIndex: v.logIndex as number | undefined };
}
