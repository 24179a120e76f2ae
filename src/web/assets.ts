import { createHash } from "node:crypto";

/*
 * The page's only style sheet and script, served by the service itself (no CDN, no build step) at a
 * path holding their hash, so a browser may cache them for good and a new version is a new URL.
 */

const CSS = `
:root{color-scheme:light dark;--bg:#f7f7f8;--fg:#1b1d21;--muted:#5b616b;--card:#fff;--line:#d9dce1;--link:#0b57d0;
--s-open:#dbeafe;--s-suppressed:#e5e7eb;--s-fixing:#fde68a;--s-pr_open:#e9d5ff;--s-verifying:#ccfbf1;--s-needs_human:#fecaca;
--s-resolved:#bbf7d0;--s-dismissed:#e5e7eb;--s-bad:#fecaca;--s-warn:#fed7aa;--s-good:#bbf7d0;--s-neutral:#e5e7eb}
@media (prefers-color-scheme:dark){:root{--bg:#121417;--fg:#e6e8eb;--muted:#a3a9b3;--card:#1b1e23;--line:#343a42;--link:#8ab4f8;
--s-open:#1e3a8a;--s-suppressed:#374151;--s-fixing:#713f12;--s-pr_open:#581c87;--s-verifying:#134e4a;--s-needs_human:#7f1d1d;
--s-resolved:#14532d;--s-dismissed:#374151;--s-bad:#7f1d1d;--s-warn:#7c2d12;--s-good:#14532d;--s-neutral:#374151}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
a{color:var(--link)}
header.top{display:flex;gap:1rem;align-items:center;justify-content:space-between;padding:.6rem 1rem;border-bottom:1px solid var(--line);background:var(--card)}
header.top .brand{font-weight:600;color:var(--fg);text-decoration:none}
header.top form{margin:0}
main{max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.35rem;margin:.2rem 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin:1.6rem 0 .6rem}
.banner{padding:.7rem 1rem;border-radius:8px;background:var(--card);border:1px solid var(--line);font-weight:600}
.banner.quiet{border-left:6px solid #16a34a}.banner.busy{border-left:6px solid #d97706}.banner.alarm{border-left:6px solid #dc2626}
.flash{padding:.6rem 1rem;border-radius:8px;border:1px solid var(--line);background:var(--card);margin-bottom:1rem}
.flash.error{border-left:6px solid #dc2626}.flash.ok{border-left:6px solid #16a34a}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.8rem 1rem;min-width:0}
.card h2{margin-top:0}
main>section.card{margin-top:1rem}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:8px}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
th{font-size:.85rem;color:var(--muted);font-weight:600}
.state{display:inline-block;padding:0 .45rem;border-radius:4px;font-size:.85rem;white-space:nowrap;background:var(--s-neutral);color:var(--fg)}
.state-open{background:var(--s-open)}.state-suppressed{background:var(--s-suppressed)}.state-fixing{background:var(--s-fixing)}
.state-pr_open{background:var(--s-pr_open)}.state-verifying{background:var(--s-verifying)}.state-needs_human{background:var(--s-needs_human)}
.state-resolved{background:var(--s-resolved)}.state-dismissed{background:var(--s-dismissed)}
.state-firing,.state-failed,.state-fail,.state-timed_out,.state-refused,.state-denied,.state-error,.state-validation_failed{background:var(--s-bad)}
.state-warn,.state-running,.state-queued,.state-cancelled{background:var(--s-warn)}
.state-ok,.state-passed,.state-pr_opened,.state-completed,.state-merged,.state-finished{background:var(--s-good)}
.muted{color:var(--muted)}
.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:.8rem 0}
label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted);gap:.15rem}
input,select,textarea,button{font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:.35rem .55rem}
button{cursor:pointer;background:var(--card)}
button.primary{background:#0b57d0;color:#fff;border-color:#0b57d0}
.actions{display:flex;flex-wrap:wrap;gap:1rem;align-items:end}
.actions form{display:flex;flex-wrap:wrap;gap:.4rem;align-items:end;margin:0}
ol.timeline{list-style:none;margin:0;padding:0;border-left:2px solid var(--line)}
ol.timeline li{margin:0 0 .7rem;padding:.1rem 0 .1rem .9rem;position:relative}
ol.timeline li::before{content:"";position:absolute;left:-6px;top:.6rem;width:10px;height:10px;border-radius:50%;background:var(--line)}
ol.timeline li.refused::before{background:#dc2626}
.kind{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem}
.msg{white-space:pre-wrap;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:.5rem .7rem;margin:.3rem 0;font-size:.85rem;max-height:32rem;overflow:auto}
details{margin:.3rem 0}summary{cursor:pointer}
.entry{border:1px solid var(--line);border-radius:8px;padding:.5rem .8rem;margin:.5rem 0;background:var(--card)}
.entry.refused{border-left:6px solid #dc2626}
.labels{display:flex;flex-wrap:wrap;gap:.3rem;margin:.3rem 0}
.labels code{background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:0 .3rem;font-size:.8rem;overflow-wrap:anywhere}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
.pager{display:flex;gap:1rem;margin:.8rem 0}
.signin{max-width:360px;margin:12vh auto;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1.2rem}
.signin form{display:flex;flex-direction:column;gap:.7rem}
@media (max-width:600px){
 main{padding:.6rem}
 table.stack,table.stack tbody{display:block;width:100%}
 table.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
 table.stack tr{display:flex;flex-wrap:wrap;align-items:baseline;gap:.15rem .7rem;border-bottom:1px solid var(--line);padding:.55rem .7rem}
 table.stack td{display:block;border:0;padding:0}
 table.stack td.lead{order:-1;width:100%;font-weight:600}
 table.stack td[data-label]::before{content:attr(data-label) " ";color:var(--muted);font-size:.8rem}
 .grid{grid-template-columns:1fr}
 dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.3rem}
}
`;

// Optional: shows timestamps in the browser's zone, and reloads a page that asks for it while nobody is
// typing or reading an opened detail. Without it every page works the same, in UTC.
const JS = `"use strict";
(function(){
  var f=new Intl.DateTimeFormat(undefined,{year:"numeric",month:"short",day:"numeric",hour:"2-digit",minute:"2-digit"});
  document.querySelectorAll("time[datetime]").forEach(function(t){
    var d=new Date(t.getAttribute("datetime"));
    if(!isNaN(d.getTime())) t.textContent=f.format(d);
  });
  var s=Number(document.body.getAttribute("data-refresh"));
  if(!(s>0)) return;
  setInterval(function(){
    var a=document.activeElement;
    var busy=a&&/^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName);
    if(!busy&&!document.hidden&&!document.querySelector("details[open]")) location.reload();
  },s*1000);
})();
`;

const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 12);

/** The static files by their path. */
export const ASSETS = {
  css: { path: `/static/style-${hash(CSS)}.css`, body: CSS, type: "text/css; charset=utf-8" },
  js: { path: `/static/app-${hash(JS)}.js`, body: JS, type: "text/javascript; charset=utf-8" },
} as const;
