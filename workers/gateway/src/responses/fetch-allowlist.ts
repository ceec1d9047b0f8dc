import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { hasScope, requireScope } from "../../../shared/src";
import { HttpFetchAllowlistSchema, HttpFetchAllowlistUpdateSchema, MAX_ALLOWLIST_DOMAINS } from "../../../shared/src/contracts/http-fetch";
import { API_KEY_SECURITY, errorResponses, jsonBody, jsonResponse, unwrap } from "../admin/openapi";
import { boundedBody } from "../middleware/body";
import type { GatewayBindings } from "../types";

/**
 * The tenant's domain allow-list of the built-in `http_fetch` tool of `/v1/agentic` runs. tail owns
 * it (D1 `tail`) and verifies the key's principal token again; the gateway checks the scope first.
 * The API-key middleware of `/v1/agentic/*` (responses/routes.ts) authenticates the caller.
 */
export const HTTP_FETCH_ALLOWLIST_PATH = "/v1/agentic/http_fetch/allowlist";

const Allowlist = HttpFetchAllowlistSchema.openapi("HttpFetchAllowlist");
const Update = HttpFetchAllowlistUpdateSchema.openapi("HttpFetchAllowlistUpdate");
const common = { tags: ["agentic"], security: API_KEY_SECURITY, path: HTTP_FETCH_ALLOWLIST_PATH };

const read = createRoute({
  ...common,
  method: "get",
  summary: "Read your tenant's http_fetch domain allow-list",
  description: "Needs `chat`, `providers:read` or `providers:write`. Never set: `domains: []` and `updated_at: null` (every fetch is refused).",
  responses: { 200: jsonResponse(Allowlist, "The allow-list"), ...errorResponses(401, 403, 503) },
});

const replace = createRoute({
  ...common,
  method: "put",
  summary: "Replace your tenant's http_fetch domain allow-list",
  description:
    `Needs \`providers:write\` (never granted by default): like a provider's URL, the list decides where the gateway sends requests for you. ` +
    `At most ${MAX_ALLOWLIST_DOMAINS} entries: \`api.example.com\` (that host exactly) or \`*.example.com\` (every host below example.com). ` +
    'A run\'s `http_fetch` tool (`{"type":"http_fetch"}` in `tools` of `POST /v1/agentic`) fetches only URLs on these hosts, each hop of a redirect ' +
    "checked again against the list and the SSRF guard (https on a public host; private, loopback and metadata addresses refused).",
  request: jsonBody(Update),
  responses: { 200: jsonResponse(Allowlist, "The allow-list as stored"), ...errorResponses(400, 401, 403, 503) },
});

export function registerHttpFetchAllowlist(app: OpenAPIHono<GatewayBindings>): void {
  const scoped: MiddlewareHandler<GatewayBindings> = async (c, next) => {
    const principal = c.get("principal");
    if (c.req.method === "GET" && (["chat", "providers:read"] as const).some((s) => hasScope(principal, s))) return next();
    requireScope(principal, "providers:write");
    await next();
  };
  app.use(HTTP_FETCH_ALLOWLIST_PATH, scoped);
  app.use(HTTP_FETCH_ALLOWLIST_PATH, boundedBody());
  app.openapi(read, async (c) => c.json(unwrap(await c.env.TAIL.getHttpFetchAllowlist(c.get("principal").token)), 200));
  app.openapi(replace, async (c) => c.json(unwrap(await c.env.TAIL.setHttpFetchAllowlist(c.get("principal").token, c.req.valid("json"))), 200));
}
