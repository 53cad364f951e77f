/** The dashboard renderer: every peer-supplied string escaped, charts with their data, totals, and a CSP that admits only the page's own inline code. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { DashboardReply } from '../../src/api/v1.js';
import { lineChart, niceCeil } from '../../src/web/charts.js';
import { renderDashboard } from '../../src/web/dashboard-page.js';
import { bytes, escapeHtml, html, raw } from '../../src/web/html.js';

const EVIL = '<script>alert(1)</script>';
const ATTR = '"><img src=x onerror=alert(2)>';
const T = Date.parse('2026-11-25T22:00:00Z');
const out = (o: string, level: number, operators: string[]) => ({ outputDigest: o.repeat(64), level, operators, attestations: operators.length });

function reply(): DashboardReply {
  return {
    generatedAt: T, origin: `log${EVIL}`, limit: 2,
    packages: {
      total: 12345,
      shown: [
        { cpv: `app-misc/${EVIL}`, chost: `x86_64${ATTR}`, use: [EVIL, 'nls'], buildKey: 'b'.repeat(64), configKey: 'c'.repeat(64), binrev: 1, disputed: false, level: 3, outputs: [out('a', 3, ['alice', `bob${EVIL}`, `carol${ATTR}`])], lastLogTime: T - 5000 },
        { cpv: 'dev-libs/libdemo-1.0', chost: 'x86_64-pc-linux-gnu', use: [], buildKey: 'd'.repeat(64), configKey: 'e'.repeat(64), binrev: null, disputed: true, level: 1, outputs: [out('a', 1, ['alice']), out('b', 1, ['mallory'])], lastLogTime: T - 60_000 },
      ],
    },
    disputes: { total: 1, shown: [{ buildKey: 'd'.repeat(64), cpv: 'dev-libs/libdemo-1.0', logIndex: 7, firstSeen: T - 60_000, outputs: [out('a', 1, ['alice']), out('b', 1, [`mallory${EVIL}`])] }] },
    queue: {
      counts: { queued: 3, leased: 1, done: 10, failed: 0, refused: 1 },
      asOf: T - 1000,
      shown: [{ id: '4', kind: 'build', cpv: `x/${EVIL}`, use: [ATTR], state: 'refused', priority: 1.5, holder: 'f'.repeat(64), holderOperator: `op${EVIL}`, why: `refused: ${EVIL}`, updatedAt: T }],
    },
    peers: { total: 100_000, roles: [{ role: 'mirror', total: 2, healthy: 1 }], served: 3 * 1024 * 1024, asOf: T - 4000, shown: [{ keyId: '1'.repeat(64), roles: ['mirror'], url: `javascript:alert(3)//${EVIL}`, lastSeen: T - 1000, healthy: false, probeFailures: 3, served: 2048 }] },
    replication: { archives: 5, belowTarget: 2, asOf: T - 4000, shown: [{ sha256: '2'.repeat(64), size: 10240, target: 3, holders: 1, mirrors: 1 }] },
    checkpoint: { size: 14, rootHash: '3'.repeat(64), witnesses: [{ name: `w${EVIL}`, time: T }], publishedSize: 14 },
    samples: {
      intervalMs: 15_000,
      items: [0, 1, 2, 3].map((i) => ({ time: T - (3 - i) * 15_000, queued: 4 - i, leased: 1, peers: 3, served: i * 1024, configs: 2, levels: (i < 2 ? { '1': 2 } : { '1': 1, '3': 1, '4': 1 }) as Record<string, number> })),
    },
  };
}

test('every string a peer supplied is escaped; the only script is the page’s own; peer URLs are text, never links', () => {
  const { html: page } = renderDashboard(reply());
  assert.equal(page.match(/<script/g)?.length, 1, 'one script element: the refresher');
  assert.doesNotMatch(page, /<img/);
  assert.doesNotMatch(page, /<a\s/i, 'no links: a peer URL could be javascript:');
  assert.ok(page.includes(escapeHtml(EVIL)), 'shown, escaped');
  assert.ok(page.includes('bob&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(page.includes('carol&quot;&gt;&lt;img src=x onerror=alert(2)&gt;'));
  assert.ok(page.includes('data-cpv="app-misc/&lt;script&gt;alert(1)&lt;/script&gt;"'), 'attribute values escaped too');
  assert.ok(page.includes('javascript:alert(3)//&lt;script&gt;'));
  assert.ok(page.includes('w&lt;script&gt;alert(1)&lt;/script&gt;'), 'witness name');
  assert.ok(page.includes('op&lt;script&gt;'), 'operator of a job holder');
});

test('totals, trust levels, disputes with both outputs, and "showing N of M"', () => {
  const { html: page } = renderDashboard(reply());
  assert.match(page, /showing 2 of 12,345 configurations/);
  assert.match(page, /showing 1 of 100,000 peers/);
  assert.match(page, /counts as of 4 s ago/);
  assert.match(page, /showing 1 of 15 jobs/);
  assert.match(page, /2 of 5 archives have fewer live holders than their target/);
  assert.match(page, /data-level="3"/);
  assert.match(page, /<span class="disputed">disputed<\/span>/);
  const dispute = page.slice(page.indexOf('id="disputes"'), page.indexOf('id="queue"'));
  assert.ok(dispute.includes('aaaaaaaaaaaaaaaa…') && dispute.includes('bbbbbbbbbbbbbbbb…'), 'both outputs');
  assert.match(page, /at size <b class="checkpoint-size">14<\/b>/);
  assert.match(page, /id="tile-trusted"><b>2<\/b>/, 'levels ≥ 2 of the last sample: 3 and 4');
});

test('charts: one polyline per series with every sample, dots, round axis tops; no samples says so', () => {
  const { html: page } = renderDashboard(reply());
  for (const [id, series] of [['chart-trust', 'level ≥ 3'], ['chart-queue', 'waiting'], ['chart-served', 'served (sum of peer counters)']] as const) {
    const chart = page.slice(page.indexOf(`id="${id}"`));
    const line = new RegExp(`<polyline class="line s\\d" data-series="${series.replace(/[()]/g, '\\$&')}" data-points="4" points="([^"]+)"`).exec(chart);
    assert.ok(line, `${id}: ${series}`);
    assert.equal(line[1]!.split(' ').length, 4);
  }
  const trust = /data-series="level ≥ 3" data-points="4" points="([^"]+)"/.exec(page)![1]!.split(' ').map((p) => Number(p.split(',')[1]));
  assert.ok(trust[0]! > trust[3]!, 'level ≥ 3 rises (SVG y grows downwards)');
  assert.equal(trust[0], trust[1]);
  const empty = lineChart({ id: 'x', title: 't', series: [{ name: 'a', cls: 's1', points: [] }], format: String });
  assert.match(empty.text, /no samples yet/);
  assert.doesNotMatch(empty.text, /<svg/);
  assert.deepEqual([0, 0.3, 1, 3, 7, 12, 99, 101].map(niceCeil), [1, 0.5, 1, 5, 10, 20, 100, 200]);
});

test('the CSP admits exactly the inline style and script, by hash, and no other origin', () => {
  const { html: page, csp } = renderDashboard(reply());
  const style = /<style>([\s\S]*?)<\/style>/.exec(page)![1]!;
  const script = /<script>([\s\S]*?)<\/script>/.exec(page)![1]!;
  const sha = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
  assert.match(csp, /^default-src 'none'; /);
  assert.ok(csp.includes(`style-src ${sha(style)};`));
  assert.ok(csp.includes(`script-src ${sha(script)};`));
  assert.doesNotMatch(csp, /https?:|\*|unsafe/);
  assert.doesNotMatch(page, /\sstyle="/, 'no style attributes (the CSP forbids them)');
  assert.doesNotMatch(page, /https?:\/\/(?!127\.0\.0\.1)/, 'nothing from anywhere');
});

test('html``: values escaped, Html nested as is, arrays joined, null/false empty; byte sizes', () => {
  assert.equal(html`<p title="${'"x"'}">${'<b>'}${raw('<i>')}${[1, html`<br>`]}${null}${false}${undefined}</p>`.text, '<p title="&quot;x&quot;">&lt;b&gt;<i>1<br></p>');
  assert.equal(escapeHtml(`&<>"'`), '&amp;&lt;&gt;&quot;&#39;');
  assert.deepEqual([0, 1023, 1536, 10 * 1024 * 1024, 3 * 1024 ** 4].map(bytes), ['0 B', '1023 B', '1.5 KiB', '10 MiB', '3.0 TiB']);
});
