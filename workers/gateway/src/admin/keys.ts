import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { ApiKey as ApiKeyT, CreatedApiKey as CreatedT, ListPage, RotatedApiKey as RotatedT } from "../../../shared/src/contracts/auth";
import { parseOrThrow } from "../../../shared/src";
import { KeyRotateSchema } from "../../../shared/src/contracts/auth";
import { optionalJson } from "../keys";
import { evictCachedPrincipals } from "../middleware/api-key";
import type { GatewayBindings } from "../types";
import { ADMIN_SECURITY, errorResponses, jsonBody, jsonResponse, unwrap } from "./openapi";
import { adminContext } from "./rpc";
import { ApiKey, ApiKeyList, CreatedApiKey, KeyCreate, KeyIdParam, KeyUpdate, ListQuery, RotatedApiKey, TenantIdParam } from "./schemas";

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

const get = createRoute({
  ...common,
  method: "get",
  path: "/admin/keys/{id}",
  summary: "Get a key (never its secret)",
  request: { params: KeyIdParam },
  responses: { 200: jsonResponse(ApiKey, "The key"), ...errorResponses(401, 404, 503) },
});

const patch = createRoute({
  ...common,
  method: "patch",
  path: "/admin/keys/{id}",
  summary: "Change a key's name, scopes, models, expiry, limits or budget",
  request: { params: KeyIdParam, ...jsonBody(KeyUpdate) },
  responses: { 200: jsonResponse(ApiKey, "The updated key"), ...errorResponses(400, 401, 404, 409, 503) },
});

const revoke = createRoute({
  ...common,
  method: "delete",
  path: "/admin/keys/{id}",
  summary: "Revoke a key (refused from the next request on)",
  request: { params: KeyIdParam },
  responses: { 200: jsonResponse(ApiKey, "The revoked key"), ...errorResponses(401, 404, 503) },
});

const rotate = createRoute({
  ...common,
  method: "post",
  path: "/admin/keys/{id}/rotate",
  summary: "Give a key a new secret; the previous one works for a grace period",
  description: "`grace_period_seconds` defaults to 3600 (at most 604800; 0 ends the previous secret at once). The body may be omitted.",
  request: { params: KeyIdParam },
  responses: { 200: jsonResponse(RotatedApiKey, "The key, with its new secret"), ...errorResponses(400, 401, 404, 409, 503) },
});

export function registerKeyRoutes(app: OpenAPIHono<GatewayBindings>): void {
  app.openapi(create, async (c) => {
    const key = unwrap(await c.env.AUTH.createKey(adminContext(c), c.req.valid("param").id, c.req.valid("json"))) as CreatedT;
    c.header("cache-control", "no-store");
    return c.json(key, 201);
  });

  app.openapi(list, async (c) => {
    const page = unwrap(await c.env.AUTH.listKeys(adminContext(c), c.req.valid("param").id, c.req.valid("query"))) as ListPage<ApiKeyT>;
    return c.json(page, 200);
  });

  app.openapi(get, async (c) => {
    const key = unwrap(await c.env.AUTH.getKey(adminContext(c), c.req.valid("param").id)) as ApiKeyT;
    return c.json(key, 200);
  });

  app.openapi(patch, async (c) => {
    const id = c.req.valid("param").id;
    const key = unwrap(await c.env.AUTH.updateKey(adminContext(c), id, c.req.valid("json"))) as ApiKeyT;
    evictCachedPrincipals({ keyId: id });
    return c.json(key, 200);
  });

  app.openapi(revoke, async (c) => {
    const id = c.req.valid("param").id;
    const key = unwrap(await c.env.AUTH.revokeKey(adminContext(c), id)) as ApiKeyT;
    evictCachedPrincipals({ keyId: id });
    return c.json(key, 200);
  });

  app.openapi(rotate, async (c) => {
    const id = c.req.valid("param").id;
    const key = unwrap(await c.env.AUTH.rotateKey(adminContext(c), id, parseOrThrow(KeyRotateSchema, await optionalJson(c.req.raw)))) as RotatedT;
    evictCachedPrincipals({ keyId: id });
    c.header("cache-control", "no-store");
    return c.json(key, 200);
  });
}
