import type { Hono } from "hono";
import type { GatewayBindings } from "../types";

/**
 * `GET /console`: the console's page. Its script and styles are static assets (`/console/app.js`,
 * `/console/app.css`, uPlot under `/console/vendor/`, copied from the `uplot` package by
 * scripts/docs-assets.mjs); the page is served here to carry a CSP that lets it load and call
 * nothing but its own origin, and frames nothing. Routing inside it is by `#/…`, so no other path exists.
 */
const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const CONSOLE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Edge LLM Gateway — console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/vendor/uPlot.min.css">
<link rel="stylesheet" href="/console/app.css">
</head>
<body><header><strong>Edge LLM Gateway</strong><nav id="nav"></nav><span id="who"></span></header>
<main id="main"><p>Loading…</p></main>
<script src="/console/vendor/uPlot.iife.min.js"></script>
<script src="/console/app.js"></script>
</body></html>`;

export function registerConsolePage(app: Hono<GatewayBindings>): void {
  for (const path of ["/console", "/console/"]) {
    app.get(path, (c) =>
      c.html(CONSOLE_HTML, 200, {
        "content-security-policy": CONSOLE_CSP,
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
        "cache-control": "no-store",
      }),
    );
  }
}
