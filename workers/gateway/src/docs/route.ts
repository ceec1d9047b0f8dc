import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayBindings } from "../types";
import { DOCUMENT_TAGS } from "./tags";

/**
 * `GET /openapi.json` is generated from the same zod route definitions that validate requests, so
 * the document cannot drift from the code. `GET /docs` renders it with Swagger UI, served from the
 * gateway's own static assets (`/docs/vendor/…`, `/docs/init.js`; see the root wrangler.toml): no
 * CDN, so it works offline, and the page's CSP lets it load nothing from another origin.
 */
export function registerDocs(app: OpenAPIHono<GatewayBindings>): void {
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Edge LLM Gateway",
      version: "0.1.0",
      description:
        "OpenAI-compatible API for every provider, and Anthropic's Messages API beside it. Errors always have the shape " +
        '`{"error":{"message","type","param","code"}}` (Anthropic\'s `{"type":"error","error":{"type","message"}}` under `/v1/messages`) ' +
        "and every response carries the gateway's own `x-request-id`; a client's own id (`x-client-request-id` or `x-request-id`) is echoed in `x-client-request-id`.",
    },
    tags: DOCUMENT_TAGS,
  });
  app.get("/docs", (c) => c.html(DOCS_HTML, 200, { "content-security-policy": DOCS_CSP }));
}

/** Same origin only; Swagger UI sets inline styles, and shows data: images (its icons). */
const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'";

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Edge LLM Gateway — API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/vendor/swagger-ui.css">
</head>
<body><div id="swagger-ui"></div>
<script src="/docs/vendor/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>`;
