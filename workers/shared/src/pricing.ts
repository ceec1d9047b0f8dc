import { z } from "zod";
import type { TokenUsage } from "./token-usage";

/**
 * Money is integer micro-dollars everywhere (1 µ$ = 1e-6 USD): no float drift between the cost the
 * limiter reserves, the cost it settles and the cost billing records, because all three are the
 * same integer computed by the same function below.
 *
 * Prices are stored per million tokens, also in micro-dollars: $2.50 / 1M tokens = 2_500_000.
 */
export const MICROS_PER_USD = 1_000_000;
const TOKENS_PER_PRICE_UNIT = 1_000_000;

/**
 * A model's price. `cached_input` null means cache reads cost the normal input price;
 * `cache_write` null means cache writes cost the normal input price (OpenAI, Gemini: no premium).
 * Anthropic charges a premium for writing its prompt cache: 1.25× the input price for the default
 * 5-minute cache (2× for the 1-hour cache, not modelled: priced at the 5-minute rate).
 */
export const PriceSchema = z
  .object({
    /** Stored lower-case: lookups are case-insensitive, so two spellings must not be two rows. */
    model: z.string().trim().min(1).max(200).regex(/^\S+$/, "must not contain whitespace").toLowerCase(),
    provider: z.string().min(1).max(100).nullable().default(null),
    input_per_mtok_micros: z.number().int().nonnegative().max(1e10),
    output_per_mtok_micros: z.number().int().nonnegative().max(1e10),
    cached_input_per_mtok_micros: z.number().int().nonnegative().max(1e10).nullable().default(null),
    /** Optional in the type (absent = null) so price literals written before it stay valid. */
    cache_write_per_mtok_micros: z.number().int().nonnegative().max(1e10).nullable().optional(),
    /**
     * Percent off this model's usage when it ran as a batch line (usage operation `batch`): 0–100,
     * absent = 0. Data, not code: the operator sets it per model (billing/0008).
     */
    batch_discount_pct: z.number().int().min(0).max(100).optional(),
  })
  .strict();
export type Price = z.output<typeof PriceSchema>;

/** The model name that acts as catch-all price for models without their own row (optional). */
export const DEFAULT_PRICE_MODEL = "*";

/**
 * The counts a price applies to: the normalised usage record (token-usage.ts, OpenAI semantics:
 * `promptTokens` includes cache reads and cache writes, `completionTokens` includes reasoning).
 * `cacheWriteTokens` may be omitted (0).
 */
export type TokenCounts = Pick<TokenUsage, "promptTokens" | "completionTokens" | "cachedTokens"> & Partial<Pick<TokenUsage, "cacheWriteTokens">>;

/**
 * Cost of a request in integer micro-dollars. The one price rule (billing records it, the limiter
 * settles with it, `x-gateway-cost-usd` shows it):
 *
 *   µ$ = ceil( ( uncached_input × input + cached × cached_input + cache_write × cache_write
 *                + completion × output ) / 1,000,000 )
 *
 * with uncached_input = prompt − cached − cache_write, rates in µ$ per 1M tokens (a null cached or
 * cache-write rate is the input rate), and reasoning tokens inside `completion` — billed once, at
 * the output price. Each token is in exactly one term. Rounded up once per request, on the exact
 * integer sum (never per term): a request is never under-charged, by less than 1 µ$. Counts are
 * capped the way `tokenUsage` caps them (cache reads, then writes, at the prompt), so odd numbers
 * from a provider can never produce a negative uncached count.
 */
