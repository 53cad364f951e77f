/**
 * The dashboard page: server-rendered HTML from the same JSON as
 * GET /v1/dashboard, inline CSS and SVG charts, one small inline script
 * that refreshes it, and a Content-Security-Policy that allows nothing
 * from any other origin.
 */
import type { DashboardReply, DashboardSample } from '../api/v1.js';
import { lineChart, type Series } from './charts.js';
import { CSP, SCRIPT, STYLE } from './dashboard-assets.js';
import { checkpointSection, disputesSection, packagesSection, peersSection, queueSection, replicationSection } from './dashboard-sections.js';
import { bytes, count, html, raw, utc, type Html } from './html.js';

export interface RenderedPage {
  html: string;
  /** The Content-Security-Policy header the page must be served with. */
  csp: string;
}

function levelsAtLeast(s: DashboardSample, min: number): number {
  return Object.entries(s.levels).reduce((sum, [l, n]) => (Number(l) >= min ? sum + n : sum), 0);
}

function exactly(s: DashboardSample, l: number): number {
  return s.levels[String(l)] ?? 0;
}

function charts(r: DashboardReply): Html {
  const items = r.samples.items;
  const series = (name: string, cls: string, f: (s: DashboardSample) => number): Series => ({ name, cls, points: items.map((s) => [s.time, f(s)]) });
  const spanS = items.length > 1 ? Math.round((items[items.length - 1]!.time - items[0]!.time) / 1000) : 0;
  const window = spanS === 0 ? '' : spanS < 120 ? `${spanS} s` : spanS < 7200 ? `${Math.round(spanS / 60)} min` : `${(spanS / 3600).toFixed(1)} h`;
  const n = (v: number) => (Number.isInteger(v) ? count(v) : v.toFixed(1));
  return html`<section id="charts"><h2>Over time<span class="count">${count(items.length)} samples${window ? `, ${window}` : ''}, one every ${Math.round(r.samples.intervalMs / 1000)} s</span></h2><div class="charts">
${lineChart({ id: 'chart-trust', title: 'Configurations by trust level', format: n, series: [series('level 1', 's1', (s) => exactly(s, 1)), series('level 2', 's2', (s) => exactly(s, 2)), series('level ≥ 3', 's3', (s) => levelsAtLeast(s, 3))] })}
${lineChart({ id: 'chart-queue', title: 'Build queue', format: n, series: [series('waiting', 's2', (s) => s.queued), series('running', 's4', (s) => s.leased)] })}
${lineChart({ id: 'chart-served', title: 'Bytes served by peers', format: bytes, series: [series('served (sum of peer counters)', 's4', (s) => s.served)] })}
</div></section>`;
}

function tiles(r: DashboardReply): Html {
  const last = r.samples.items[r.samples.items.length - 1];
  const tile = (id: string, value: string, label: string) => html`<div class="tile" id="${id}"><b>${value}</b><span>${label}</span></div>`;
  return html`<div class="tiles">
${tile('tile-configs', r.packages.total === null ? '–' : count(r.packages.total), 'configurations attested')}
${tile('tile-trusted', last ? count(levelsAtLeast(last, 2)) : '–', 'at trust level ≥ 2')}
${tile('tile-disputes', count(r.disputes.total), 'disputes')}
${tile('tile-queue', `${count(r.queue.counts.queued)} / ${count(r.queue.counts.leased)}`, 'jobs waiting / running')}
${tile('tile-peers', count(r.peers.total), 'peers')}
${tile('tile-served', bytes(r.peers.served), 'served by peers')}
${tile('tile-log', r.checkpoint ? count(r.checkpoint.size) : '0', 'log entries (checkpoint)')}
</div>`;
}

export function renderDashboard(r: DashboardReply, opts: { refreshMs: number } = { refreshMs: 5000 }): RenderedPage {
  const page = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>binswarm — ${r.origin}</title><link rel="icon" href="data:,"><style>${raw(STYLE)}</style></head>
<body data-refresh="${opts.refreshMs}">
<header><h1>binswarm dashboard</h1><span class="meta">log ${r.origin} · ${utc(r.generatedAt)} UTC · lists show at most ${r.limit} rows (<code>?limit=</code>) · JSON: <code>/v1/dashboard</code></span></header>
<main>
${tiles(r)}
${charts(r)}
${packagesSection(r)}
${disputesSection(r)}
<div class="cols">${queueSection(r)}${peersSection(r)}</div>
<div class="cols">${replicationSection(r)}${checkpointSection(r)}</div>
<p class="meta">Trust levels here count distinct operators as the coordinator sees them; your gateway decides what to serve with your own policy and trust roots.</p>
</main>
<script>${raw(SCRIPT)}</script>
</body></html>
`;
  return { html: page.text, csp: CSP };
}
