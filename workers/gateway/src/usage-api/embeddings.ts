import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { errorResponses, jsonResponse, unwrap } from "../admin/openapi";
import type { GatewayBindings } from "../types";
import { USAGE_DOC, UsagePage, UsageQuery } from "./schemas";
import type { UsageSurface } from "./surface";

/** `GET …/usage/embeddings`: OpenAI's embeddings usage in buckets. */
export function registerEmbeddingsUsage(app: OpenAPIHono<GatewayBindings>, s: UsageSurface): void {
  const route = createRoute({
    tags: s.tags,
    security: s.security,
    method: "get",
    path: `${s.usagePath}/embeddings`,
    summary: "Embeddings usage in time buckets, in OpenAI's organization Usage API shape",
    description: `${USAGE_DOC} ${s.note}`,
    request: { query: UsageQuery },
    responses: { 200: jsonResponse(UsagePage, "A page of buckets"), ...errorResponses(400, ...s.credentialErrors, 503) },
  });
  app.openapi(route, async (c) => c.json(unwrap(await c.env.BILLING.usageBuckets(s.actor(c), "embeddings", c.req.valid("query"))), 200));
}
