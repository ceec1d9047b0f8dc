import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { ApiKey as ApiKeyT, CreatedApiKey as CreatedT, ListPage } from "../../../shared/src/contracts/auth";
import { registerKeyByIdRoutes } from "../keys/by-id";
import type { GatewayBindings } from "../types";
import { ADMIN_SECURITY, errorResponses, jsonBody, jsonResponse, unwrap } from "./openapi";
import { adminContext } from "./rpc";
import { ApiKeyList, CreatedApiKey, KeyCreate, ListQuery, TenantIdParam } from "./schemas";

const common = { tags: ["admin: keys"], security: ADMIN_SECURITY };

const create = createRoute({
  ...common,
  method: "post",
  path: "/admin/tenants/{id}/keys",
  summary: "Create an API key for a tenant (the plaintext key is returned once)",
  description:
    "Defaults: every scope except `keys:write`, every model, no key-level limits or budget, no expiry. " +
    "`models` are globs (`*` = any characters) matched against the model name the client sends.",
  request: { params: TenantIdParam, ...jsonBody(KeyCreate) },
  responses: { 201: jsonResponse(CreatedApiKey, "The key, with its secret"), ...errorResponses(400, 401, 404, 409, 503) },
});

const list = createRoute({
  ...common,
  method: "get",
  path: "/admin/tenants/{id}/keys",
  summary: "List a tenant's keys, newest first (never their secrets)",
  request: { params: TenantIdParam, query: ListQuery },
  responses: { 200: jsonResponse(ApiKeyList, "A page of keys"), ...errorResponses(400, 401, 404, 503) },
});

export function registerKeyRoutes(app: OpenAPIHono<GatewayBindings>): void {
  app.openapi(create, async (c) => {
    const key = unwrap(await c.env.AUTH.createKey(adminContext(c), c.req.valid("param").id, c.req.valid("json")));
    c.header("cache-control", "no-store");
    return c.json(key, 201);
  });

  app.openapi(list, async (c) => {
    const page = unwrap(await c.env.AUTH.listKeys(adminContext(c), c.req.valid("param").id, c.req.valid("query")));
    return c.json(page, 200);
  });

  registerKeyByIdRoutes(app, {
    base: "/admin/keys",
    ...common,
    credentialErrors: [401],
    summaries: {
      get: "Get a key (never its secret)",
      patch: "Change a key's name, scopes, models, expiry, limits or budget",
      revoke: "Revoke a key (refused from the next request on)",
      rotate: "Give a key a new secret; the previous one works for a grace period",
    },
    rotateDescription: "`grace_period_seconds` defaults to 3600 (at most 604800; 0 ends the previous secret at once). The body may be omitted.",
    context: adminContext,
  });
}
