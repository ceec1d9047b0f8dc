import type { InvoiceLine, InvoiceLineKind } from "../../../shared/src/contracts/invoices";

/**
 * An invoice's lines for one tenant and month, computed from the usage ledger (`usage_events`, the
 * same rows the usage API's rollups are kept from), so the lines sum exactly to what the usage and
 * costs APIs report for the same tenant and period.
 *
 * The price rule (shared/src/pricing.ts `costMicros`) rounds each request up once, on the exact sum
 * of its terms. An invoice shows tokens × unit price per model and kind instead, so:
 *
 * - a token line's amount is floor(quantity × unit price / 1,000,000) µ$, at the rates of the
 *   price version the events were priced with (one line per model × version × kind);
 * - a batch price's `batch_discount` line takes floor(batch lines × pct / 100) off;
 * - one `rounding` line per model × version carries the difference to the recorded cost: what the
 *   per-request round-up added (never negative: each request's cost is at least its exact share).
 *
 * The subtotal is therefore the sum of recorded costs, to the micro-dollar. The one rounding to
 * cents is at the total (`roundToCents`).
 */

interface GroupRow {
  model: string;
  price_version: number | null;
  batch: number;
  requests: number;
  cost: number;
  input: number;
  cached: number;
  cache_write: number;
  output: number;
  total: number;
  input_rate: number | null;
  output_rate: number | null;
  cached_rate: number | null;
  cache_write_rate: number | null;
  discount_pct: number | null;
}

/** Token counts capped exactly as `costMicros` caps them (cache reads, then writes, within the prompt). */
const CACHED = "MIN(e.cached_tokens, e.prompt_tokens)";
const CACHE_WRITE = `MIN(e.cache_write_tokens, e.prompt_tokens - ${CACHED})`;

const LINES_SQL = `
SELECT COALESCE(e.model, e.requested_model) AS model, e.price_version AS price_version, e.operation = 'batch' AS batch,
       COUNT(*) AS requests, SUM(e.cost_usd_micros) AS cost,
       SUM(e.prompt_tokens - ${CACHED} - ${CACHE_WRITE}) AS input, SUM(${CACHED}) AS cached, SUM(${CACHE_WRITE}) AS cache_write,
       SUM(e.completion_tokens) AS output, SUM(e.total_tokens) AS total,
       v.input_per_mtok_micros AS input_rate, v.output_per_mtok_micros AS output_rate,
       v.cached_input_per_mtok_micros AS cached_rate, v.cache_write_per_mtok_micros AS cache_write_rate,
       v.batch_discount_pct AS discount_pct
FROM usage_events e
LEFT JOIN price_versions v ON v.model = e.price_model AND v.version = e.price_version
WHERE e.tenant_id = ? AND e.month = ?
GROUP BY COALESCE(e.model, e.requested_model), e.price_model, e.price_version, e.operation = 'batch'
ORDER BY model, price_version, batch`;

const MTOK = 1_000_000n;

/** floor(quantity × rate / 1e6) exactly (BigInt: a month's tokens × a rate may pass 2^53). */
function amountOf(quantity: number, rate: number): number {
  return Number((BigInt(quantity) * BigInt(rate)) / MTOK);
}

export interface ComputedLines {
  lines: InvoiceLine[];
  subtotalMicros: number;
}

export async function computeLines(db: D1Database, tenantId: string, month: string): Promise<ComputedLines> {
  const { results } = await db.prepare(LINES_SQL).bind(tenantId, month).all<GroupRow>();
  const lines: InvoiceLine[] = [];
  let subtotalMicros = 0;
  for (const g of results) {
    subtotalMicros += g.cost;
    const version = g.price_version;
    if (version === null || g.input_rate === null || g.output_rate === null) {
      lines.push({ model: g.model, kind: "usage", quantity: g.total, unit_price_micros_per_mtok: 0, amount_micros: g.cost, price_version: null });
      continue;
    }
    const batch = g.batch === 1;
    const terms: [InvoiceLineKind, InvoiceLineKind, number, number][] = [
      ["input", "batch_input", g.input, g.input_rate],
      ["cached_input", "batch_cached_input", g.cached, g.cached_rate ?? g.input_rate],
      ["cache_write", "batch_cache_write", g.cache_write, g.cache_write_rate ?? g.input_rate],
      ["output", "batch_output", g.output, g.output_rate],
    ];
    let sum = 0;
    let tokens = 0;
    for (const [kind, batchKind, quantity, rate] of terms) {
      if (quantity === 0) continue;
      const amount = amountOf(quantity, rate);
      sum += amount;
      tokens += quantity;
      lines.push({ model: g.model, kind: batch ? batchKind : kind, quantity, unit_price_micros_per_mtok: rate, amount_micros: amount, price_version: version });
    }
    const pct = batch ? (g.discount_pct ?? 0) : 0;
    if (pct > 0 && sum > 0) {
      const discount = Math.floor((sum * pct) / 100);
      sum -= discount;
      lines.push({ model: g.model, kind: "batch_discount", quantity: tokens, unit_price_micros_per_mtok: 0, amount_micros: -discount, price_version: version });
    }
    if (g.cost !== sum) {
      lines.push({
        model: g.model,
        kind: "rounding",
        quantity: g.requests,
        unit_price_micros_per_mtok: 0,
        amount_micros: g.cost - sum,
        price_version: version,
      });
    }
  }
  return { lines, subtotalMicros };
}

/** The one rounding of an invoice: its total to whole cents (10,000 µ$), half up. */
export function roundToCents(micros: number): number {
  return Math.floor((micros + 5_000) / 10_000) * 10_000;
}

/** 'YYYY-MM' → unix seconds of its first instant (UTC) and of the next month's. */
export function periodBounds(month: string): { start: number; end: number } {
  const [y, m] = month.split("-").map(Number) as [number, number];
  return { start: Date.UTC(y, m - 1, 1) / 1000, end: Date.UTC(y, m, 1) / 1000 };
}
