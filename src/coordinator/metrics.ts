/**
 * The coordinator's `/metrics`: the HTTP figures every server has, plus the
 * log size, attestations accepted, peers, disputes, and the build queue
 * length (a hook: the scheduler reports it once it exists).
 */
import type { FastifyInstance } from 'fastify';
import { ROUTES } from '../api/v1.js';
import { registerMetrics, type ServerMetrics } from '../metrics/http-metrics.js';
import type { Store } from './store/types.js';

export function registerCoordinatorMetrics(app: FastifyInstance, store: Store, queueLength: () => number | Promise<number> = () => 0): ServerMetrics {
  const m = registerMetrics(app, 'coordinator');
  m.gauge('binswarm_log_size', 'Entries covered by the latest signed checkpoint', async () => (await store.latestCheckpoint())?.size ?? 0);
  m.gauge('binswarm_peers', 'Registered peers', () => store.countPeers());
  m.gauge('binswarm_disputes', 'Recorded disputes', async () => (await store.listDisputes()).length);
  m.gauge('binswarm_build_queue_length', 'Build and verify jobs waiting', queueLength);
  const accepted = m.counter('binswarm_attestations_accepted_total', 'Attestations accepted (new or duplicate), one request or batched');
  const single = ROUTES.submitAttestation.url;
  const batch = ROUTES.submitAttestations.url;
  app.addHook('onSend', async (req, reply, payload) => {
    const url = req.routeOptions.url;
    if (req.method !== 'POST' || reply.statusCode !== 200 || (url !== single && url !== batch) || typeof payload !== 'string') return payload;
    if (url === single) accepted.inc();
    else accepted.inc((JSON.parse(payload) as { results: object[] }).results.filter((r) => 'ok' in r).length);
    return payload;
  });
  return m;
}
