import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { requireScope } from "../../../shared/src";
import type { ApiKey as ApiKeyT, CreatedApiKey as CreatedT, ListPage } from "../../../shared/src/contracts/auth";
import { API_KEY_SECURITY, errorResponses, jsonBody, jsonResponse, unwrap } from "../admin/openapi";
import { keyContext } from "../admin/rpc";
import { ApiKeyList, CreatedApiKey, KeyCreate, ListQuery } from "../admin/schemas";
import { apiKeyAuth } from "../middleware/api-key";
import { boundedBody } from "../middleware/body";
import { registerKeyByIdRoutes } from "./by-id";
import type { GatewayBindings } from "../types";

export { optionalJson } from "./optional-json";

/**
 * `/v1/keys`: a tenant manages its own keys with a key that holds `keys:write`. It sees only its
 * tenant's keys (another tenant's key id is a 404) and can never grant more than it holds itself:
 * scopes, model globs, limits, budget and expiry are bounded by the calling key's own (auth
 * enforces this, the callee, from the verified principal token and D1).
 */
const common = { tags: ["keys"], security: API_KEY_SECURITY };

const list = createRoute({
  ...common,
  method: "get",
  path: "/v1/keys",
  summary: "List your tenant's API keys (never their secrets)",
  request: { query: ListQuery },
  responses: { 200: jsonResponse(ApiKeyList, "A page of keys"), ...errorResponses(400, 401, 403, 503) },
});

const create = createRoute({
  ...common,
  method: "post",
  path: "/v1/keys",
  summary: "Create a key for your tenant, within the calling key's own permissions",
  description: "Unspecified fields default to the calling key's own bounds (scopes except `keys:write`, models, limits, budget, expiry).",
  request: jsonBody(KeyCreate),
  responses: { 201: jsonResponse(CreatedApiKey, "The key, with its secret (shown once)"), ...errorResponses(400, 401, 403, 503) },
});

export function registerKeys(app: OpenAPIHono<GatewayBindings>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "ApiKey", {
    type: "http",
    scheme: "bearer",
    description: "A tenant API key (`sk-<env>-…`), as `Authorization: Bearer` (or `x-api-key`).",
  });
  app.use("/v1/keys", apiKeyAuth());
  app.use("/v1/keys/*", apiKeyAuth());
  // Scope check before body validation, so a key without `keys:write` learns nothing more.
  const writer: MiddlewareHandler<GatewayBindings> = async (c, next) => {
    requireScope(c.get("principal"), "keys:write");
    await next();
  };
  app.use("/v1/keys", writer);
  app.use("/v1/keys/*", writer);
  app.use("/v1/keys", boundedBody());
  app.use("/v1/keys/*", boundedBody());

  app.openapi(list, async (c) => {
    const p = c.get("principal");
    const page = unwrap(await c.env.AUTH.listKeys(keyContext(c), p.tenantId, c.req.valid("query")));
    return c.json(page, 200);
  });

  app.openapi(create, async (c) => {
    const p = c.get("principal");
    const key = unwrap(await c.env.AUTH.createKey(keyContext(c), p.tenantId, c.req.valid("json")));
    c.header("cache-control", "no-store");
    return c.json(key, 201);
  });

  registerKeyByIdRoutes(app, {
    base: "/v1/keys",
    ...common,
    credentialErrors: [401, 403],
    summaries: {
      get: "Get one of your tenant's keys",
      patch: "Change one of your tenant's keys, within the calling key's own permissions",
      revoke: "Revoke one of your tenant's keys",
      rotate: "Give one of your tenant's keys a new secret; the previous one works for a grace period",
    },
    rotateDescription: "Optional JSON body `{grace_period_seconds}`: default 3600, at most 604800; 0 ends the previous secret at once.",
    context: keyContext,
  });
}
