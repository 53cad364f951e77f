/** The dashboard's tables, one function per section, from the JSON the coordinator serves (every string escaped by html``). */
import type { DashboardOutput, DashboardReply } from '../api/v1.js';
import { ratioBar } from './charts.js';
import { ago, bytes, count, html, short, utc, type Html } from './html.js';

function showing(shown: number, total: number | null, what: string): Html {
  if (total === null) return html`<span class="count">showing the ${count(shown)} newest ${what}</span>`;
  return html`<span class="count">showing ${count(shown)} of ${count(total)} ${what}</span>`;
}

export function level(n: number): Html {
  return html`<span class="level l${Math.min(n, 3)}" title="${n} independent operator(s)">${n}</span>`;
}

function operators(o: DashboardOutput): Html {
  return html`${o.operators.map((name) => html`<span class="tag operator">${name}</span>`)}`;
}

export function packagesSection(r: DashboardReply): Html {
  const p = r.packages;
  const rows = p.shown.map(
    (x) => html`<tr data-cpv="${x.cpv}" data-level="${x.level}">
<td><b class="cpv">${x.cpv}</b><br><code title="${x.buildKey}">${short(x.buildKey)}</code></td>
<td>${x.use.length ? x.use.map((u) => html`<span class="tag">${u}</span>`) : html`<span class="empty">none</span>`}</td>
<td>${x.chost}</td>
<td>${level(x.level)}${x.disputed ? html` <span class="disputed">disputed</span>` : ''}</td>
<td>${x.outputs.map((o, i) => html`${i ? html`<br>` : ''}${x.outputs.length > 1 ? html`<code>${short(o.outputDigest, 8)}</code> ` : ''}${operators(o)}`)}</td>
<td class="num">${x.binrev ?? '–'}</td>
<td>${ago(x.lastLogTime, r.generatedAt)}</td></tr>`,
  );
  return html`<section id="packages"><h2>Packages${showing(p.shown.length, p.total, 'configurations')}</h2>
${rows.length ? html`<table><thead><tr><th>package</th><th>USE</th><th>CHOST</th><th>trust level</th><th>operators that attested</th><th>binrev</th><th>last attestation</th></tr></thead><tbody>${rows}</tbody></table>` : html`<p class="empty">nothing attested yet</p>`}</section>`;
}

export function disputesSection(r: DashboardReply): Html {
  const d = r.disputes;
  const items = d.shown.map(
    (x) => html`<tr data-build-key="${x.buildKey}"><td><b>${x.cpv}</b><br><code>${short(x.buildKey)}</code></td><td>${utc(x.firstSeen)} (log #${x.logIndex})</td>
<td>${x.outputs.map((o) => html`<div><code title="${o.outputDigest}">${short(o.outputDigest, 16)}</code> ${level(o.level)} ${operators(o)}</div>`)}</td></tr>`,
  );
  return html`<section id="disputes"><h2>Disputes${showing(d.shown.length, d.total, 'disputes')}</h2>
${items.length ? html`<table><thead><tr><th>package</th><th>recorded</th><th>outputs (each with who built it)</th></tr></thead><tbody>${items}</tbody></table>` : html`<p class="empty">no disputes</p>`}</section>`;
}

export function queueSection(r: DashboardReply): Html {
  const q = r.queue;
  const total = Object.values(q.counts).reduce((a, b) => a + b, 0);
  const rows = q.shown.map(
    (j) => html`<tr class="job" data-state="${j.state}"><td class="num">${j.id}</td><td>${j.kind}</td><td><b>${j.cpv}</b> ${j.use.map((u) => html`<span class="tag">${u}</span>`)}</td>
<td class="state-${j.state}">${j.state}</td><td>${j.holderOperator ? html`<span class="tag operator">${j.holderOperator}</span> ` : ''}${j.holder ? html`<code>${short(j.holder, 10)}</code>` : ''}</td><td class="num">${j.priority.toFixed(2)}</td><td>${j.why}</td></tr>`,
  );
  return html`<section id="queue"><h2>Build queue${showing(q.shown.length, total, 'jobs')}<span class="count">counts as of ${ago(q.asOf, r.generatedAt)}</span></h2>
<p class="counts">${Object.entries(q.counts).map(([s, n]) => html`<span class="tag" data-state="${s}">${s}: <b>${count(n)}</b></span>`)}</p>
${rows.length ? html`<table><thead><tr><th>job</th><th>kind</th><th>configuration</th><th>state</th><th>builder</th><th>priority</th><th>why</th></tr></thead><tbody>${rows}</tbody></table>` : html`<p class="empty">no jobs running or waiting</p>`}</section>`;
}

