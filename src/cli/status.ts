/** `binswarm status` — what this machine's binswarm does: roles, gateway, trust counts, checkpoint, contribution. */
import { Command } from 'commander';
import type { NodeStatus } from '../node/status.js';
import { EXIT, printJson, type CliCommand } from './common.js';

interface GatewayStatus {
  verifiedAt: string | null;
  checkpointSize: number | null;
  counts?: { listed: number; trusted: number; untrusted: number };
  contribution?: { packagesServed: number; bytesServed: number; cacheHits: number; fetched: number; fetchFailures: number };
  listed?: unknown[];
}

export interface StatusReport {
  roles: string[] | null;
  gateway: { url: string; reachable: boolean; error?: string; listed?: number };
  trust: { trusted: number; untrusted: number } | null;
  checkpoint: { size: number; verifiedAt: string; ageSeconds: number } | null;
  node: { url: string; reachable: boolean; error?: string; keyId?: string; publicUrl?: string };
  contribution: { node: NodeStatus['contribution'] | null; gateway: GatewayStatus['contribution'] | null };
}

async function getJson<T>(url: string, timeoutMs: number): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!r.ok) return { ok: false, error: `HTTP ${r.status}` };
    return { ok: true, value: (await r.json()) as T };
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    return { ok: false, error: cause ?? (e as Error).message };
  }
}

/** Pure: the report from what the two endpoints answered. */
export function statusReport(gatewayUrl: string, nodeUrl: string, gw: Awaited<ReturnType<typeof getJson<GatewayStatus>>>, node: Awaited<ReturnType<typeof getJson<NodeStatus>>>, now: Date): StatusReport {
  const g = gw.ok ? gw.value : undefined;
  const n = node.ok ? node.value : undefined;
  const verifiedAt = g?.verifiedAt ?? null;
  return {
    // A gateway alone consumes; a node says what it opted into.
    roles: n?.roles ?? (g ? ['consume'] : null),
    gateway: gw.ok ? { url: gatewayUrl, reachable: true, listed: g!.counts?.listed ?? g!.listed?.length ?? 0 } : { url: gatewayUrl, reachable: false, error: gw.error },
    trust: g?.counts ? { trusted: g.counts.trusted, untrusted: g.counts.untrusted } : null,
    checkpoint: g && verifiedAt && g.checkpointSize !== null ? { size: g.checkpointSize, verifiedAt, ageSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(verifiedAt)) / 1000)) } : null,
    node: node.ok ? { url: nodeUrl, reachable: true, keyId: n!.keyId, publicUrl: n!.publicUrl } : { url: nodeUrl, reachable: false, error: node.error },
    contribution: { node: n?.contribution ?? null, gateway: g?.contribution ?? null },
  };
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

function age(s: number): string {
  return s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

export function formatStatus(r: StatusReport): string {
  const rows: [string, string][] = [
    ['roles', r.roles ? r.roles.join(', ') : 'unknown (neither gateway nor node answered)'],
    ['gateway', r.gateway.reachable ? `${r.gateway.url} reachable · ${r.gateway.listed} package(s) listed for Portage` : `${r.gateway.url} NOT reachable (${r.gateway.error})`],
    ['trust', r.trust ? `${r.trust.trusted} build(s) trusted · ${r.trust.untrusted} not trusted by your policy` : '-'],
    ['checkpoint', r.checkpoint ? `size ${r.checkpoint.size} · verified ${age(r.checkpoint.ageSeconds)} ago (${r.checkpoint.verifiedAt})` : 'none verified yet'],
    ['node', r.node.reachable ? `${r.node.url} reachable · key ${r.node.keyId?.slice(0, 16)}… · ${r.node.publicUrl}` : `${r.node.url} not running (${r.node.error})`],
  ];
  const c = r.contribution;
  if (c.node) rows.push(['contributed', `${c.node.packagesContributed} package(s) attested · ${c.node.blobsServed} blob request(s), ${bytes(c.node.bytesServed)} served to peers`]);
  if (c.gateway) rows.push(['to Portage', `${c.gateway.packagesServed} package(s), ${bytes(c.gateway.bytesServed)} · archives: ${c.gateway.cacheHits} from cache, ${c.gateway.fetched} fetched, ${c.gateway.fetchFailures} failed`]);
  return rows.map(([k, v]) => `${k.padEnd(12)} ${v}`).join('\n') + '\n';
}

let exit: number = EXIT.ok;

const command: CliCommand = {
  build() {
    return new Command()
      .description("Show this machine's binswarm: roles, gateway, trusted/untrusted counts, last checkpoint, what it contributed.")
      .option('--gateway <url>', 'the local gateway', 'http://127.0.0.1:7680')
      .option('--node <url>', "the local node's blob server", 'http://127.0.0.1:7700')
      .option('--timeout <ms>', 'how long to wait for each', '5000')
      .option('--json', 'print the report as JSON')
      .addHelpText('after', '\nExit status 1 when the gateway does not answer.')
      .action(async (o: { gateway: string; node: string; timeout: string; json?: boolean }) => {
        const strip = (u: string) => u.replace(/\/+$/, '');
        const [gw, node] = await Promise.all([getJson<GatewayStatus>(`${strip(o.gateway)}/-/status`, Number(o.timeout)), getJson<NodeStatus>(`${strip(o.node)}/-/status`, Number(o.timeout))]);
        const report = statusReport(strip(o.gateway), strip(o.node), gw, node, new Date());
        if (o.json) printJson(report);
        else process.stdout.write(formatStatus(report));
        exit = report.gateway.reachable ? EXIT.ok : EXIT.problems;
      });
  },
  exitCode: () => exit,
};

export default command;
