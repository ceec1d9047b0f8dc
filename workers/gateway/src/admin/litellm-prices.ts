import type { ApiErrorInit, Result } from "../../../shared/src";
import type { Unsupported } from "../../../shared/src/contracts/litellm";
import { MAX_PRICE_IMPORT_MODELS, PRICE_NAMING, type ContextWindow } from "../../../shared/src/contracts/price-import";
import type { ProviderKind } from "../../../shared/src/contracts/providers";
import { JsonNumber, scaleDecimal, type ExactJson } from "../../../shared/src/exact-json";
import { PriceSchema, type Price } from "../../../shared/src/pricing";

/**
 * LiteLLM's `model_prices_and_context_window.json` read into the gateway's price rows and context
 * windows. LiteLLM prices in USD per token as JSON numbers (`2.5e-06`); a row here is integer
 * micro-dollars per 1M tokens, i.e. the per-token USD × 10^12. That product is taken on the
 * number's decimal text (exact-json.ts), never on a float: `2.5e-06` is exactly 2,500,000 µ$/Mtok.
 * A price finer than 1 µ$/Mtok (more than 12 decimals of a dollar per token) is rounded **up** to
 * the next whole µ$/Mtok — a request is never under-charged, the same direction as the price rule's
 * one rounding per request — and its path is listed in `rounded`.
 *
 * Fields read per entry: `input_cost_per_token`, `output_cost_per_token`,
 * `cache_read_input_token_cost`, `cache_creation_input_token_cost`, `output_cost_per_reasoning_token`
 * (reasoning is billed at the output price here: a different reasoning price is reported, not
 * applied), `max_input_tokens` / `max_output_tokens` / `max_tokens` (context window),
 * `litellm_provider` (→ how the row is named, see PRICE_NAMING) and `mode`. Every other field with a
 * price in it (`…cost…`) is listed in `unsupported`; capabilities and metadata (`supports_*`,
 * `source`, `deprecation_date`, …) are not prices and are ignored. Whole entries that cannot be
 * priced per token here are listed in `skipped`. A present field of the wrong type is a 400 naming
 * its path (`"gpt-4o".input_cost_per_token`).
 */

/** LiteLLM's `litellm_provider` values whose models some provider type here serves. */
const LITELLM_PROVIDERS: Record<string, ProviderKind> = {
  openai: "openai",
  "text-completion-openai": "openai",
  azure: "azure-openai",
  anthropic: "anthropic",
  gemini: "google",
  groq: "groq",
  mistral: "mistral",
  codestral: "mistral",
  deepseek: "deepseek",
  xai: "xai",
  perplexity: "perplexity",
  together_ai: "together",
  fireworks_ai: "fireworks",
  "fireworks_ai-embedding-models": "fireworks",
  openrouter: "openrouter",
  cloudflare: "workers-ai",
  meta_llama: "meta-llama",
};

/** Modes whose usage is counted in tokens (chat, completions, embeddings, the Responses API). */
const TOKEN_MODES = new Set(["chat", "completion", "embedding", "responses"]);

const READ = new Set([
  "input_cost_per_token",
  "output_cost_per_token",
  "cache_read_input_token_cost",
  "cache_creation_input_token_cost",
  "output_cost_per_reasoning_token",
  "max_input_tokens",
  "max_output_tokens",
  "max_tokens",
  "litellm_provider",
  "mode",
]);

/** 1 USD per token = 10^12 µ$ per 1M tokens. */
const USD_PER_TOKEN_TO_MICROS_PER_MTOK = 12;
const MAX_RATE = 1e10; // PriceSchema's bound: $10,000 per 1M tokens

export interface LiteLLMPrices {
  prices: Price[];
  windows: ContextWindow[];
  skipped: Unsupported[];
  unsupported: Unsupported[];
  rounded: string[];
}

class Invalid extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(detail);
  }
}

export function readLiteLLMPrices(doc: ExactJson): Result<LiteLLMPrices> {
  try {
    return { ok: true, value: read(doc) };
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    const error: ApiErrorInit = { code: "invalid_request", param: err.path, message: `Invalid price file at '${err.path}': ${err.message}.` };
    return { ok: false, error };
  }
}

function read(doc: ExactJson): LiteLLMPrices {
  if (!(doc instanceof Map)) throw new Invalid("$", "the file must be a JSON object of model entries (LiteLLM's model_prices_and_context_window.json)");
  const out: LiteLLMPrices = { prices: [], windows: [], skipped: [], unsupported: [], rounded: [] };
  const named = new Map<string, string>();
  for (const [key, entry] of doc) {
    const path = JSON.stringify(key);
    if (key === "sample_spec") {
      out.skipped.push({ path, reason: "LiteLLM's description of the format, not a model" });
      continue;
    }
    if (!(entry instanceof Map)) throw new Invalid(path, "must be an object describing the model");
    const row = readEntry(key, path, entry, out);
    if (!row) continue;
    const first = named.get(row.price.model);
    if (first !== undefined) {
      out.skipped.push({ path, reason: `names the same price row '${row.price.model}' as ${first}, which was imported` });
      continue;
    }
    named.set(row.price.model, path);
    if (named.size > MAX_PRICE_IMPORT_MODELS) throw new Invalid(path, `the file prices more than ${MAX_PRICE_IMPORT_MODELS} models`);
    out.prices.push(row.price);
    if (row.window) out.windows.push(row.window);
  }
  return out;
}

