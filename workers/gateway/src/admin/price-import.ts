import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { ApiError } from "../../../shared/src";
import { PriceImportPlanSchema, type PriceImportPlan } from "../../../shared/src/contracts/price-import";
import { ExactJsonError, parseExactJson } from "../../../shared/src/exact-json";
import { refreshPrices } from "../limits/prices";
import { MAX_JSON_DEPTH } from "../middleware/json-depth";
import type { GatewayBindings } from "../types";
import { recordAudit } from "./audit";
import { readLiteLLMPrices } from "./litellm-prices";
import { ADMIN_SECURITY, errorResponses, jsonResponse, unwrap } from "./openapi";
import { adminActor, adminContext } from "./rpc";

const importRoute = createRoute({
  tags: ["admin: prices"],
  security: ADMIN_SECURITY,
  method: "post",
  path: "/admin/prices/import",
  summary: "Import LiteLLM's model_prices_and_context_window.json (prices and context windows)",
  description: [
    "The body is LiteLLM's `model_prices_and_context_window.json` (or any subset of it), within the gateway's body limit (`MAX_BODY_BYTES`, 4 MiB by default; LiteLLM's own file is about 1.6 MB).",
    "Per-token USD prices (`input_cost_per_token`, `output_cost_per_token`, `cache_read_input_token_cost`, `cache_creation_input_token_cost`) become integer micro-dollars per 1M tokens, converted exactly on the number's decimal text (×10^12; a price finer than 1 µ$ per 1M tokens is rounded up and listed in `rounded`).",
    "Rows are named as the seed prices are: a vendor's own model bare (`gpt-4o`), a hosted one pinned to its host (`groq/llama-3.3-70b-versatile`); `max_input_tokens` becomes the model's context window, which route deployments without their own `model_info.max_input_tokens` use for `context_window_fallbacks`.",
    "Rows whose prices change are written as one import (`import_id`), each becoming its model's next price version (what invoices show); equal rows are left alone, so importing the same file again changes nothing. Rows the file does not name are kept, and so is each row's `batch_discount_pct`.",
    "Entries that cannot be priced per token (images, audio, rerank; providers served by no provider type here) are listed in `skipped`, price fields the price rule does not apply in `unsupported`; a field of the wrong type is a 400 naming its path. `?dry_run=true` only plans.",
    "Every gateway isolate prices with the new rows within 60 s (the price table's refresh bound); model-proxy uses the new context windows at once where the import ran and within 15 s elsewhere.",
  ].join(" "),
  request: {
    query: z.object({ dry_run: z.enum(["true", "false"]).optional() }),
    body: {
      required: true,
      description: "LiteLLM's model_prices_and_context_window.json: an object of model entries.",
      content: { "application/json": { schema: { type: "object" as const, additionalProperties: { type: "object" as const } } } },
    },
  },
  responses: {
    200: jsonResponse(PriceImportPlanSchema.openapi("PriceImportPlan"), "The plan (applied unless dry_run)"),
    ...errorResponses(400, 401, 413, 503),
  },
});

/** `POST /admin/prices/import`: billing stores the prices (one import), model-proxy the context windows. */
export function registerPriceImportRoute(app: OpenAPIHono<GatewayBindings>): void {
  app.openapi(importRoute, async (c) => {
    const dryRun = c.req.valid("query").dry_run === "true";
    let doc;
    try {
      doc = parseExactJson(await c.req.text(), MAX_JSON_DEPTH);
    } catch (err) {
      if (!(err instanceof ExactJsonError)) throw err;
      throw new ApiError({ code: "invalid_json", param: "$", message: `The price file is not valid JSON (${err.message}).` });
    }
    const file = unwrap(readLiteLLMPrices(doc));
    const prices = unwrap(await c.env.BILLING.importPrices(adminActor(c), { prices: file.prices, dry_run: dryRun, source: "litellm" }));
    const windows = unwrap(
      await c.env.PROVIDERS.importContextWindows({ kind: "platform", adminToken: c.get("adminContext") }, { windows: file.windows, dry_run: dryRun }),
    );
    const changed = prices.changed || windows.changed;
    if (!dryRun && prices.changed) await refreshPrices(c.env).catch(() => {});
    if (!dryRun && changed) {
      const count = (entries: { action: string }[], action: string) => entries.filter((e) => e.action === action).length;
      await recordAudit(c, adminContext(c), {
        action: "price.import",
        target_type: "price",
        target_id: prices.import_id === null ? "context_windows" : `import:${prices.import_id}`,
        details: {
          source: "litellm",
          import_id: prices.import_id,
          prices_created: count(prices.prices, "create"),
          prices_updated: count(prices.prices, "update"),
          context_windows_created: count(windows.windows, "create"),
          context_windows_updated: count(windows.windows, "update"),
        },
      });
    }
    const byModel = new Map(file.prices.map((p) => [p.model, p]));
    const windowOf = new Map(file.windows.map((w) => [w.model, w]));
    const plan: PriceImportPlan = {
      object: "price_import",
      dry_run: dryRun,
      changed,
      import_id: prices.import_id,
      prices: prices.prices.map((e) => {
        const p = byModel.get(e.model)!;
        return {
          ...e,
          provider: p.provider,
          input_per_mtok_micros: p.input_per_mtok_micros,
          output_per_mtok_micros: p.output_per_mtok_micros,
          cached_input_per_mtok_micros: p.cached_input_per_mtok_micros,
          cache_write_per_mtok_micros: p.cache_write_per_mtok_micros ?? null,
        };
      }),
      context_windows: windows.windows.map((e) => {
        const w = windowOf.get(e.model)!;
        return { ...e, max_input_tokens: w.max_input_tokens, max_output_tokens: w.max_output_tokens };
      }),
      skipped: file.skipped,
      unsupported: file.unsupported,
      rounded: file.rounded,
    };
    return c.json(plan, 200);
  });
}
