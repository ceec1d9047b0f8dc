import {
  ApiError,
  LEASE_RENEW_MS,
  costMicros,
  usdToMicros,
  worstCaseCostMicros,
  type Budget,
  type Limits,
  type Principal,
  type SubjectLimits,
} from "../../../shared/src";
import { priceBook } from "./prices";
import { rateLimitHeaders, refusalError } from "./refusal";

/**
 * The gateway's side of exact limits and budgets (the RateLimiter Durable Object decides).
 *
 * Contract used by the inference routes:
 *   const lease = await acquireLimits(env, principal, reservation); // throws ApiError 429 when refused
 *   ...call tail...; add limitHeaders(lease) to the response
 *   ctx.waitUntil(settleLimits(env, lease, actual))                  // after the last byte
 * A principal without any limit or budget skips the object entirely (lease === null). While the
 * request runs (a long stream), the lease renews itself every `LEASE_RENEW_MS` until it is settled,
 * so it never loses its slot to the TTL that frees crashed requests' slots.
 *
 * One Durable Object call per request: the object is `tenant:<id>` when the tenant has any limit
 * or budget — it then also holds the counters of that tenant's keys, so key and tenant limits are
 * checked and reserved atomically together — and `key:<id>` otherwise, so tenants without
 * tenant-wide limits spread over one object per key. (A tenant-wide exact counter needs one
 * serialisation point anyway; keeping its keys there costs nothing and avoids a second hop.)
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
  /** Name of the RateLimiter object that holds the lease. */
  object: string;
  /** The client's model name, priced at settle if the upstream model has no price of its own. */
  requestedModel: string;
  /** Worst-case cost reserved (µ$), used as the settled cost if prices cannot be read. */
  reservedCostMicros: number;
  /** A budget applies, so settle must price the actual usage. */
  budgeted: boolean;
  /** Stops the renewals (settle calls it). */
  stopRenewing: () => void;
}

export function hasLimits(p: Principal): boolean {
  const any = (l: Record<string, unknown>) => Object.values(l).some((v) => v !== null && v !== undefined);
  return any(p.keyLimits) || any(p.tenantLimits) || any(p.keyBudget) || any(p.tenantBudget);
}

export function limitHeaders(lease: Lease | null): Record<string, string> {
  return lease?.headers ?? {};
}

/** The subjects whose limits apply to a principal, with their current settings. */
export function subjectsOf(p: Principal): SubjectLimits[] {
  const subject = (id: string, l: Limits, b: Budget): SubjectLimits | null => {
    const s: SubjectLimits = {
      id,
      rpm: l.rpm ?? null,
      tpm: l.tpm ?? null,
      maxConcurrency: l.max_concurrency ?? null,
      monthlyBudgetMicros: b.monthly_usd === null || b.monthly_usd === undefined ? null : usdToMicros(b.monthly_usd),
    };
    return s.rpm === null && s.tpm === null && s.maxConcurrency === null && s.monthlyBudgetMicros === null ? null : s;
  };
  return [subject(`key:${p.keyId}`, p.keyLimits, p.keyBudget), subject(`tenant:${p.tenantId}`, p.tenantLimits, p.tenantBudget)].filter(
    (s): s is SubjectLimits => s !== null,
  );
}

/** The one object that holds every subject of the request (see the module comment). */
export function objectNameOf(subjects: SubjectLimits[]): string {
  return subjects.find((s) => s.id.startsWith("tenant:"))?.id ?? subjects[0]!.id;
}

/** The other object the key's counters live in when the tenant's limits change (hands its spend over). */
function peerOf(object: string, p: Principal): string {
  return object.startsWith("tenant:") ? `key:${p.keyId}` : `tenant:${p.tenantId}`;
}

/**
 * Reserves a request slot, a concurrency slot, the estimated tokens and the worst-case cost with
 * one Durable Object call. Throws the 429 the client must see when any limit refuses (nothing is
 * consumed then), or a 503 when the limiter cannot be reached: limits and budgets are a promise,
 * so the gateway fails closed rather than letting requests through uncounted.
 */
