import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { errorResponses, jsonBody, jsonResponse, unwrap } from "../admin/openapi";
import type { GatewayBindings } from "../types";
import { auditProviderChange, changedFields, routeDetails } from "./audit";
import { ownerOf } from "./owner";
import { Deleted, IdParam, Route, RouteCreate, RouteList, RouteUpdate } from "./schemas";

const SECURITY: Record<string, string[]>[] = [{ AdminToken: [] }, { ApiKey: [] }];
const common = { tags: ["routes"], security: SECURITY };

const list = createRoute({
  ...common,
  method: "get",
  path: "/v1/routes",
  summary: "List routes: the platform's (admin token) or your tenant's own (providers:read)",
  responses: { 200: jsonResponse(RouteList, "The routes"), ...errorResponses(401, 403, 503) },
});

const create = createRoute({
  ...common,
  method: "post",
  path: "/v1/routes",
  summary: "Route a public model name to provider targets",
  description:
    "`strategy`: `fallback` tries targets in order, `weighted` splits traffic by `weight` (the rest are fallbacks), `least-latency` prefers the fastest target. Each target is retried `retries` times on transient failures (backoff with jitter, honouring `retry-after`) before the next is tried; `timeout_ms` bounds each attempt (for streams, until the first byte). A target whose circuit is open is skipped for a cool-down. A tenant's route takes precedence over the platform's of the same name; tenant routes may target the tenant's providers and the platform's.",
  request: jsonBody(RouteCreate),
  responses: { 201: jsonResponse(Route, "The route"), ...errorResponses(400, 401, 403, 409, 503) },
});

const get = createRoute({
  ...common,
  method: "get",
  path: "/v1/routes/{id}",
  summary: "Get a route",
  request: { params: IdParam },
  responses: { 200: jsonResponse(Route, "The route"), ...errorResponses(401, 403, 404, 503) },
});

const patch = createRoute({
  ...common,
  method: "patch",
  path: "/v1/routes/{id}",
  summary: "Change a route",
  request: { params: IdParam, ...jsonBody(RouteUpdate) },
  responses: { 200: jsonResponse(Route, "The updated route"), ...errorResponses(400, 401, 403, 404, 409, 503) },
});

const remove = createRoute({
  ...common,
  method: "delete",
  path: "/v1/routes/{id}",
  summary: "Delete a route",
  request: { params: IdParam },
  responses: { 200: jsonResponse(Deleted, "Deleted"), ...errorResponses(401, 403, 404, 503) },
});

export function registerRouteRoutes(app: OpenAPIHono<GatewayBindings>): void {
  app.openapi(list, async (c) => c.json(unwrap(await c.env.PROVIDERS.listRoutes(ownerOf(c))), 200));
  app.openapi(create, async (c) => {
    const route = unwrap(await c.env.PROVIDERS.createRoute(ownerOf(c), c.req.valid("json")));
    await auditProviderChange(c, { action: "route.create", target_type: "route", target_id: route.id, details: routeDetails(route) });
    return c.json(route, 201);
  });
  app.openapi(get, async (c) => c.json(unwrap(await c.env.PROVIDERS.getRoute(ownerOf(c), c.req.valid("param").id)), 200));
  app.openapi(patch, async (c) => {
    const body = c.req.valid("json");
    const route = unwrap(await c.env.PROVIDERS.updateRoute(ownerOf(c), c.req.valid("param").id, body));
    await auditProviderChange(c, {
      action: "route.update",
      target_type: "route",
      target_id: route.id,
      details: { ...routeDetails(route), fields: changedFields(body) },
    });
    return c.json(route, 200);
  });
  app.openapi(remove, async (c) => {
    const deleted = unwrap(await c.env.PROVIDERS.deleteRoute(ownerOf(c), c.req.valid("param").id));
    await auditProviderChange(c, { action: "route.delete", target_type: "route", target_id: deleted.id });
    return c.json(deleted, 200);
  });
}