export function peersSection(r: DashboardReply): Html {
  const p = r.peers;
  const roles = p.roles.map((x) => html`<tr data-role="${x.role}"><td>${x.role}</td><td class="num">${count(x.total)}</td><td class="num">${count(x.healthy)}</td></tr>`);
  const rows = p.shown.map(
    (x) => html`<tr class="peer"><td><code title="${x.keyId}">${short(x.keyId)}</code></td><td>${x.roles.map((ro) => html`<span class="tag">${ro}</span>`)}</td><td>${x.url ? html`<code>${x.url}</code>` : '–'}</td>
<td class="${x.healthy ? 'ok' : 'down'}">${x.healthy ? 'healthy' : x.probeFailures ? `${x.probeFailures} failed probe(s)` : 'silent'}</td><td>${ago(x.lastSeen, r.generatedAt)}</td><td class="num">${bytes(x.served)}</td></tr>`,
  );
  return html`<section id="peers"><h2>Peers${showing(p.shown.length, p.total, 'peers')}<span class="count">counts as of ${ago(p.asOf, r.generatedAt)}</span></h2>
<table class="roles"><thead><tr><th>role</th><th>peers</th><th>healthy</th></tr></thead><tbody>${roles}</tbody></table>
${rows.length ? html`<table><thead><tr><th>key</th><th>roles</th><th>URL</th><th>health</th><th>last seen</th><th>served</th></tr></thead><tbody>${rows}</tbody></table>` : html`<p class="empty">no peers registered</p>`}</section>`;
}

export function replicationSection(r: DashboardReply): Html {
  const x = r.replication;
  const rows = x.shown.map(
    (a) => html`<tr class="archive"><td><code title="${a.sha256}">${short(a.sha256, 16)}</code></td><td class="num">${bytes(a.size)}</td><td class="num">${a.holders} / ${a.target}</td><td>${ratioBar(a.holders, a.target)}</td><td class="num">${a.mirrors}</td></tr>`,
  );
  return html`<section id="replication"><h2>Replication${showing(x.shown.length, x.archives, 'archives, least replicated first')}<span class="count">as of ${ago(x.asOf, r.generatedAt)}</span></h2>
<p>${count(x.belowTarget)} of ${count(x.archives)} archives have fewer live holders than their target.</p>
${rows.length ? html`<table><thead><tr><th>archive</th><th>size</th><th>holders / target</th><th></th><th>mirrors placed</th></tr></thead><tbody>${rows}</tbody></table>` : html`<p class="empty">no archives</p>`}</section>`;
}

export function checkpointSection(r: DashboardReply): Html {
  const c = r.checkpoint;
  if (!c) return html`<section id="checkpoint"><h2>Checkpoint</h2><p class="empty">the log is empty</p></section>`;
  return html`<section id="checkpoint"><h2>Checkpoint</h2>
<p>Log <b>${r.origin}</b> at size <b class="checkpoint-size">${count(c.size)}</b>, root <code>${c.rootHash}</code>.
${c.publishedSize === null ? html` Not enough witness cosignatures yet: nothing published.` : c.publishedSize === c.size ? '' : html` Published (enough cosignatures): size ${count(c.publishedSize)}.`}</p>
${c.witnesses.length ? html`<table><thead><tr><th>witness</th><th>cosigned</th></tr></thead><tbody>${c.witnesses.map((w) => html`<tr class="witness"><td>${w.name}</td><td>${utc(w.time)}</td></tr>`)}</tbody></table>` : html`<p class="empty">no witness has cosigned this checkpoint yet</p>`}</section>`;
}
