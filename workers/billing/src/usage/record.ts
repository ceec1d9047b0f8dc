import { UsageEventSchema } from "../../../shared/src/contracts/usage";
import { costMicros, monthOf, type PriceBook } from "../../../shared/src/pricing";
import type { z } from "zod";

export type ParsedUsageEvent = z.output<typeof UsageEventSchema>;

/** A usage event priced and shaped as one `usage_events` row. */
export interface PricedUsage {
  event: ParsedUsageEvent;
  costUsdMicros: number;
  priced: boolean;
  month: string;
  /** The price row (`prices.model`) and version it was priced with; null when unpriced. */
  priceModel: string | null;
  priceVersion: number | null;
}

/**
 * Prices an event by the model that served it (falling back to the requested name when no upstream
 * was reached) with the same integer arithmetic the limiter settles with, so the recorded spend and
 * the spend the budget enforced are the same number.
 */
export function priceEvent(event: ParsedUsageEvent, book: PriceBook, versions: ReadonlyMap<string, number> = new Map()): PricedUsage {
  const price = book.forUsage(event.model, event.provider, event.requested_model);
  const costUsdMicros = price
    ? costMicros(
        price,
        {
          promptTokens: event.prompt_tokens,
          completionTokens: event.completion_tokens,
          cachedTokens: event.cached_tokens,
          cacheWriteTokens: event.cache_write_tokens,
        },
        { batch: event.operation === "batch" },
      )
    : 0;
  const version = price ? versions.get(price.model) : undefined;
  return {
    event,
    costUsdMicros,
    priced: price !== null,
    month: monthOf(event.started_at),
    priceModel: price && version ? price.model : null,
    priceVersion: price && version ? version : null,
  };
}

const COLUMNS = `request_id, client_request_id, tenant_id, key_id, operation, requested_model, provider, model,
  prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, total_tokens,
  status, stream, aborted, upstream_error, latency_ms, ttfb_ms, started_at, tags,
  cost_usd_micros, priced, month, received_at, price_model, price_version`;
const COLUMN_COUNT = 28;

/**
 * Rows per INSERT: D1 binds at most 100 parameters per statement, so 3 rows of 28 columns. Fewer
 * statements per delivery is less work per row for D1 (each statement is executed and accounted
 * on its own).
 */
export const ROWS_PER_INSERT = Math.floor(100 / COLUMN_COUNT);

/** `INSERT … VALUES (…), (…) ON CONFLICT DO NOTHING` for `rows` rows, built once per row count. */
const INSERT_SQL = Array.from({ length: ROWS_PER_INSERT + 1 }, (_, rows) =>
  rows === 0
    ? ""
    : `INSERT INTO usage_events (${COLUMNS}) VALUES ${Array.from({ length: rows }, () => `(${Array(COLUMN_COUNT).fill("?").join(", ")})`).join(", ")}
ON CONFLICT (request_id) DO NOTHING`,
);

function values(u: PricedUsage, receivedAt: number): unknown[] {
  const e = u.event;
  return [
    e.request_id,
    e.client_request_id,
    e.tenant_id,
    e.key_id,
    e.operation,
    e.requested_model,
    e.provider,
    e.model,
    e.prompt_tokens,
    e.completion_tokens,
    e.cached_tokens,
    e.cache_write_tokens,
    e.reasoning_tokens,
    e.total_tokens,
    e.status,
    e.stream ? 1 : 0,
    e.aborted ? 1 : 0,
    e.upstream_error ? 1 : 0,
    e.latency_ms,
    e.ttfb_ms,
    e.started_at,
    JSON.stringify(e.tags),
    u.costUsdMicros,
    u.priced ? 1 : 0,
    u.month,
    receivedAt,
    u.priceModel,
    u.priceVersion,
  ];
}

/**
 * The idempotent inserts of `rows`, ROWS_PER_INSERT rows per statement. `ON CONFLICT (request_id)
 * DO NOTHING` skips a row already stored (or repeated earlier in the same statement), and the
 * rollup trigger (migrations/billing/0001) fires once per row really inserted, so a redelivered
 * event changes neither usage_events nor usage_monthly.
 */
export function insertStatements(db: D1Database, rows: readonly PricedUsage[], receivedAt: number, perStatement = ROWS_PER_INSERT): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    statements.push(db.prepare(INSERT_SQL[chunk.length]!).bind(...chunk.flatMap((u) => values(u, receivedAt))));
  }
  return statements;
}
