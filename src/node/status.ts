/**
 * The node's `/-/status` (read by `binswarm status`) and `/metrics`: its
 * roles, key, address, and what it gave the network — blobs and bytes
 * served to peers, packages contributed.
 */
import type { FastifyInstance } from 'fastify';
import { registerMetrics } from '../metrics/http-metrics.js';

export interface NodeStatus {
  roles: string[];
  keyId: string;
  publicUrl: string;
  gateway: string | null;
  contribution: { blobsServed: number; bytesServed: number; packagesContributed: number; lastContribution: string | null };
}

export function registerNodeStatus(app: FastifyInstance, about: { roles: string[]; keyId: string; gateway: string | null }, now: () => Date = () => new Date()): { setPublicUrl(u: string): void; contributed(n: number): void } {
  const m = registerMetrics(app, 'node');
  const contribution: NodeStatus['contribution'] = { blobsServed: 0, bytesServed: 0, packagesContributed: 0, lastContribution: null };
  let publicUrl = '';
  m.gauge('binswarm_node_packages_contributed', 'Packages this node contributed since it started', () => contribution.packagesContributed);
  app.addHook('onResponse', async (req, reply) => {
    if (!req.routeOptions.url?.startsWith('/blobs/') || req.method === 'HEAD' || (reply.statusCode !== 200 && reply.statusCode !== 206)) return;
    contribution.blobsServed++;
    contribution.bytesServed += Number(reply.getHeader('content-length')) || 0;
  });
  app.get('/-/status', async (): Promise<NodeStatus> => ({ roles: about.roles, keyId: about.keyId, publicUrl, gateway: about.gateway, contribution }));
  return {
    setPublicUrl: (u) => (publicUrl = u),
    contributed: (n) => {
      contribution.packagesContributed += n;
      contribution.lastContribution = now().toISOString();
    },
  };
}
