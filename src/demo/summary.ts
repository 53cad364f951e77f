/**
 * What the demo shows while it runs: per requested configuration, which
 * operators built it identically and whether the consumer's gateway trusts
 * and lists it; the queue; disputes; mirrors and replication; what the
 * gateway served. `summarise` is pure (tested on its own); `readSummary`
 * gathers its inputs over the same HTTP APIs any client uses.
 */
import type { CoordinatorClient } from '../api/client.js';
import type { JobSpec, PackageGroup, PlacementReply, QueueItem } from '../api/v1.js';
import { openAttestation } from '../trust/statements.js';

export interface DemoRequest {
  spec: JobSpec;
  configKey: string | null;
}

/** The part of a gateway's `/-/status` the demo reads. */
export interface GatewayStatus {
  checkpointSize: number | null;
  listed: { path: string; cpv: string; buildId: number; archive: string; level: number }[];
  decisions: { cpv: string; buildKey: string; status: string; level: number; why: string }[];
  contribution: { packagesServed: number; bytesServed: number };
}

export interface ConfigSummary {
  cpv: string;
  /** Distinct outputs attested for its newest build (more than one: a dispute). */
  outputs: number;
  use: string[];
  /** Most operators agreeing on one output (the trust level). */
  level: number;
  operators: string[];
  binrev: number | null;
  disputed: boolean;
  /** The gateway's verdict under the consumer's policy, and whether Portage sees it. */
  verdict: string;
  listed: boolean;
  jobs: string;
}

export interface DemoSummary {
  packages: ConfigSummary[];
  allTrusted: boolean;
  queue: Record<string, number>;
  running: { cpv: string; kind: string; builder: string }[];
  disputes: { cpv: string; outputs: number }[];
  mirrors: { domain: string | null; live: boolean; assigned: number; assignedBytes: number }[];
  replication: { archives: number; belowTarget: number; minHolders: number | null };
  gateway: { listed: number; packagesServed: number; bytesServed: number; checkpointSize: number | null };
  /** What each node (builders, mirrors) served to others, from its own `/-/status`. */
  transfers: { name: string; blobsServed: number; bytesServed: number }[];
}

export interface SummaryInputs {
  requests: DemoRequest[];
  groups: Map<string, PackageGroup[]>;
  jobs: QueueItem[];
  placement: PlacementReply;
  gateway: GatewayStatus | undefined;
  /** Builder key id → operator name. */
  operatorOf: Map<string, string>;
  nodes: { name: string; status: { contribution: { blobsServed: number; bytesServed: number } } | undefined }[];
}

