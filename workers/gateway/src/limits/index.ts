import type { Principal } from "../../../shared/src";

/**
 * The gateway's side of exact limits and budgets (the RateLimiter Durable Object decides).
 *
 * Contract used by the inference routes:
 *   const lease = await acquireLimits(env, principal, reservation); // throws ApiError 429 when refused
 *   ...call tail...; add limitHeaders(lease) to the response
 *   ctx.waitUntil(settleLimits(env, lease, actual))                  // after the last byte
 * A principal without any limit or budget skips the object entirely (lease === null).
 */
export interface LimitReservation {
  /** Client's model name (alias or `<provider>/<model>`), for the worst-case price. */
  model: string;
  /** Estimated prompt tokens of the request. */
  promptTokens: number;
  /** Upper bound of completion tokens (max_tokens × n, or a documented default). */
  maxCompletionTokens: number;
}

export interface ActualUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  /** Upstream model that served the request (for pricing), null if none did. */
  model: string | null;
  provider: string | null;
}

/** Opaque to callers: what settle() needs to release the reservation. */
export interface Lease {
  id: string;
  subjects: string[];
  headers: Record<string, string>;
}

export function hasLimits(p: Principal): boolean {
  const any = (l: Record<string, unknown>) => Object.values(l).some((v) => v !== null && v !== undefined);
  return any(p.keyLimits) || any(p.tenantLimits) || any(p.keyBudget) || any(p.tenantBudget);
}

export function limitHeaders(lease: Lease | null): Record<string, string> {
  return lease?.headers ?? {};
}
