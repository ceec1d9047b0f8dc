import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import {
  LangchainRunSchema,
  LangchainUsageQuerySchema,
  LangchainUsageSchema,
  MAX_LC_METADATA_BYTES,
  RunIdSchema,
} from "../../../shared/src/contracts/langchain";
import { API_KEY_SECURITY, errorResponses, jsonResponse, unwrap } from "../admin/openapi";
import { registerOpenAI } from "../openai";
import type { OpenAISurface } from "../openai/surface";
import type { GatewayBindings } from "../types";
import { keyActor } from "../usage-api/actor";
import { usageReadersOnly } from "../usage-api";
import { logDroppedLabels, parseCorrelation } from "./correlation";

const header = (description: string) => z.string().optional().openapi({ description });

/** The correlation headers, as the OpenAPI document lists them on every `/v1/langchain` operation. */
const CorrelationHeaders = z.object({
  "x-lc-run-id": header("The LangChain run this request belongs to (letters, digits, `._:-`; ≤ 128)."),
  "x-lc-parent-run-id": header("The run's parent run: the run then lists this run among its `children`."),
  "x-lc-session-id": header("A session (conversation, thread) to group runs by (≤ 128 printable characters)."),
  "x-lc-tags": header("Comma-separated tags (each ≤ 64 characters; at most 16 per request, with LangSmith's)."),
  "x-lc-metadata": header(`A JSON object (≤ ${MAX_LC_METADATA_BYTES} bytes), stored with the request and returned by the runs API.`),
  "langsmith-trace": header("LangSmith's dotted order: its last run id is the run, the one before it the parent (when no `x-lc-*` header says otherwise)."),
  baggage: header("W3C baggage; LangSmith's members `langsmith-metadata`, `langsmith-tags`, `langsmith-project` are read."),
});

const LANGCHAIN_NOTE =
  "The OpenAI operation for LangChain (`new ChatOpenAI({ configuration: { baseURL: '<host>/v1/langchain' } })`): same auth, scopes, limits, routing and errors as under `/v1`. " +
  "Usage is always metered and returned: a stream always ends with the usage chunk (even without `stream_options.include_usage`), so LangChain's `usage_metadata` is set on invoke and on stream. " +
  "The correlation headers label the request's usage (see `/v1/langchain/usage` and `/v1/langchain/runs/{run_id}`); they are never sent upstream, and a malformed or oversized one is dropped (and logged without its value), never refused.";

/** `/v1/langchain/...`: the OpenAI routes again, with usage always returned and the request's labels parsed. */
export const LANGCHAIN_SURFACE: OpenAISurface = {
  prefix: "/v1/langchain",
  tags: ["langchain"],
  note: LANGCHAIN_NOTE,
  headers: CorrelationHeaders,
  perRequest: (c) => {
    const { correlation, dropped } = parseCorrelation(c.req.raw.headers);
    logDroppedLabels(c.get("requestId"), dropped);
    return { alwaysReturnUsage: true, correlation };
  },
};

const UsageQuery = LangchainUsageQuerySchema;
const RunParam = z.object({
  run_id: RunIdSchema.openapi({ param: { name: "run_id", in: "path" }, example: "6f1c1f7e-0b8a-4d0e-9a57-3f1d5d0c2a11" }),
});

const usageRoute = createRoute({
  tags: ["langchain"],
  security: API_KEY_SECURITY,
  method: "get",
  path: "/v1/langchain/usage",
  summary: "Usage of the requests made through /v1/langchain, filtered by run, session or tag and grouped",
  description:
    "Filters `run_id`, `session_id`, `tag` (combined with AND; none: every `/v1/langchain` request of the tenant), `start_time` / `end_time` (unix seconds). " +
    "`group_by` one of `model`, `day` (UTC), `tag` (a request with two tags counts in both groups; untagged requests under `tag: null`). " +
    "`totals` are over the matching requests, each counted once; exact integer micro-dollars beside the decimal `cost_usd`. " +
    "At most 1000 groups (`has_more` says when there are more). Needs the `usage:read` scope; shows the key's own tenant only.",
  request: { query: UsageQuery },
  responses: { 200: jsonResponse(LangchainUsageSchema.openapi("LangchainUsage"), "Usage sums"), ...errorResponses(400, 401, 403, 503) },
});

const runRoute = createRoute({
  tags: ["langchain"],
  security: API_KEY_SECURITY,
  method: "get",
  path: "/v1/langchain/runs/{run_id}",
  summary: "One LangChain run: each request made under it, its child runs and its totals",
  description:
    "`data`: one entry per request labelled with this run (`x-lc-run-id`, or the last run of `langsmith-trace`) — tokens, cost, model, latency — oldest first (at most 1000). " +
    "`children`: the runs whose parent (`x-lc-parent-run-id`) is this run. `totals`: this run's own requests. " +
    "Needs the `usage:read` scope; another tenant's run is a 404, as is a run with no request stored yet (usage is stored within seconds of the answer).",
  request: { params: RunParam },
  responses: { 200: jsonResponse(LangchainRunSchema.openapi("LangchainRun"), "The run"), ...errorResponses(400, 401, 403, 404, 503) },
});

/**
 * The LangChain endpoint: the OpenAI routes under `/v1/langchain` (openai/, on LANGCHAIN_SURFACE)
 * and the queries over their labelled usage, answered by billing (which owns the data and checks
 * the principal token again: the key's own tenant, `usage:read`).
 */
export function registerLangchain(app: OpenAPIHono<GatewayBindings>): void {
  registerOpenAI(app, LANGCHAIN_SURFACE);
  usageReadersOnly(app, ["/v1/langchain/usage", "/v1/langchain/runs/*"]);
  app.openapi(usageRoute, async (c) => c.json(unwrap(await c.env.BILLING.langchainUsage(keyActor(c), c.req.valid("query"))), 200));
  app.openapi(runRoute, async (c) => c.json(unwrap(await c.env.BILLING.langchainRun(keyActor(c), c.req.valid("param").run_id)), 200));
}
