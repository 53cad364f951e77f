/**
 * GET / (the dashboard page) and GET /v1/dashboard (the same numbers as
 * JSON). One collection serves every viewer for a second, so a room full
 * of auto-refreshing browsers costs one set of bounded queries per second;
 * the counts over the whole network are shared longer (slowFactsCache).
 */
import type { FastifyInstance } from 'fastify';
import { DASHBOARD_DEFAULT_LIMIT, DASHBOARD_ROUTES, type DashboardReply } from '../../api/v1.js';
import { renderDashboard } from '../../web/dashboard-page.js';
import { collectDashboard, collectSlow, type DashboardSources, type SlowFacts } from './collect.js';

const TTL_MS = 1000;

/**
 * The network-wide counts (collectSlow): the first view waits for them;
 * after that every view gets the last result at once, and one older than
 * `ttlMs` is recomputed in the background (stale while revalidating).
 */
export function slowFactsCache(src: DashboardSources, ttlMs: number): (now: number) => Promise<SlowFacts> {
  let last: SlowFacts | undefined;
  let running: Promise<SlowFacts> | undefined;
  const refresh = (now: number) => {
    running ??= collectSlow(src, now)
      .then((f) => (last = f))
      .finally(() => (running = undefined));
    return running;
  };
  return (now) => {
    if (!last) return refresh(now);
    if (now - last.at >= ttlMs || now < last.at) void refresh(now).catch(() => undefined);
    return Promise.resolve(last);
  };
}

export function registerDashboardRoutes(app: FastifyInstance, src: DashboardSources, now: () => number, slowTtlMs: number): void {
  const slow = slowFactsCache(src, slowTtlMs);
  const cache = new Map<number, { at: number; value: Promise<DashboardReply> }>();
  const get = (limit: number): Promise<DashboardReply> => {
    const t = now();
    const hit = cache.get(limit);
    if (hit && t - hit.at < TTL_MS && t >= hit.at) return hit.value;
    if (cache.size > 16) cache.clear();
    const value = slow(t).then((f) => collectDashboard(src, t, limit, f));
    cache.set(limit, { at: t, value });
    value.catch(() => cache.delete(limit));
    return value;
  };
  const R = DASHBOARD_ROUTES;
  app.route<{ Querystring: { limit?: number } }>({ method: R.dashboard.method, url: R.dashboard.url, schema: R.dashboard.schema, handler: async (req) => get(req.query.limit ?? DASHBOARD_DEFAULT_LIMIT) });
  app.route<{ Querystring: { limit?: number; refresh?: '0' | '1' } }>({
    method: R.dashboardPage.method, url: R.dashboardPage.url, schema: R.dashboardPage.schema,
    handler: async (req, reply) => {
      const page = renderDashboard(await get(req.query.limit ?? DASHBOARD_DEFAULT_LIMIT), { refreshMs: req.query.refresh === '0' ? 0 : 5000 });
      return reply
        .header('content-security-policy', page.csp)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(page.html);
    },
  });
}