export function costMicros(price: Price, usage: TokenCounts, options: { batch?: boolean } = {}): number {
  const prompt = nonNegInt(usage.promptTokens);
  const cached = Math.min(nonNegInt(usage.cachedTokens), prompt);
  const cacheWrite = Math.min(nonNegInt(usage.cacheWriteTokens ?? 0), prompt - cached);
  const completion = nonNegInt(usage.completionTokens);
  const cachedRate = price.cached_input_per_mtok_micros ?? price.input_per_mtok_micros;
  const cacheWriteRate = price.cache_write_per_mtok_micros ?? price.input_per_mtok_micros;
  // Products stay far below 2^53: 10M tokens × 1e10 µ$/Mtok = 1e17 would not, so rates and token
  // counts are bounded by the schema (≤ 1e10) and the gateway (context windows ≤ a few million).
  const numerator =
    (prompt - cached - cacheWrite) * price.input_per_mtok_micros +
    cached * cachedRate +
    cacheWrite * cacheWriteRate +
    completion * price.output_per_mtok_micros;
  const discount = options.batch ? (price.batch_discount_pct ?? 0) : 0;
  if (discount === 0) return Math.ceil(numerator / TOKENS_PER_PRICE_UNIT);
  // A batch line's discount, on the same exact integer sum, rounded up once (BigInt: the product
  // with the percentage may pass 2^53).
  const unit = BigInt(100 * TOKENS_PER_PRICE_UNIT);
  return Number((BigInt(numerator) * BigInt(100 - discount) + unit - 1n) / unit);
}

/**
 * The most a request can cost before we know how it ends: every prompt token at the dearest input
 * rate it could be billed at (the input price, or the cache-write premium where it is higher — a
 * prompt may be written to the cache whole) and every allowed completion token at the output price.
 */
export function worstCaseCostMicros(price: Price, promptTokens: number, maxCompletionTokens: number): number {
  const dearest = Math.max(price.input_per_mtok_micros, price.cache_write_per_mtok_micros ?? 0, price.cached_input_per_mtok_micros ?? 0);
  return costMicros({ ...price, input_per_mtok_micros: dearest }, { promptTokens, completionTokens: maxCompletionTokens, cachedTokens: 0 });
}

export const usdToMicros = (usd: number): number => Math.round(usd * MICROS_PER_USD);
export const microsToUsd = (micros: number): number => micros / MICROS_PER_USD;

/**
 * Integer micro-dollars as an exact decimal string with six places (`123` → `"0.000123"`), by
 * integer arithmetic: the `x-gateway-cost-usd` header and the usage API print the very integer
 * billing stores, never a float that could round it.
 */
export function microsToUsdString(micros: number): string {
  const m = Math.max(0, Math.trunc(micros));
  return `${Math.floor(m / MICROS_PER_USD)}.${String(m % MICROS_PER_USD).padStart(6, "0")}`;
}

/**
 * Integer micro-dollars as money for people (error messages): `$4.10`, `$5.00`; amounts finer than
 * a cent keep their digits, never rounded away (`$0.005`, `$1.6396`, `$0.000123`).
 */
export function formatUsd(micros: number): string {
  const exact = microsToUsdString(micros);
  const [whole, frac] = exact.split(".") as [string, string];
  return `$${whole}.${frac.replace(/0+$/, "").padEnd(2, "0")}`;
}

/** 'YYYY-MM' (UTC) of an epoch-ms instant: the budget and invoice period. */
export function monthOf(epochMs: number): string {
  // Hot: the limiter asks several times per request. The month of the last answer is kept with
  // its bounds, so asking again within it is two comparisons (no Date, no string).
  if (epochMs >= lastMonth.from && epochMs < lastMonth.to) return lastMonth.month;
  const d = new Date(epochMs);
  const month = d.toISOString().slice(0, 7);
  if (Number.isFinite(epochMs))
    lastMonth = { month, from: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), to: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
  return month;
}
let lastMonth = { month: "", from: 0, to: 0 };

