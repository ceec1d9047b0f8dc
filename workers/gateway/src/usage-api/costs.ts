import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { errorResponses, jsonResponse, unwrap } from "../admin/openapi";
import type { GatewayBindings } from "../types";
import { CostsPage, CostsQuery } from "./schemas";
import type { UsageSurface } from "./surface";

/** `GET …/costs`: OpenAI's costs in 1d buckets, with the exact integer micro-dollars beside the USD value. */
export function registerCosts(app: OpenAPIHono<GatewayBindings>, s: UsageSurface): void {
  const route = createRoute({
    tags: s.tags,
    security: s.security,
    method: "get",
    path: s.costsPath,
    summary: "Spend in 1d buckets, in OpenAI's organization Costs API shape",
    description:
      "`amount.value` is USD; `cost_usd_micros` the exact integer (µ$) billing recorded, which sums exactly over requests. " +
      "`group_by` any of `line_item` (the model), `api_key_id`, `project_id` (accepted, groups nothing). `limit` ≤ 180 buckets (default 7); `next_page` → `page`. " +
      s.note,
    request: { query: CostsQuery },
    responses: { 200: jsonResponse(CostsPage, "A page of 1d buckets"), ...errorResponses(400, ...s.credentialErrors, 503) },
  });
  app.openapi(route, async (c) => c.json(unwrap(await c.env.BILLING.costBuckets(s.actor(c), c.req.valid("query"))), 200));
}
