import { z } from "zod";
import { PriceSchema } from "../pricing";
import { UnsupportedSchema } from "./litellm";
import type { ProviderKind } from "./providers";

/**
 * `POST /admin/prices/import`: LiteLLM's `model_prices_and_context_window.json` read by the gateway
 * into price rows (billing's `importPrices`: one import, each changed row its model's next price version) and context windows
 * (model-proxy's `importContextWindows`, used by the context-window fallback).
 */

/** Most models one file may price (LiteLLM's own file has about 2,500 entries, most of them not per-token). */
export const MAX_PRICE_IMPORT_MODELS = 10_000;

/**
 * How a model is named in the price table and the context-window table: a vendor's own models bare
 * (`gpt-4o`, `claude-sonnet-4-5`, `gemini-2.5-flash`), models a host serves for others pinned to it
 * (`groq/llama-3.3-70b-versatile`), as the seed prices (billing/0002) are. `name` is the pin (and
 * the price row's `provider`); null for endpoints of no one vendor (their models are looked up bare).
 */
export const PRICE_NAMING: Record<ProviderKind, { name: string; pinned: boolean } | null> = {
  openai: { name: "openai", pinned: false },
  anthropic: { name: "anthropic", pinned: false },
  google: { name: "gemini", pinned: false },
  mistral: { name: "mistral", pinned: false },
  deepseek: { name: "deepseek", pinned: false },
  xai: { name: "xai", pinned: false },
  perplexity: { name: "perplexity", pinned: false },
  "azure-openai": { name: "azure", pinned: true },
  groq: { name: "groq", pinned: true },
  together: { name: "together", pinned: true },
  fireworks: { name: "fireworks", pinned: true },
  openrouter: { name: "openrouter", pinned: true },
  "workers-ai": { name: "workers-ai", pinned: true },
  "meta-llama": { name: "meta-llama", pinned: true },
  "openai-compatible": null,
  ollama: null,
  vllm: null,
  "litellm-proxy": null,
};

/** The names a deployment's model may be listed under, most specific first (lower-case). */
export function tableNamesOf(type: ProviderKind, model: string): string[] {
  const bare = model.toLowerCase();
  const naming = PRICE_NAMING[type];
  return naming?.pinned ? [`${naming.name}/${bare}`, bare] : [bare];
}

export const ContextWindowSchema = z
  .object({
    model: PriceSchema.shape.model,
    max_input_tokens: z.number().int().min(1).max(100_000_000),
    max_output_tokens: z.number().int().min(1).max(100_000_000).nullable(),
  })
  .strict();
export type ContextWindow = z.output<typeof ContextWindowSchema>;

const ActionSchema = z.enum(["create", "update", "unchanged"]);
const EntrySchema = z.object({ model: z.string(), action: ActionSchema, changes: z.array(z.string()) });

export const PriceImportRequestSchema = z
  .object({
    prices: z.array(PriceSchema).max(MAX_PRICE_IMPORT_MODELS),
    dry_run: z.boolean(),
    /** What the import is recorded as coming from (`litellm`). */
    source: z.string().min(1).max(64),
  })
  .strict()
  .refine((r) => new Set(r.prices.map((p) => p.model)).size === r.prices.length, { message: "a model is priced twice", path: ["prices"] });

export const PriceImportResultSchema = z.object({
  /** The import this created (`price_imports.id`); null when nothing changed or on a dry run. */
  import_id: z.number().int().nullable(),
  changed: z.boolean(),
  prices: z.array(EntrySchema),
});
export type PriceImportResult = z.infer<typeof PriceImportResultSchema>;

export const ContextWindowImportRequestSchema = z
  .object({ windows: z.array(ContextWindowSchema).max(MAX_PRICE_IMPORT_MODELS), dry_run: z.boolean() })
  .strict()
  .refine((r) => new Set(r.windows.map((w) => w.model)).size === r.windows.length, { message: "a model is listed twice", path: ["windows"] });

export const ContextWindowImportResultSchema = z.object({ changed: z.boolean(), windows: z.array(EntrySchema) });
export type ContextWindowImportResult = z.infer<typeof ContextWindowImportResultSchema>;

/** The answer of `POST /admin/prices/import`. */
export const PriceImportPlanSchema = z.object({
  object: z.literal("price_import"),
  dry_run: z.boolean(),
  /** Whether applying the file changes anything (false: importing it again is a no-op). */
  changed: z.boolean(),
  /** The import recorded (`price_imports.id`, the rows' `import_id`); null when nothing changed or on a dry run. */
  import_id: z.number().int().nullable(),
  prices: z.array(
    EntrySchema.extend({
      provider: z.string().nullable(),
      input_per_mtok_micros: z.number().int(),
      output_per_mtok_micros: z.number().int(),
      cached_input_per_mtok_micros: z.number().int().nullable(),
      cache_write_per_mtok_micros: z.number().int().nullable(),
    }),
  ),
  context_windows: z.array(EntrySchema.extend({ max_input_tokens: z.number().int(), max_output_tokens: z.number().int().nullable() })),
  /** Entries not imported (image, audio, rerank models; providers served by no provider type here; …), and why. */
  skipped: z.array(UnsupportedSchema),
  /** Fields of imported entries that the price rule does not apply (long-context tiers, per-image prices, …), and why. */
  unsupported: z.array(UnsupportedSchema),
  /** Prices finer than 1 µ$ per 1M tokens, rounded up to it (paths). */
  rounded: z.array(z.string()),
});
export type PriceImportPlan = z.infer<typeof PriceImportPlanSchema>;
