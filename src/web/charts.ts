/**
 * Line charts as inline SVG, drawn on the server: no script, no external
 * library, and they render under a Content-Security-Policy that allows no
 * other origin. Colours come from classes in the page's stylesheet.
 */
import { html, type Html } from './html.js';

export interface Series {
  name: string;
  /** CSS class giving the line its colour (s1 … s4). */
  cls: string;
  /** [time ms, value], oldest first. */
  points: [number, number][];
}

export interface ChartOptions {
  id: string;
  title: string;
  series: Series[];
  format: (v: number) => string;
  width?: number;
  height?: number;
}

const M = { left: 56, right: 10, top: 10, bottom: 22 };
/** Up to this many points per series also get a dot (a long window is a line only). */
const DOTS_UP_TO = 60;

function hhmmss(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** The smallest 1/2/5 × 10ⁿ at or above v (a round top for the y axis). */
export function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function lineChart(o: ChartOptions): Html {
  const W = o.width ?? 380;
  const H = o.height ?? 170;
  const all = o.series.flatMap((s) => s.points);
  const legend = html`<ul class="legend">${o.series.map((s) => html`<li><span class="key ${s.cls}"></span>${s.name}</li>`)}</ul>`;
  if (all.length === 0) {
    return html`<figure class="chart" id="${o.id}"><figcaption>${o.title}</figcaption><p class="empty">no samples yet</p>${legend}</figure>`;
  }
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]));
  const span = t1 > t0 ? t1 - t0 : 1;
  const top = niceCeil(Math.max(...all.map((p) => p[1])));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (t: number) => (M.left + ((t - t0) / span) * pw).toFixed(1);
  const y = (v: number) => (M.top + ph - (v / top) * ph).toFixed(1);
  const grid = [0, top / 2, top].map(
    (v) => html`<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${y(v)}" y2="${y(v)}"/><text class="tick" x="${M.left - 4}" y="${Number(y(v)) + 4}" text-anchor="end">${o.format(v)}</text>`,
  );
  const lines = o.series.map((s) => {
    const pts = s.points.map(([t, v]) => `${x(t)},${y(v)}`).join(' ');
    const dots = s.points.length <= DOTS_UP_TO ? s.points.map(([t, v]) => html`<circle class="pt ${s.cls}" cx="${x(t)}" cy="${y(v)}" r="2"><title>${s.name}: ${o.format(v)} at ${hhmmss(t)}</title></circle>`) : [];
    return html`<polyline class="line ${s.cls}" data-series="${s.name}" data-points="${s.points.length}" points="${pts}"/>${dots}`;
  });
  return html`<figure class="chart" id="${o.id}"><figcaption>${o.title}</figcaption><svg role="img" aria-label="${o.title}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${grid}<text class="tick" x="${M.left}" y="${H - 6}">${hhmmss(t0)}</text><text class="tick" x="${W - M.right}" y="${H - 6}" text-anchor="end">${hhmmss(t1)} UTC</text>${lines}</svg>${legend}</figure>`;
}

/** A small horizontal bar: `value` of `target` (replication). */
export function ratioBar(value: number, target: number): Html {
  const W = 80;
  const filled = target > 0 ? Math.min(1, value / target) * W : 0;
  return html`<svg class="bar" viewBox="0 0 ${W} 8" width="${W}" height="8" aria-hidden="true"><rect class="bar-bg" width="${W}" height="8"/><rect class="${value >= target ? 'bar-ok' : 'bar-low'}" width="${filled.toFixed(1)}" height="8"/></svg>`;
}