function count<T>(xs: T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

export function summarise(i: SummaryInputs): DemoSummary {
  const listedArchives = new Set(i.gateway?.listed.map((l) => l.archive));
  const verdicts = new Map(i.gateway?.decisions.map((d) => [d.buildKey, d]));
  const name = (keyId: string) => i.operatorOf.get(keyId) ?? keyId.slice(0, 8);
  const packages = i.requests.map((r): ConfigSummary => {
    // The newest binary revision of the configuration is the one that matters.
    const groups = (r.configKey ? i.groups.get(r.configKey) ?? [] : []).sort((a, b) => (b.binrev ?? 0) - (a.binrev ?? 0));
    const g = groups[0];
    const byOutput = new Map<string, Set<string>>();
    const archives = new Set<string>();
    for (const e of g?.attestations ?? []) {
      const s = openAttestation(e.envelope).statement;
      byOutput.set(s.outputDigest, (byOutput.get(s.outputDigest) ?? new Set()).add(name(s.builder.keyId)));
      archives.add(s.archive.sha256);
    }
    const best = [...byOutput.values()].sort((a, b) => b.size - a.size)[0] ?? new Set<string>();
    const verdict = g ? verdicts.get(g.buildKey)?.status ?? 'not seen yet' : 'not built yet';
    const jobs = count(i.jobs.filter((j) => j.configKey === r.configKey), (j) => `${j.kind} ${j.state}`);
    return {
      cpv: r.spec.cpv, outputs: byOutput.size, use: r.spec.use, level: best.size, operators: [...best].sort(), binrev: g?.binrev ?? null, disputed: g?.disputed ?? false,
      verdict, listed: [...archives].some((a) => listedArchives.has(a)), jobs: Object.entries(jobs).map(([k, n]) => `${n} ${k}`).sort().join(', '),
    };
  });
  const archives = i.placement.archives;
  return {
    packages,
    allTrusted: packages.length > 0 && packages.every((p) => p.verdict === 'trusted' && p.listed),
    queue: count(i.jobs, (j) => j.state),
    running: i.jobs.filter((j) => j.state === 'leased').map((j) => ({ cpv: j.cpv, kind: j.kind, builder: j.holder ? name(j.holder) : '?' })),
    // The requested configurations' own disputes: read with their groups, not the network's list.
    disputes: packages.filter((p) => p.disputed).map((p) => ({ cpv: p.cpv, outputs: p.outputs })),
    mirrors: i.placement.mirrors.map((m) => ({ domain: m.domain, live: m.live, assigned: m.assigned, assignedBytes: m.assignedBytes })),
    replication: { archives: archives.length, belowTarget: archives.filter((a) => a.holders < a.target).length, minHolders: archives.length ? Math.min(...archives.map((a) => a.holders)) : null },
    gateway: { listed: i.gateway?.listed.length ?? 0, packagesServed: i.gateway?.contribution.packagesServed ?? 0, bytesServed: i.gateway?.contribution.bytesServed ?? 0, checkpointSize: i.gateway?.checkpointSize ?? null },
    transfers: i.nodes.map((n) => ({ name: n.name, blobsServed: n.status?.contribution.blobsServed ?? 0, bytesServed: n.status?.contribution.bytesServed ?? 0 })),
  };
}

/** Reads everything `summarise` needs: per requested configuration and per requested package, not the whole network. */
export async function readSummary(client: CoordinatorClient, gatewayUrl: string, requests: DemoRequest[], operatorOf: Map<string, string>, nodeUrls: { name: string; url: string }[]): Promise<DemoSummary> {
  const groups = new Map<string, PackageGroup[]>();
  for (const key of new Set(requests.map((r) => r.configKey).filter((k): k is string => k !== null))) groups.set(key, await client.packages({ configKey: key }));
  const jobs: QueueItem[] = [];
  for (const cpv of new Set(requests.map((r) => r.spec.cpv))) jobs.push(...(await client.queue({ cpv })));
  const status = <T>(url: string) => fetch(`${url}/-/status`).then((r) => (r.ok ? (r.json() as Promise<T>) : undefined), () => undefined);
  const gateway = await status<GatewayStatus>(gatewayUrl);
  const nodes = await Promise.all(nodeUrls.map(async (n) => ({ name: n.name, status: await status<SummaryInputs['nodes'][number]['status']>(n.url) })));
  return summarise({ requests, groups, jobs, placement: await client.placement(), gateway, operatorOf, nodes });
}

const size = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

/** The live terminal view. */
export function renderSummary(s: DemoSummary, threshold: number): string {
  const lines = [`Packages (trusted = ${threshold}+ independent operators built it bit-for-bit identically):`];
  const w = Math.max(...s.packages.map((p) => `${p.cpv} USE="${p.use.join(' ')}"`.length));
  for (const p of s.packages) {
    const label = `${p.cpv} USE="${p.use.join(' ')}"`.padEnd(w);
    const ops = p.operators.length ? p.operators.join(' ') : '-';
    lines.push(`  ${label}  level ${p.level} (${ops})${p.binrev ? ` binrev ${p.binrev}` : ''}  ${p.disputed ? 'DISPUTED ' : ''}${p.verdict}${p.listed ? ', listed' : ''}`);
    if (p.jobs) lines.push(`  ${''.padEnd(w)}  jobs: ${p.jobs}`);
  }
  const q = Object.entries(s.queue).map(([k, n]) => `${n} ${k}`).join(', ') || 'empty';
  lines.push(`Queue: ${q}${s.running.length ? `; building: ${s.running.map((r) => `${r.builder}→${r.cpv} (${r.kind})`).join(', ')}` : ''}`);
  lines.push(`Disputes: ${s.disputes.length ? s.disputes.map((d) => `${d.cpv} (${d.outputs} outputs)`).join(', ') : 'none'}`);
  lines.push(`Mirrors: ${s.mirrors.map((m) => `${m.domain ?? '?'} ${m.live ? 'up' : 'DOWN'} ${m.assigned} archives (${size(m.assignedBytes)})`).join('; ') || 'none yet'}`);
  lines.push(`Replication: ${s.replication.archives} archives, ${s.replication.belowTarget} below target${s.replication.minHolders !== null ? `, fewest holders ${s.replication.minHolders}` : ''}`);
  lines.push(`Transfers: ${s.transfers.map((t) => `${t.name} served ${t.blobsServed} (${size(t.bytesServed)})`).join(', ')}`);
  lines.push(`Gateway: ${s.gateway.listed} listed, gave Portage ${s.gateway.packagesServed} packages (${size(s.gateway.bytesServed)}), log size ${s.gateway.checkpointSize ?? '-'}`);
  lines.push(s.allTrusted ? 'All example packages trusted.' : 'Waiting for builders…');
  return lines.join('\n');
}
