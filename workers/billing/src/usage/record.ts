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
}

/**
 * Prices an event by the model that served it (falling back to the requested name when no upstream
 * was reached) with the same integer arithmetic the limiter settles with, so the recorded spend and
 * the spend the budget enforced are the same number.
 */
export function priceEvent(event: ParsedUsageEvent, book: PriceBook): PricedUsage {
  const price = book.forUsage(event.model, event.provider, event.requested_model);
  const costUsdMicros = price
    ? costMicros(price, {
        promptTokens: event.prompt_tokens,
        completionTokens: event.completion_tokens,
        cachedTokens: event.cached_tokens,
      })
    : 0;
  return { event, costUsdMicros, priced: price !== null, month: monthOf(event.started_at) };
}

const INSERT_SQL = `INSERT INTO usage_events (
  request_id, tenant_id, key_id, operation, requested_model, provider, model,
  prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, total_tokens,
  status, stream, aborted, upstream_error, latency_ms, ttfb_ms, started_at, tags,
  cost_usd_micros, priced, month, received_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (request_id) DO NOTHING`;

/** The idempotent insert of one event; the rollup follows by trigger only if the row is new. */
export function insertStatement(db: D1Database, u: PricedUsage, receivedAt: number): D1PreparedStatement {
  const e = u.event;
  return db
    .prepare(INSERT_SQL)
    .bind(
      e.request_id,
      e.tenant_id,
      e.key_id,
      e.operation,
      e.requested_model,
      e.provider,
      e.model,
      e.prompt_tokens,
      e.completion_tokens,
      e.cached_tokens,
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
    );
}
