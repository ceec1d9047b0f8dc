import { microsToUsdString } from "../../../shared/src";
import type { RequestUsage } from "../../../shared/src/contracts/usage-api";

interface EventRow {
  request_id: string;
  client_request_id: string | null;
  key_id: string;
  operation: string;
  requested_model: string;
  provider: string | null;
  model: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
  cost_usd_micros: number;
  priced: number;
  status: number;
  stream: number;
  aborted: number;
  latency_ms: number;
  ttfb_ms: number | null;
  started_at: number;
}

/**
 * One request's stored usage event, if it belongs to `tenantId` (another tenant's id reads as
 * unknown: the caller learns nothing about it). Null until the queue consumer has stored it.
 */
export async function requestUsage(db: D1Database, tenantId: string, requestId: string): Promise<RequestUsage | null> {
  const row = await db.prepare("SELECT * FROM usage_events WHERE request_id = ? AND tenant_id = ?").bind(requestId, tenantId).first<EventRow>();
  if (!row) return null;
  return {
    object: "usage.request",
    request_id: row.request_id,
    client_request_id: row.client_request_id,
    api_key_id: row.key_id,
    operation: row.operation,
    requested_model: row.requested_model,
    provider: row.provider,
    model: row.model,
    prompt_tokens: row.prompt_tokens,
    completion_tokens: row.completion_tokens,
    cached_tokens: row.cached_tokens,
    cache_write_tokens: row.cache_write_tokens,
    reasoning_tokens: row.reasoning_tokens,
    total_tokens: row.total_tokens,
    cost_usd: microsToUsdString(row.cost_usd_micros),
    cost_usd_micros: row.cost_usd_micros,
    priced: row.priced === 1,
    status: row.status,
    stream: row.stream === 1,
    aborted: row.aborted === 1,
    latency_ms: row.latency_ms,
    ttfb_ms: row.ttfb_ms,
    created_at: Math.floor(row.started_at / 1000),
  };
}