export async function acquireLimits(
  env: Pick<GatewayEnv, "RATE_LIMITER" | "BILLING">,
  principal: Principal,
  reservation: LimitReservation,
  renewEveryMs = LEASE_RENEW_MS,
): Promise<Lease | null> {
  if (!hasLimits(principal)) return null;
  const subjects = subjectsOf(principal);
  const budgeted = subjects.some((s) => s.monthlyBudgetMicros !== null);
  const tokens = nonNeg(reservation.promptTokens) + nonNeg(reservation.maxCompletionTokens);
  const reservedCostMicros = budgeted ? await worstCaseCost(env, reservation) : 0;
  const object = objectNameOf(subjects);

  const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(object));
  let result;
  try {
    result = await stub.acquire({ subjects, tokens, costMicros: reservedCostMicros, peer: peerOf(object, principal) });
  } catch (err) {
    console.error(JSON.stringify({ level: "error", message: "rate limiter unreachable", object, error: err instanceof Error ? err.message : String(err) }));
    throw new ApiError({
      code: "service_unavailable",
      message: "The rate limiter is temporarily unavailable. Please retry.",
      headers: { "retry-after": "1" },
    });
  }
  if (result.ok) {
    return {
      id: result.leaseId,
      subjects: subjects.map((s) => s.id),
      headers: rateLimitHeaders(result.status),
      object,
      requestedModel: reservation.model,
      reservedCostMicros,
      budgeted,
      stopRenewing: keepRenewing(stub, result.leaseId, object, renewEveryMs),
    };
  }
  if ("unavailable" in result) {
    console.error(JSON.stringify({ level: "error", message: "rate limiter could not read month-to-date spend", object, error: result.unavailable }));
    throw new ApiError({
      code: "service_unavailable",
      message: "The budget cannot be checked right now. Please retry.",
      headers: { "retry-after": "1" },
    });
  }
  if ("invalid" in result) {
    console.error(JSON.stringify({ level: "error", message: "rate limiter rejected the acquire request", object, error: result.invalid }));
    throw new ApiError({ code: "internal_error", message: "The gateway had an internal error. Quote the request id when reporting it." });
  }
  throw refusalError(result.refusal, result.status);
}

/**
 * Replaces the reservation with the actual usage and frees the concurrency slot. Runs after the
 * response (in `ctx.waitUntil`) and never throws: if the object cannot be reached the lease expires
 * on its own (its slot frees, its worst-case cost stays charged).
 */
export async function settleLimits(
  env: Pick<GatewayEnv, "RATE_LIMITER" | "BILLING">,
  lease: Lease | null,
  actual: ActualUsage,
): Promise<void> {
  if (!lease) return;
  lease.stopRenewing();
  const tokens = nonNeg(actual.promptTokens) + nonNeg(actual.completionTokens);
  let cost = 0;
  if (lease.budgeted) {
    try {
      const price = (await priceBook(env)).forUsage(actual.model, actual.provider, lease.requestedModel);
      cost = price ? costMicros(price, actual) : 0;
    } catch {
      cost = lease.reservedCostMicros;
    }
  }
  const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(lease.object));
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      const res = await stub.settle({ leaseId: lease.id, tokens, costMicros: cost });
      if (!res.ok) console.error(JSON.stringify({ level: "error", message: "settle rejected", object: lease.object, error: res.message }));
      return;
    } catch (err) {
      if (attempt === 2) {
        console.error(JSON.stringify({ level: "error", message: "settle failed; lease will expire", object: lease.object, error: err instanceof Error ? err.message : String(err) }));
      }
    }
  }
}

/**
 * Renews a lease every `everyMs` until stopped: a request shorter than that never renews (one timer
 * set and cleared). The timer lives in the request's context, so it stops with it even if settle
 * never runs — a crashed request's lease then expires as designed. A failed renewal is retried at
 * the next tick (the TTL is twice the interval).
 */
function keepRenewing(stub: ReturnType<GatewayEnv["RATE_LIMITER"]["get"]>, leaseId: string, object: string, everyMs: number): () => void {
  const timer = setInterval(() => {
    stub.renew({ leaseId }).then(
      (res) => {
        if (!res.ok || !res.renewed) {
          console.error(JSON.stringify({ level: "error", message: "lease renewal refused", object, error: res.ok ? "lease not open" : res.message }));
          clearInterval(timer);
        }
      },
      (err: unknown) => console.error(JSON.stringify({ level: "error", message: "lease renewal failed", object, error: err instanceof Error ? err.message : String(err) })),
    );
  }, everyMs);
  return () => clearInterval(timer);
}

/**
 * The most this request can cost: the prompt estimate at the full input price plus every allowed
 * completion token at the output price. A model without a price of its own (e.g. an alias routing
 * resolves later) is reserved at the catch-all `*` price if one is set, else at the most expensive
 * model in the table — so a budget is never overspent because the reservation guessed low. A model
 * that turns out to have no price at all costs 0 at settle, as billing records it.
 */
async function worstCaseCost(env: Pick<GatewayEnv, "BILLING">, r: LimitReservation): Promise<number> {
  let book;
  try {
    book = await priceBook(env);
  } catch {
    throw new ApiError({
      code: "service_unavailable",
      message: "Prices are temporarily unavailable, so a budget cannot be checked. Please retry.",
      headers: { "retry-after": "1" },
    });
  }
  const price = book.worstCase(r.model);
  return price ? worstCaseCostMicros(price, nonNeg(r.promptTokens), nonNeg(r.maxCompletionTokens)) : 0;
}

const nonNeg = (n: number) => (Number.isFinite(n) && n > 0 ? Math.floor(n) : 0);
