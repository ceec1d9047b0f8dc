import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { API_KEY_SECURITY, errorResponses, jsonResponse, unwrap } from "../admin/openapi";
import type { GatewayBindings } from "../types";
import { keyActor } from "./actor";
import { RequestIdParam, RequestUsage } from "./schemas";

const route = createRoute({
  tags: ["usage"],
  security: API_KEY_SECURITY,
  method: "get",
  path: "/v1/usage/requests/{request_id}",
  summary: "One request's metered usage and cost, by the gateway's request id (`x-request-id`)",
  description:
    "Tokens by kind, cost (decimal USD and integer micro-dollars), provider, model, latency, status. Needs the `usage:read` scope. " +
    "404 until billing has stored the request (within seconds of the answer), and for another tenant's request id.",
  request: { params: RequestIdParam },
  responses: { 200: jsonResponse(RequestUsage, "The request's usage record"), ...errorResponses(401, 403, 404, 503) },
});

export function registerRequestUsage(app: OpenAPIHono<GatewayBindings>): void {
  app.openapi(route, async (c) => {
    const record = unwrap(await c.env.BILLING.requestUsage(keyActor(c), c.req.valid("param").request_id));
    return c.json(record, 200);
  });
}
