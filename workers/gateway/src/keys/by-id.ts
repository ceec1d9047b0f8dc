import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { parseOrThrow } from "../../../shared/src";
import { KeyRotateSchema, type ApiKey as ApiKeyT, type AuthCallContext, type RotatedApiKey as RotatedT } from "../../../shared/src/contracts/auth";
import { errorResponses, jsonBody, jsonResponse, unwrap } from "../admin/openapi";
import { ApiKey, KeyIdParam, KeyUpdate, RotatedApiKey } from "../admin/schemas";
import { releaseRemovedBudget } from "../limits/release";
import { evictCachedPrincipals } from "../middleware/api-key";
import type { GatewayBindings } from "../types";
import { optionalJson } from "./optional-json";

/**
 * One key by id — get, change, revoke, rotate — is served the same way at `/admin/keys/{id}`
 * (admin token) and at `/v1/keys/{id}` (a tenant's own `keys:write` key). The two differ only in
 * where the routes live, how they are documented and who acts: the call context from which auth,
 * the callee, decides what the actor may see and change. Every change drops this isolate's cached
 * principals for the key at once; an answer carrying a new secret is never cached.
 */
export interface KeyByIdRoutes {
  /** The collection path the `/{id}` routes hang off: `/admin/keys` or `/v1/keys`. */
  base: string;
  tags: string[];
  security: Record<string, string[]>[];
  /** The credential errors documented on every route: 401, and 403 where the caller's own permissions can refuse. */
  credentialErrors: (401 | 403)[];
  summaries: { get: string; patch: string; revoke: string; rotate: string };
  /** How the rotate route documents its optional body. */
  rotateDescription: string;
  /** Who acts, as auth is told. */
  context: (c: Context<GatewayBindings>) => AuthCallContext;
}

export function registerKeyByIdRoutes(app: OpenAPIHono<GatewayBindings>, o: KeyByIdRoutes): void {
  const common = { tags: o.tags, security: o.security };
  const path = `${o.base}/{id}`;
  const denied = o.credentialErrors;

  const get = createRoute({
    ...common,
    method: "get",
    path,
    summary: o.summaries.get,
    request: { params: KeyIdParam },
    responses: { 200: jsonResponse(ApiKey, "The key"), ...errorResponses(...denied, 404, 503) },
  });

  const patch = createRoute({
    ...common,
    method: "patch",
    path,
    summary: o.summaries.patch,
    request: { params: KeyIdParam, ...jsonBody(KeyUpdate) },
    responses: { 200: jsonResponse(ApiKey, "The updated key"), ...errorResponses(400, ...denied, 404, 409, 503) },
  });

  const revoke = createRoute({
    ...common,
    method: "delete",
    path,
    summary: o.summaries.revoke,
    request: { params: KeyIdParam },
    responses: { 200: jsonResponse(ApiKey, "The revoked key"), ...errorResponses(...denied, 404, 503) },
  });

  const rotate = createRoute({
    ...common,
    method: "post",
    path: `${path}/rotate`,
    summary: o.summaries.rotate,
    description: o.rotateDescription,
    request: { params: KeyIdParam },
    responses: { 200: jsonResponse(RotatedApiKey, "The key, with its new secret"), ...errorResponses(400, ...denied, 404, 409, 503) },
  });

  app.openapi(get, async (c) => {
    const key = unwrap(await c.env.AUTH.getKey(o.context(c), c.req.valid("param").id));
    return c.json(key, 200);
  });

  app.openapi(patch, async (c) => {
    const id = c.req.valid("param").id;
    const update = c.req.valid("json");
    const key = unwrap(await c.env.AUTH.updateKey(o.context(c), id, update));
    evictCachedPrincipals({ keyId: id });
    await releaseRemovedBudget(c.env, update.budget, { keyId: id, tenantId: key.tenant_id });
    return c.json(key, 200);
  });

  app.openapi(revoke, async (c) => {
    const id = c.req.valid("param").id;
    const key = unwrap(await c.env.AUTH.revokeKey(o.context(c), id));
    evictCachedPrincipals({ keyId: id });
    return c.json(key, 200);
  });

  app.openapi(rotate, async (c) => {
    const id = c.req.valid("param").id;
    const body = parseOrThrow(KeyRotateSchema, await optionalJson(c.req.raw));
    const key = unwrap(await c.env.AUTH.rotateKey(o.context(c), id, body));
    evictCachedPrincipals({ keyId: id });
    c.header("cache-control", "no-store");
    return c.json(key, 200);
  });
}
