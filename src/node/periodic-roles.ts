/**
 * The node's periodic, opt-in sharing roles:
 * - `contribute`: attest and offer the binaries of the watched PKGDIR;
 * - `sign`: only sign outputs of the watched PKGDIR the network already has
 *   (an independent build that agrees), offering nothing;
 * - `census`: send the build configs of the installed packages as demand.
 * Each is one pass at start and then on its interval; a pass never overlaps
 * the previous one, and a failed pass is logged and retried at the next tick.
 */
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Envelope } from '../trust/dsse.js';
import type { PrivateKey } from '../trust/keys.js';
import type { BlobStore } from '../transfer/blob-store.js';
import { submitCensus, takeCensus } from './census.js';
import { publishPkgdir } from './contribute.js';

export interface PeriodicRolesOptions {
  roles: readonly string[];
  coordinator: string;
  key: PrivateKey;
  certificates: Envelope[];
  store: BlobStore;
  publicUrl: string;
  logger: Logger;
  watch?: string;
  watchIntervalMs: number;
  censusRoot: string;
  censusIntervalMs: number;
  /** Counts packages contributed or signed (the node's status). */
  contributed: (n: number) => void;
}

/** Runs `pass` now and every `ms`, one at a time; returns the stop function. */
function every(ms: number, what: string, logger: Logger, pass: () => Promise<void>): () => void {
  let running = false;
  const tick = async () => {
    if (running) return; // a slow pass is still at work; the next tick looks again
    running = true;
    try {
      await pass();
    } catch (e) {
      logger.warn({ err: (e as Error).message }, `${what} failed`);
    } finally {
      running = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), ms);
  return () => clearInterval(timer);
}

export function startPeriodicRoles(o: PeriodicRolesOptions): () => void {
  const stops: (() => void)[] = [];
  const contribute = o.roles.includes('contribute');
  if (o.watch && (contribute || o.roles.includes('sign'))) {
    const pkgdir = o.watch;
    let last = '';
    stops.push(every(o.watchIntervalMs, contribute ? 'contribute' : 'sign', o.logger, async () => {
      const st = await stat(`${pkgdir}/Packages`).catch(() => undefined);
      const mark = st ? `${st.mtimeMs}:${st.size}` : '';
      if (!st || mark === last) return;
      const r = await publishPkgdir(pkgdir, { coordinator: o.coordinator, key: o.key, certificates: o.certificates, store: o.store, publicUrl: o.publicUrl, signOnly: !contribute });
      // Only a pass that got through marks the index as done; a failed one is retried.
      last = mark;
      o.contributed(r.packages.length);
      o.logger.info({ pkgdir, packages: r.packages.length, skipped: r.skipped.length, problems: r.problems.map((p) => p.message) }, contribute ? `contributed ${r.packages.length} package(s)` : `signed ${r.packages.length} output(s) the network has; ${r.skipped.length} it has not`);
    }));
  }
  if (o.roles.includes('census')) {
    stops.push(every(o.censusIntervalMs, 'census', o.logger, async () => {
      const census = await takeCensus(o.censusRoot);
      const reply = await submitCensus(census, o.coordinator, o.key);
      o.logger.info({ vdb: census.vdb, configs: reply.accepted, jobsCreated: reply.jobsCreated, problems: census.problems.length }, `census: sent ${reply.accepted} configuration(s)`);
    }));
  }
  return () => stops.forEach((s) => s());
}
