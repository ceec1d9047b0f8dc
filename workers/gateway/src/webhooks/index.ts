import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { requireScope } from "../../../shared/src";
import {
  CreatedWebhookEndpointSchema,
  DeletedWebhookSchema,
  MAX_WEBHOOKS_PER_TENANT,
  WebhookCreateSchema,
  WebhookEndpointSchema,
  WebhookListSchema,
} from "../../../shared/src/contracts/webhooks";
import { TENANT_EVENT_TYPES, TenantEventSchema } from "../../../shared/src/webhooks/events";
import { API_KEY_SECURITY, errorResponses, jsonBody, jsonResponse, unwrap } from "../admin/openapi";
import { apiKeyAuth } from "../middleware/api-key";
import { boundedBody } from "../middleware/body";
import type { GatewayBindings } from "../types";

/**
 * `/v1/webhooks`: a tenant registers HTTPS endpoints for its events (Standard Webhooks, as OpenAI
 * sends them). tail owns the endpoints (D1 `tail`) and verifies the key's principal token again; the
 * gateway checks the scope first so a key without it learns nothing more.
 */
const Endpoint = WebhookEndpointSchema.openapi("WebhookEndpoint", {
  description: "A registered webhook endpoint. Its signing secret is never returned after creation.",
});
const CreatedEndpoint = CreatedWebhookEndpointSchema.openapi("CreatedWebhookEndpoint");
const EndpointList = WebhookListSchema.openapi("WebhookEndpointList");
const EndpointCreate = WebhookCreateSchema.openapi("WebhookEndpointCreate");
const Deleted = DeletedWebhookSchema.openapi("DeletedWebhookEndpoint");
const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "wh_3hVbq9pC1Wm0YfL2xN7aKd" }),
});

const DELIVERY =
  `Events (${TENANT_EVENT_TYPES.join(", ")}) are POSTed as OpenAI's event object \`{id, object: "event", type, created_at, data: {id}}\` ` +
  "(billing's alerts add their facts to `data`: `subject`, `period`, `threshold_pct`, `budget_micros`, `spend_micros`, or `balance_micros`, `floor_micros`; see the `tenant-event` webhook) " +
  "with Standard Webhooks headers (`webhook-id` = the event id, the same on every retry; `webhook-timestamp`; " +
  "`webhook-signature: v1,<base64 HMAC-SHA256>`), so the `openai` SDK's `client.webhooks.unwrap(body, headers, secret)` verifies them. " +
  "Any answer but a 2xx (redirects are not followed; 10 s timeout) is retried with exponential backoff (30 s doubling to 1 h, 10 retries).";

const common = { tags: ["webhooks"], security: API_KEY_SECURITY };

const create = createRoute({
  ...common,
  method: "post",
  path: "/v1/webhooks",
  summary: "Register a webhook endpoint; the answer holds its signing secret, shown only once",
  description:
    `Needs the \`webhooks:write\` scope (never granted by default). The URL must be https on a public host (port 443 or 8443). ` +
    `At most ${MAX_WEBHOOKS_PER_TENANT} endpoints per tenant (409 beyond). ${DELIVERY}`,
  request: jsonBody(EndpointCreate),
  responses: { 201: jsonResponse(CreatedEndpoint, "The endpoint, with its signing secret (shown once)"), ...errorResponses(400, 401, 403, 409, 503) },
});

const list = createRoute({
  ...common,
  method: "get",
  path: "/v1/webhooks",
  summary: "List your tenant's webhook endpoints (never their secrets)",
  description: `Needs \`webhooks:read\` or \`webhooks:write\`. All of them, oldest first (at most ${MAX_WEBHOOKS_PER_TENANT}).`,
  responses: { 200: jsonResponse(EndpointList, "The endpoints"), ...errorResponses(401, 403, 503) },
});

const get = createRoute({
  ...common,
  method: "get",
  path: "/v1/webhooks/{id}",
  summary: "Get one of your tenant's webhook endpoints",
  request: { params: IdParam },
  responses: { 200: jsonResponse(Endpoint, "The endpoint"), ...errorResponses(401, 403, 404, 503) },
});

const remove = createRoute({
  ...common,
  method: "delete",
  path: "/v1/webhooks/{id}",
  summary: "Delete one of your tenant's webhook endpoints; deliveries still queued for it are dropped",
  request: { params: IdParam },
  responses: { 200: jsonResponse(Deleted, "Deleted"), ...errorResponses(401, 403, 404, 503) },
});

/** The payload tenants receive, in the OpenAPI document's `webhooks` section. */
const tenantEvent = {
  method: "post" as const,
  path: "tenant-event",
  tags: ["webhooks"],
  summary: "What the gateway POSTs to a registered endpoint (Standard Webhooks signed)",
  description:
    "`billing.budget_threshold`: a key's (`subject: key:<id>`) or the tenant's (`tenant:<id>`) month spend reached `threshold_pct` (50, 80, 100) " +
    "of its monthly budget — once per subject, threshold and UTC month (`period`). `billing.credits_low`: the prepaid balance fell below " +
    "`floor_micros` — once per grant (`period` = the newest grant's id). Batch events carry the batch id in `data.id`. " +
    "De-duplicate on the `webhook-id` header (the event id).",
  request: { body: { content: { "application/json": { schema: TenantEventSchema.openapi("TenantEvent") } } } },
  responses: { 200: { description: "Any 2xx acknowledges the delivery; anything else is retried" } },
};

export function registerWebhooks(app: OpenAPIHono<GatewayBindings>): void {
  app.openAPIRegistry.registerWebhook(tenantEvent);
  const scoped: MiddlewareHandler<GatewayBindings> = async (c, next) => {
    const principal = c.get("principal");
    if (c.req.method === "GET" && principal.scopes.includes("webhooks:read")) return next();
    requireScope(principal, "webhooks:write");
    await next();
  };
  for (const path of ["/v1/webhooks", "/v1/webhooks/*"]) {
    app.use(path, apiKeyAuth());
    app.use(path, scoped);
    app.use(path, boundedBody());
  }

  app.openapi(create, async (c) => {
    const endpoint = unwrap(await c.env.TAIL.createWebhook(c.get("principal").token, c.req.valid("json")));
    c.header("cache-control", "no-store");
    return c.json(endpoint, 201);
  });

  app.openapi(list, async (c) => c.json(unwrap(await c.env.TAIL.listWebhooks(c.get("principal").token)), 200));

  app.openapi(get, async (c) => c.json(unwrap(await c.env.TAIL.getWebhook(c.get("principal").token, c.req.valid("param").id)), 200));

  app.openapi(remove, async (c) => c.json(unwrap(await c.env.TAIL.deleteWebhook(c.get("principal").token, c.req.valid("param").id)), 200));
}