/** Epoch ms of the first instant of the month after `epochMs` (UTC): when a monthly budget resets. */
export function nextMonthStart(epochMs: number): number {
  const d = new Date(epochMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/**
 * Looks up prices by model name. Names arrive in many spellings — `gpt-4o-mini-2024-07-18` from the
 * upstream, `openai/gpt-4o-mini` from a client pinning a provider, `claude-3-5-haiku-latest` — so a
 * lookup tries, in order:
 *   1. `<provider>/<model>` exactly (a provider-specific price, e.g. Groq's Llama), then `<model>`;
 *   2. the same with a trailing date/version stamp removed (`-2024-07-18`, `-20241022`, `-2503`,
 *      `-001`, `-latest`, `-preview`);
 *   3. a `<provider>/` prefix in the name itself removed and steps 1–2 repeated;
 *   4. the catch-all row `*` if the operator defined one.
 * Unknown models return null: billing records them with cost 0 and `priced = 0`; the gateway
 * refuses them to keys with a budget (`model_not_priced`), whose cost it could not bound.
 */
const MAX_MEMO = 1_000;

export class PriceBook {
  private readonly byModel: Map<string, Price>;
  private readonly usageMemo = new Map<string, Price | null>();

  constructor(prices: readonly Price[]) {
    this.byModel = new Map(prices.map((p) => [p.model.toLowerCase(), p]));
  }

  get size(): number {
    return this.byModel.size;
  }

  all(): Price[] {
    return [...this.byModel.values()];
  }

  find(model: string | null | undefined, provider?: string | null): Price | null {
    return this.findOwn(model, provider) ?? this.byModel.get(DEFAULT_PRICE_MODEL) ?? null;
  }

  /**
   * The price of a finished request: the model that served it, else the name the client asked for
   * (an alias that routing resolved keeps its own price if it has one), else the catch-all.
   */
  forUsage(servedModel: string | null, provider: string | null, requestedModel: string): Price | null {
    // Remembered per (served, provider, requested) for this book's life: the same few combinations
    // come back on every request, and the lookup (lower-casing, version-stamp regex) was a visible
    // part of the gateway's JavaScript per request. The book is immutable; a new table is a new book.
    const key = JSON.stringify([servedModel, provider, requestedModel]); // unambiguous, whatever the names hold
    const known = this.usageMemo.get(key);
    if (known !== undefined) return known;
    const price = this.findOwn(servedModel, provider) ?? this.findOwn(requestedModel, null) ?? this.byModel.get(DEFAULT_PRICE_MODEL) ?? null;
    if (this.usageMemo.size >= MAX_MEMO) this.usageMemo.clear();
    this.usageMemo.set(key, price);
    return price;
  }

  /** Like `find` without the catch-all row. */
  private findOwn(model: string | null | undefined, provider?: string | null): Price | null {
    if (model) {
      const name = model.toLowerCase();
      const prov = provider?.toLowerCase() ?? null;
      const hit = this.findExact(name, prov);
      if (hit) return hit;
      const slash = name.indexOf("/");
      if (slash > 0) {
        const hit2 = this.findExact(name.slice(slash + 1), prov ?? name.slice(0, slash));
        if (hit2) return hit2;
      }
    }
    return null;
  }

  /**
   * The prices a request may be settled at, one per upstream that may serve it (a route's targets,
   * or the one model a name resolves to), by the same rule as `forUsage` — so the reservation at
   * the most expensive of them is an upper bound of the settled cost. Null when one of them has no
   * price at all: its cost could not be bounded.
   */
  forTargets(targets: readonly { provider: string; model: string }[], requestedModel: string): Price[] | null {
    const prices: Price[] = [];
    for (const t of targets) {
      const price = this.forUsage(t.model, t.provider, requestedModel);
      if (!price) return null;
      prices.push(price);
    }
    return prices;
  }

  private findExact(name: string, provider: string | null): Price | null {
    for (const candidate of [name, stripVersion(name)]) {
      if (!candidate) continue;
      if (provider) {
        const pinned = this.byModel.get(`${provider}/${candidate}`);
        if (pinned) return pinned;
      }
      const plain = this.byModel.get(candidate);
      if (plain) return plain;
    }
    return null;
  }
}

/**
 * Drops one trailing version stamp: `gpt-4o-2024-08-06` → `gpt-4o`, `claude-3-5-haiku-20241022` →
 * `claude-3-5-haiku`, `mistral-small-2503` → `mistral-small`, `gemini-2.0-flash-001` →
 * `gemini-2.0-flash`, `gemini-3.1-pro-preview` → `gemini-3.1-pro`, `mistral-large-latest` → `mistral-large`.
 */
export function stripVersion(name: string): string | null {
  const stripped = name.replace(/(-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{3,4}|-latest|-preview(-\d{2}-\d{2})?|-exp)$/, "");
  return stripped !== name ? stripped : null;
}

function nonNegInt(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}
