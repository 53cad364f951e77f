/** The demand, job and dispute-explanation routes (api/v1.ts SCHEDULING_ROUTES) over the scheduler queue. */
import type { FastifyRequest } from 'fastify';
import { SCHEDULING_ROUTES, type JobKind, type JobResult, type JobSpec, type JobState, type LeaseRequest, type ListingUpload, type RouteSpec } from '../api/v1.js';
import type { BuildConfig } from '../formats/build-config.js';
import { acceptListing, explainDispute } from './disputes.js';
import type { SchedulerQueue } from './scheduler-queue.js';
import type { Store } from './store/types.js';

type Route = <Q = unknown, B = unknown, P = unknown>(r: RouteSpec, handler: (req: FastifyRequest<{ Querystring: Q; Body: B; Params: P }>) => Promise<unknown>) => void;

export function registerSchedulingRoutes(route: Route, queue: SchedulerQueue, store: Store, now: () => number): void {
  const R = SCHEDULING_ROUTES;
  const signer = (req: FastifyRequest) => req.signer!.key.id;
  route<unknown, { configs: BuildConfig[] }>(R.submitDemand, async (req) => queue.submitDemand(signer(req), req.body.configs));
  route<unknown, { spec: JobSpec }>(R.submitRequest, async (req) => queue.submitRequest(signer(req), req.body.spec));
  route<unknown, LeaseRequest>(R.leaseJob, async (req) => ({ job: await queue.lease(signer(req), req.body) }));
  route<unknown, { leaseId: string }, { id: string }>(R.heartbeat, async (req) => queue.heartbeat(signer(req), Number(req.params.id), req.body.leaseId));
  route<unknown, JobResult, { id: string }>(R.jobResult, async (req) => queue.result(signer(req), Number(req.params.id), req.body));
  route<{ state?: JobState; kind?: JobKind; cpv?: string; after?: number; limit?: number }>(R.queue, async (req) => queue.queue(req.query));
  route<unknown, ListingUpload, { outputDigest: string }>(R.uploadListing, async (req) => acceptListing(store, req.params.outputDigest, req.body, signer(req), now()));
  route<unknown, unknown, { buildKey: string }>(R.explainDispute, async (req) => explainDispute(store, req.params.buildKey));
}
