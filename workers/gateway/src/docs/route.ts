import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayBindings } from "../types";

/**
 * `GET /openapi.json` is generated from the same zod route definitions that validate requests, so
 * the document cannot drift from the code. `GET /docs` renders it without any CDN asset, so it
 * works offline and under a strict CSP.
 */
export function registerDocs(app: OpenAPIHono<GatewayBindings>): void {
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Edge LLM Gateway",
      version: "0.1.0",
      description:
        "OpenAI-compatible API for every provider. Errors always have the shape " +
        '`{"error":{"message","type","param","code"}}` and every response carries the gateway\'s own `x-request-id`; a client\'s own id (`x-client-request-id` or `x-request-id`) is echoed in `x-client-request-id`.',
    },
  });
  app.get("/docs", (c) => c.html(DOCS_HTML));
}

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Edge LLM Gateway — API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:960px;padding:0 1rem;color:#111}
h1{margin-bottom:.2rem} .op{border:1px solid #ddd;border-radius:6px;margin:.6rem 0;padding:.5rem .8rem}
.m{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}
.get{color:#0a6}.post{color:#06c}.patch{color:#a60}.delete{color:#c22}
code,pre{background:#f5f5f5;border-radius:4px;padding:0 .25rem} pre{padding:.5rem;overflow:auto;font-size:12px}
details summary{cursor:pointer;color:#555}
</style></head>
<body><h1>Edge LLM Gateway</h1><p id="desc"></p><p><a href="/openapi.json">openapi.json</a></p><div id="ops">Loading…</div>
<script>
fetch('/openapi.json').then(r=>r.json()).then(doc=>{
  document.getElementById('desc').textContent=doc.info.description||'';
  const ops=document.getElementById('ops');ops.textContent='';
  for(const [path,item] of Object.entries(doc.paths)){
    for(const [method,op] of Object.entries(item)){
      const d=document.createElement('div');d.className='op';
      const h=document.createElement('div');
      const m=document.createElement('span');m.className='m '+method;m.textContent=method;
      const p=document.createElement('code');p.textContent=path;
      const s=document.createElement('span');s.textContent=' — '+(op.summary||'');
      h.append(m,p,s);d.append(h);
      const det=document.createElement('details');const sum=document.createElement('summary');
      sum.textContent='responses: '+Object.keys(op.responses||{}).join(', ');
      const pre=document.createElement('pre');pre.textContent=JSON.stringify(op,null,2);
      det.append(sum,pre);d.append(det);ops.append(d);
    }
  }
});
</script></body></html>`;
