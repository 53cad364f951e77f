/**
 * Prometheus `/metrics` for every binswarm HTTP server (coordinator, node,
 * gateway), through prom-client with one registry per server (several can
 * run in one process, as in the demo and the tests). Every server gets
 * requests by route and status, response bytes by route, request durations
 * and the process metrics; each component adds gauges read at scrape time.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type Component = 'coordinator' | 'node' | 'gateway';

export interface ServerMetrics {
  registry: Registry;
  /** A gauge whose value is read when Prometheus scrapes (log size, queue length, …). */
  gauge(name: string, help: string, read: () => number | Promise<number>): void;
  /** A counter the component increments itself (cache hits, …). */
  counter(name: string, help: string, labelNames?: string[]): Counter<string>;
}

export function registerMetrics(app: FastifyInstance, component: Component): ServerMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry, prefix: 'binswarm_' });
  const requests = new Counter({ name: 'binswarm_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers: [registry] });
  const bytes = new Counter({ name: 'binswarm_http_response_bytes_total', help: 'Bytes sent in response bodies, by route', labelNames: ['route'], registers: [registry] });
  const duration = new Histogram({ name: 'binswarm_http_request_duration_seconds', help: 'Time to answer a request, by route', labelNames: ['route'], buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60], registers: [registry] });
  app.addHook('onResponse', async (req, reply) => {
    // The route pattern, never the raw URL: digests in paths would make unbounded label sets.
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    const length = Number(reply.getHeader('content-length'));
    if (Number.isFinite(length) && req.method !== 'HEAD') bytes.inc({ route }, length);
    duration.observe({ route }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  return {
    registry,
    gauge(name, help, read) {
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          this.set(await read());
        },
      });
    },
    counter(name, help, labelNames = []) {
      return new Counter({ name, help, labelNames, registers: [registry] });
    },
  };
}
