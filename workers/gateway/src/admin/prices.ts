import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { MICROS_PER_USD, type Price } from "../../../shared/src";
import { refreshPrices } from "../limits/prices";
import type { GatewayBindings } from "../types";
import { recordAudit } from "./audit";
import { ADMIN_SECURITY, errorResponses, jsonBody, jsonResponse, unwrap } from "./openapi";
import { adminActor, adminContext } from "./rpc";

/**
 * `/admin/prices`: what each model costs, per million tokens, in USD. Stored by billing as integer
 * micro-dollars; a price therefore has at most 6 decimals ($0.075 is fine, $0.0000001 is not).
 * Model names containing `/` (provider-pinned prices such as `groq/llama-3.3-70b-versatile`) are
 * URL-encoded in the path (`groq%2Fllama-3.3-70b-versatile`).
 *
 * A change reaches the limiter's budget reservations in this isolate at once and in every other
 * isolate within the price cache's refresh interval (60 s); billing prices every usage event it
 * stores from then on with the new price (already stored events keep their cost).
 */
const usd = (name: string) =>
  z
    .number()
    .nonnegative()
    .max(10_000)
    .refine((v) => Math.abs(v * MICROS_PER_USD - Math.round(v * MICROS_PER_USD)) < 1e-6, {
      message: "must have at most 6 decimals (prices are stored in micro-dollars)",
    })
    .openapi({ description: `${name} price in USD per 1M tokens`, example: 0.15 });

const PriceWrite = z
  .object({
    provider: z
      .string()
      .min(1)
      .max(100)
      .nullable()
      .optional()
      .openapi({ description: "Provider the price belongs to (informational unless the model name is pinned as `<provider>/<model>`)" }),
    input_per_mtok: usd("Input (prompt)"),
    output_per_mtok: usd("Output (completion)"),
    cached_input_per_mtok: usd("Cached input").nullable().optional().openapi({ description: "Cached input price in USD per 1M tokens; null = same as input" }),
    cache_write_per_mtok: usd("Cache write").nullable().optional().openapi({
      description:
        "Price in USD per 1M prompt tokens written to the provider's cache (Anthropic's premium: 1.25× input for the 5-minute cache); null = same as input",
      example: 3.75,
    }),
    batch_discount_pct: z.number().int().min(0).max(100).optional().openapi({
      description: "Percent off this model's usage when it runs as a batch line (`/v1/batches`, `/v1/batch`); absent = 0",
      example: 50,
    }),
  })
  .strict()
  .openapi("PriceWrite");

const PriceView = z
  .object({
    object: z.literal("model_price"),
    model: z.string(),
    provider: z.string().nullable(),
    input_per_mtok: z.number(),
    output_per_mtok: z.number(),
    cached_input_per_mtok: z.number().nullable(),
    cache_write_per_mtok: z.number().nullable(),
    input_per_mtok_micros: z.number().int(),
    output_per_mtok_micros: z.number().int(),
    cached_input_per_mtok_micros: z.number().int().nullable(),
    cache_write_per_mtok_micros: z.number().int().nullable(),
    batch_discount_pct: z.number().int(),
  })
  .openapi("ModelPrice");

const PriceList = z.object({ object: z.literal("list"), data: z.array(PriceView) }).openapi("ModelPriceList");
const Deleted = z.object({ object: z.literal("model_price.deleted"), model: z.string(), deleted: z.literal(true) }).openapi("ModelPriceDeleted");

const ModelParam = z.object({
  model: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: "model", in: "path" }, description: "Model name; `*` is the catch-all price; encode `/` as %2F", example: "gpt-4o-mini" }),
});

const common = { tags: ["admin: prices"], security: ADMIN_SECURITY };

const list = createRoute({
  ...common,
  method: "get",
  path: "/admin/prices",
  summary: "List model prices",
  responses: { 200: jsonResponse(PriceList, "Every priced model"), ...errorResponses(401, 503) },
});

const get = createRoute({
  ...common,
  method: "get",
  path: "/admin/prices/{model}",
  summary: "Get a model's price",
  request: { params: ModelParam },
  responses: { 200: jsonResponse(PriceView, "The price"), ...errorResponses(401, 404, 503) },
});

