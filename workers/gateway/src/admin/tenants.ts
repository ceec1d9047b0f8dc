import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { ListPage, Tenant as TenantT } from "../../../shared/src/contracts/auth";
import { releaseRemovedBudget } from "../limits/release";
import { evictCachedPrincipals } from "../middleware/api-key";
import type { GatewayBindings } from "../types";
import { ADMIN_SECURITY, errorResponses, jsonBody, jsonResponse, unwrap } from "./openapi";
import { adminContext } from "./rpc";
import { ListQuery, Tenant, TenantCreate, TenantIdParam, TenantList, TenantUpdate } from "./schemas";

const common = { tags: ["admin: tenants"], security: ADMIN_SECURITY };

const create = createRoute({
  ...common,
  method: "post",
  path: "/admin/tenants",
  summary: "Create a tenant",
  request: jsonBody(TenantCreate),
  responses: { 201: jsonResponse(Tenant, "The new tenant"), ...errorResponses(400, 401, 503) },
});

const list = createRoute({
  ...common,
  method: "get",
  path: "/admin/tenants",
  summary: "List tenants, newest first",
  request: { query: ListQuery },
  responses: { 200: jsonResponse(TenantList, "A page of tenants"), ...errorResponses(400, 401, 503) },
});

const get = createRoute({
  ...common,
  method: "get",
  path: "/admin/tenants/{id}",
  summary: "Get a tenant",
  request: { params: TenantIdParam },
  responses: { 200: jsonResponse(Tenant, "The tenant"), ...errorResponses(401, 404, 503) },
});

const patch = createRoute({
  ...common,
  method: "patch",
  path: "/admin/tenants/{id}",
  summary: "Rename a tenant or set its tenant-wide limits and budget",
  description: "Each limit/budget axis given is set; `null` clears it; absent axes are kept. Takes effect on each key's next authentication.",
  request: { params: TenantIdParam, ...jsonBody(TenantUpdate) },
  responses: { 200: jsonResponse(Tenant, "The updated tenant"), ...errorResponses(400, 401, 404, 503) },
});

const remove = createRoute({
  ...common,
  method: "delete",
  path: "/admin/tenants/{id}",
  summary: "Disable a tenant and revoke all of its keys",
  responses: { 200: jsonResponse(Tenant, "The disabled tenant"), ...errorResponses(401, 404, 503) },
  request: { params: TenantIdParam },
});

export function registerTenantRoutes(app: OpenAPIHono<GatewayBindings>): void {
  app.openapi(create, async (c) => {
    const tenant = unwrap(await c.env.AUTH.createTenant(adminContext(c), c.req.valid("json")));
    return c.json(tenant, 201);
  });

  app.openapi(list, async (c) => {
    const page = unwrap(await c.env.AUTH.listTenants(adminContext(c), c.req.valid("query")));
    return c.json(page, 200);
  });

  app.openapi(get, async (c) => {
    const tenant = unwrap(await c.env.AUTH.getTenant(adminContext(c), c.req.valid("param").id));
    return c.json(tenant, 200);
  });

  app.openapi(patch, async (c) => {
    const id = c.req.valid("param").id;
    const update = c.req.valid("json");
    const tenant = unwrap(await c.env.AUTH.updateTenant(adminContext(c), id, update));
    evictCachedPrincipals({ tenantId: id });
    await releaseRemovedBudget(c.env, update.budget, { tenantId: id });
    return c.json(tenant, 200);
  });

  app.openapi(remove, async (c) => {
    const id = c.req.valid("param").id;
    const tenant = unwrap(await c.env.AUTH.disableTenant(adminContext(c), id));
    evictCachedPrincipals({ tenantId: id });
    return c.json(tenant, 200);
  });
}