function readEntry(key: string, path: string, entry: Map<string, ExactJson>, out: LiteLLMPrices): { price: Price; window: ContextWindow | null } | null {
  const field = (name: string) => `${path}.${name}`;
  const provider = optionalString(entry.get("litellm_provider"), field("litellm_provider"));
  const mode = optionalString(entry.get("mode"), field("mode"));
  const skip = (reason: string) => {
    out.skipped.push({ path, reason });
    return null;
  };
  if (mode !== null && !TOKEN_MODES.has(mode)) return skip(`mode '${mode}' is not priced per token here (chat, completion, embedding and responses are)`);
  if (provider === null) return skip("has no litellm_provider");
  const type = LITELLM_PROVIDERS[provider];
  if (!type) return skip(`litellm_provider '${provider}' is served by no provider type here`);
  const naming = PRICE_NAMING[type]!;

  const rounded: string[] = [];
  const rate = (name: string): number | null => {
    const value = entry.get(name);
    if (value === undefined || value === null) return null;
    if (!(value instanceof JsonNumber)) throw new Invalid(field(name), "must be a number (USD per token)");
    const scaled = scaleDecimal(value.text, USD_PER_TOKEN_TO_MICROS_PER_MTOK);
    if (scaled === null || scaled.value > MAX_RATE) throw new Invalid(field(name), "must be a price from 0 to 0.01 USD per token");
    if (!scaled.exact) rounded.push(field(name));
    return scaled.value;
  };
  const input = rate("input_cost_per_token");
  let output = rate("output_cost_per_token");
  const cached = rate("cache_read_input_token_cost");
  const cacheWrite = rate("cache_creation_input_token_cost");
  const reasoning = rate("output_cost_per_reasoning_token");
  const maxInput = tokens(entry.get("max_input_tokens"), field("max_input_tokens"));
  const maxOutput = tokens(entry.get("max_output_tokens"), field("max_output_tokens")) ?? tokens(entry.get("max_tokens"), field("max_tokens"));
  if (input === null) return skip("has no input_cost_per_token (not priced per token)");
  if (output === null) {
    if (mode !== "embedding") return skip("has no output_cost_per_token");
    output = 0;
  }

  for (const name of entry.keys()) {
    if (READ.has(name) || !/cost|price/i.test(name)) continue;
    out.unsupported.push({ path: field(name), reason: reasonFor(name) });
  }
  if (reasoning !== null && reasoning !== output) {
    out.unsupported.push({
      path: field("output_cost_per_reasoning_token"),
      reason: "reasoning tokens are billed at the output price here (they are part of completion tokens); this entry's output_cost_per_token applies",
    });
  }

  const slash = key.indexOf("/");
  const prefix = slash > 0 ? key.slice(0, slash) : null;
  const model = prefix !== null && (prefix === provider || prefix === provider.split("-")[0]) ? key.slice(slash + 1) : key;
  const name = naming.pinned ? `${naming.name}/${model}` : model;
  const price = PriceSchema.safeParse({
    model: name,
    provider: naming.name,
    input_per_mtok_micros: input,
    output_per_mtok_micros: output,
    cached_input_per_mtok_micros: cached,
    cache_write_per_mtok_micros: cacheWrite,
  });
  if (!price.success) return skip(`'${name}' is not a usable price row name (at most 200 characters, no whitespace)`);
  out.rounded.push(...rounded);
  const window = maxInput !== null ? { model: price.data.model, max_input_tokens: maxInput, max_output_tokens: maxOutput } : null;
  return { price: price.data, window };
}

function reasonFor(name: string): string {
  if (/1hr/.test(name)) return "the 1-hour cache's write price is not modelled: cache writes are priced at the 5-minute rate";
  if (/_above_|_over_/.test(name)) return "long-context price tiers are not modelled: the base price applies to every prompt";
  if (/batches/.test(name)) return "batch prices are not imported: a model's batch discount is the operator's batch_discount_pct";
  if (/priority|flex/.test(name)) return "service tiers are not modelled: the standard tier's price applies";
  return "not priced per text token here (the price rule has input, cached input, cache write and output rates)";
}

function optionalString(value: ExactJson | undefined, path: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value.length === 0 || value.length > 200) throw new Invalid(path, "must be a string of 1-200 characters");
  return value;
}

function tokens(value: ExactJson | undefined, path: string): number | null {
  if (value === undefined || value === null) return null;
  const n = value instanceof JsonNumber ? value.value : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 100_000_000) throw new Invalid(path, "must be a whole number of tokens from 0 to 100000000");
  return n === 0 ? null : n; // 0: not known
}