const put = createRoute({
  ...common,
  method: "put",
  path: "/admin/prices/{model}",
  summary: "Set a model's price (create or replace)",
  request: { params: ModelParam, ...jsonBody(PriceWrite) },
  responses: {
    200: jsonResponse(PriceView, "The replaced price"),
    201: jsonResponse(PriceView, "The new price"),
    ...errorResponses(400, 401, 503),
  },
});

const remove = createRoute({
  ...common,
  method: "delete",
  path: "/admin/prices/{model}",
  summary: "Delete a model's price (its usage is then recorded unpriced, unless `*` is set)",
  request: { params: ModelParam },
  responses: { 200: jsonResponse(Deleted, "The price was deleted"), ...errorResponses(401, 404, 503) },
});

export function registerPriceRoutes(app: OpenAPIHono<GatewayBindings>): void {
  app.openapi(list, async (c) => {
    const prices = unwrap(await c.env.BILLING.prices());
    return c.json({ object: "list" as const, data: prices.map(view) }, 200);
  });

  app.openapi(get, async (c) => {
    const price = unwrap(await c.env.BILLING.price(c.req.valid("param").model));
    return c.json(view(price), 200);
  });

  app.openapi(put, async (c) => {
    const body = c.req.valid("json");
    const res = unwrap(
      await c.env.BILLING.putPrice(adminActor(c), {
        model: c.req.valid("param").model,
        provider: body.provider ?? null,
        input_per_mtok_micros: micros(body.input_per_mtok),
        output_per_mtok_micros: micros(body.output_per_mtok),
        cached_input_per_mtok_micros: optionalMicros(body.cached_input_per_mtok),
        cache_write_per_mtok_micros: optionalMicros(body.cache_write_per_mtok),
        batch_discount_pct: body.batch_discount_pct ?? 0,
      }),
    );
    await refreshPricesQuietly(c.env);
    const { model, provider, input_per_mtok_micros, output_per_mtok_micros, cached_input_per_mtok_micros, cache_write_per_mtok_micros } = res.price;
    await recordAudit(c, adminContext(c), {
      action: "price.set",
      target_type: "price",
      target_id: model,
      details: {
        provider,
        input_per_mtok_micros,
        output_per_mtok_micros,
        cached_input_per_mtok_micros,
        cache_write_per_mtok_micros: cache_write_per_mtok_micros ?? null,
        batch_discount_pct: res.price.batch_discount_pct ?? 0,
        created: res.created,
      },
    });
    return c.json(view(res.price), res.created ? 201 : 200);
  });

  app.openapi(remove, async (c) => {
    const res = unwrap(await c.env.BILLING.deletePrice(adminActor(c), c.req.valid("param").model));
    await refreshPricesQuietly(c.env);
    await recordAudit(c, adminContext(c), { action: "price.delete", target_type: "price", target_id: res.model });
    return c.json({ object: "model_price.deleted" as const, model: res.model, deleted: true as const }, 200);
  });
}

const micros = (usdValue: number) => Math.round(usdValue * MICROS_PER_USD);
const dollars = (m: number) => m / MICROS_PER_USD;
/** An optional rate: absent or null stores null (the input rate applies). */
const optionalMicros = (usdValue: number | null | undefined) => (usdValue === null || usdValue === undefined ? null : micros(usdValue));
const optionalDollars = (m: number | null | undefined) => (m === null || m === undefined ? null : dollars(m));

function view(p: Price) {
  return {
    object: "model_price" as const,
    model: p.model,
    provider: p.provider,
    input_per_mtok: dollars(p.input_per_mtok_micros),
    output_per_mtok: dollars(p.output_per_mtok_micros),
    cached_input_per_mtok: optionalDollars(p.cached_input_per_mtok_micros),
    cache_write_per_mtok: optionalDollars(p.cache_write_per_mtok_micros),
    input_per_mtok_micros: p.input_per_mtok_micros,
    output_per_mtok_micros: p.output_per_mtok_micros,
    cached_input_per_mtok_micros: p.cached_input_per_mtok_micros,
    cache_write_per_mtok_micros: p.cache_write_per_mtok_micros ?? null,
    batch_discount_pct: p.batch_discount_pct ?? 0,
  };
}

/** The change is stored; a failed cache refresh only delays it here by one refresh interval. */
async function refreshPricesQuietly(env: GatewayEnv): Promise<void> {
  await refreshPrices(env).catch(() => {});
}
