/**
 * The dashboard's only stylesheet and script, inline, and the
 * Content-Security-Policy that admits exactly these two by hash: no other
 * origin, no other inline code, so even markup that escaped escaping could
 * not run a script or load anything.
 */
import { createHash } from 'node:crypto';

export const STYLE = `
:root{--bg:#f7f7f5;--fg:#1d1f21;--mute:#6b6f76;--line:#d9dbde;--card:#fff;--s1:#b0b6be;--s2:#e0a526;--s3:#2f9e44;--s4:#1c7ed6;--bad:#d6336c}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;background:var(--bg);color:var(--fg)}
header{padding:14px 24px;background:#20232a;color:#fff;display:flex;flex-wrap:wrap;gap:8px 24px;align-items:baseline}
header h1{font-size:18px;margin:0}header .meta{color:#b8bcc4;font-size:12px}
main{padding:16px 24px;display:grid;gap:16px}
section{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:12px 16px;overflow-x:auto}
h2{font-size:15px;margin:0 0 8px}h2 .count{font-weight:normal;color:var(--mute);font-size:12px;margin-left:8px}
.tiles{display:flex;flex-wrap:wrap;gap:12px}.tile{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:120px}
.tile b{display:block;font-size:20px}.tile span{color:var(--mute);font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{margin:0}.chart figcaption{font-weight:600;margin-bottom:4px}
.grid{stroke:var(--line);stroke-width:1}.tick{fill:var(--mute);font-size:10px}
.line{fill:none;stroke-width:2}.line.s1{stroke:var(--s1)}.line.s2{stroke:var(--s2)}.line.s3{stroke:var(--s3)}.line.s4{stroke:var(--s4)}
.pt.s1{fill:var(--s1)}.pt.s2{fill:var(--s2)}.pt.s3{fill:var(--s3)}.pt.s4{fill:var(--s4)}
.legend{list-style:none;margin:4px 0 0;padding:0;display:flex;gap:12px;font-size:12px;color:var(--mute)}
.key{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.key.s1{background:var(--s1)}.key.s2{background:var(--s2)}.key.s3{background:var(--s3)}.key.s4{background:var(--s4)}
.empty{color:var(--mute);font-style:italic}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--mute);font-weight:600;font-size:12px}td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.level{display:inline-block;min-width:22px;text-align:center;border-radius:10px;padding:0 7px;font-weight:700;color:#fff;background:var(--s1)}
.level.l2{background:var(--s2)}.level.l3{background:var(--s3)}
.tag{display:inline-block;border:1px solid var(--line);border-radius:3px;padding:0 4px;margin:1px 2px;font-size:12px}
.disputed{color:var(--bad);font-weight:700}.ok{color:var(--s3)}.down{color:var(--bad)}
.state-leased{color:var(--s4);font-weight:600}.state-failed,.state-refused{color:var(--bad)}
.bar-bg{fill:var(--line)}.bar-ok{fill:var(--s3)}.bar-low{fill:var(--bad)}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
`;

/** Re-fetches the page every `data-refresh` ms and swaps <main> (no reload, keeps the scroll position). */
export const SCRIPT = `(()=>{const ms=Number(document.body.dataset.refresh||0);if(!ms)return;setInterval(async()=>{try{const r=await fetch(location.href,{cache:'no-store'});if(!r.ok)return;const d=new DOMParser().parseFromString(await r.text(),'text/html');const n=d.querySelector('main'),o=document.querySelector('main');if(n&&o)o.replaceWith(n);const h=d.querySelector('header'),g=document.querySelector('header');if(h&&g)g.replaceWith(h);}catch(e){}},ms);})();`;

const sha = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/** default-src 'none': fetches go to this origin only; images only data: (the empty favicon). */
export const CSP = [
  "default-src 'none'",
  `style-src ${sha(STYLE)}`,
  `script-src ${sha(SCRIPT)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
