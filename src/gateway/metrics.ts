/**
 * The gateway's `/metrics` and the figures `/-/status` adds for
 * `binswarm status`: what is listed, trusted and not, the checkpoint
 * followed, archives from the cache vs fetched, and bytes served to Portage
 * (counted per route by the shared HTTP metrics).
 */
import type { FastifyInstance } from 'fastify';
import { registerMetrics } from '../metrics/http-metrics.js';
import type { Gateway } from './gateway.js';

export const PACKAGE_ROUTE = '/:cat/:pn/:file';

export function registerGatewayMetrics(app: FastifyInstance, gw: Gateway): { bytesServed: () => number; packagesServed: () => number } {
  const m = registerMetrics(app, 'gateway');
  m.gauge('binswarm_gateway_packages_listed', 'Packages in the Packages index Portage sees', () => gw.current()?.packages.size ?? 0);
  m.gauge('binswarm_gateway_builds_trusted', 'Builds your policy trusts', () => gw.counts().trusted);
  m.gauge('binswarm_gateway_builds_untrusted', 'Builds seen that your policy does not trust (too few operators, disputed, opted out)', () => gw.counts().untrusted);
  m.gauge('binswarm_gateway_checkpoint_size', 'Size of the last verified log checkpoint', () => gw.current()?.checkpointSize ?? 0);
  m.gauge('binswarm_gateway_cache_hits', 'Archives found already verified in the local cache', () => gw.stats.cacheHits);
  m.gauge('binswarm_gateway_fetches', 'Archives fetched from holders', () => gw.stats.fetched);
  m.gauge('binswarm_gateway_fetch_failures', 'Archive fetches that failed', () => gw.stats.fetchFailures);
  let bytes = 0;
  let packages = 0;
  app.addHook('onResponse', async (req, reply) => {
    if (req.routeOptions.url !== PACKAGE_ROUTE || reply.statusCode !== 200 || req.method === 'HEAD') return;
    packages++;
    bytes += Number(reply.getHeader('content-length')) || 0;
  });
  return { bytesServed: () => bytes, packagesServed: () => packages };
}
