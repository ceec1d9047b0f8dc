import { z } from "@hono/zod-openapi";
import {
  CostResultSchema,
  CostsQuerySchema,
  pageSchema,
  RequestUsageSchema,
  UsageBucketsQuerySchema,
  UsageResultSchema,
} from "../../../shared/src/contracts/usage-api";

/**
 * The shared usage-API contract, named for the OpenAPI document. The same schemas validate here
 * (400 naming `param` before any RPC) and in billing (the callee validates again).
 */
export const RequestUsage = RequestUsageSchema.openapi("RequestUsage");
export const UsagePage = pageSchema(UsageResultSchema.openapi("UsageResult")).openapi("UsagePage");
export const CostsPage = pageSchema(CostResultSchema.openapi("CostResult")).openapi("CostsPage");
export const UsageQuery = UsageBucketsQuerySchema;
export const CostsQuery = CostsQuerySchema;
export const RequestIdParam = z.object({
  request_id: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: "request_id", in: "path" }, example: "req_3x8cQm1Lw0b2kVhT9yZ4aP" }),
});

/** Tenant routes group by these; the admin's also by `tenant_id`. */
export const USAGE_DOC =
  "Buckets of `bucket_width` (`1m`, `1h`, `1d`; default `1d`) on the UTC grid: `start_time` is rounded down and `end_time` (default: now) up to it. " +
  "`group_by` any of `model`, `api_key_id`, `project_id` (accepted for OpenAI compatibility; the gateway has no projects, so it groups nothing and results carry `project_id: null`). " +
  "`limit` buckets per page (OpenAI's bounds: 1m ≤ 1440, 1h ≤ 168, 1d ≤ 31); pass `next_page` as `page` for more. Read from per-bucket rollups, never from a scan of requests.";
