import {
  ApiError,
  LEASE_RENEW_MS,
  COMPLETIONS_DEFAULT_MAX_TOKENS,
  costMicros,
  DEFAULT_COMPLETION_CAP,
  maxOutputTokens,
  SHARD_ABOVE_RPM,
  SHARDS,
  usdToMicros,
  worstCaseCostMicros,
  type Budget,
  type Limits,
  type Principal,
  type ProxyOperation,
  type RouteTarget,
  type SettleRequest,
  type SubjectLimits,
  type TokenCounts,
} from "../../../shared/src";
import type { CompletionAsk } from "../../../shared/src/openai";
import { errorMessage, log } from "../../../shared/src/log";
import { creditLimitOf } from "./credits";
import { priceBook } from "./prices";
import { rateLimitHeaders, refusalError, refusalReason } from "./refusal";
import { SettlementQueue } from "./settlements";
import type { RefusalReason } from "../../../shared/src/contracts/metrics";
import { routeTargets } from "./targets";

/**
 * The gateway's side of exact limits and budgets (the RateLimiter Durable Object decides).
 *
 * Contract used by the inference routes:
 *   const lease = await acquireLimits(env, principal, reservation); // throws ApiError 429 when refused
 *   ...call tail...; add limitHeaders(lease) to the response
 *   ctx.waitUntil(settleLimits(env, lease, actual))                  // after the last byte: carried by
 *                                                                     // the isolate's next acquire there (settlements.ts)
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
  /** Client's model name (alias or `<provider>/<model>`), resolved to its targets for the worst case. */
  model: string;
  operation: ProxyOperation;
  /** Estimated prompt tokens of the request. */
  promptTokens: number;
  /** The client's completion maximum per choice (null: none set) and the number of choices. */
  completion: CompletionAsk;
  /** `batch`: a batch line, admitted only within `BATCH_SHARE` of each rate limit (interactive traffic keeps the rest). */
  priority?: "batch";
  /** Told once when a limit refuses the request (GET /metrics counts it: metrics/refusals.ts). */
  onRefused?: (reason: RefusalReason) => void;
}

/**
 * Batch lines run at a lower priority than interactive requests: they see each subject's rpm, tpm
 * and concurrency scaled to this share, against the same counters, so they stop (and wait on the
 * Queue) while the last 20% of every limit stays free for interactive traffic. Budgets are spend,
 * not rate, and apply in full.
 */
export const BATCH_SHARE = 0.8;

function atBatchPriority(s: SubjectLimits): SubjectLimits {
  const share = (n: number | null) => (n === null ? null : Math.max(1, Math.floor(n * BATCH_SHARE)));
  return { ...s, rpm: share(s.rpm), tpm: share(s.tpm), maxConcurrency: share(s.maxConcurrency) };
}

/** The request's one metered usage record (`TokenUsage`, cache writes included) and what served it. */
export interface ActualUsage extends TokenCounts {
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
  /** A batch line: settled at the model's batch price (its `batch_discount_pct`), as billing records it. */
  batch: boolean;
  /** Stops the renewals (settle calls it). */
  stopRenewing: () => void;
  /**
   * Fields to set in the body sent upstream, so the upstream cannot generate more than was
   * reserved (a maximum the client did not set; see model-output.ts). Null: send the body as is.
   */
  bodyOverrides: Record<string, number> | null;
}

export function hasLimits(p: Principal): boolean {
  const any = (l: Record<string, unknown>) => Object.values(l).some((v) => v !== null && v !== undefined);
  return any(p.keyLimits) || any(p.tenantLimits) || any(p.keyBudget) || any(p.tenantBudget);
}

export function limitHeaders(lease: Lease | null): Record<string, string> {
  return lease?.headers ?? {};
}

/**
 * The subjects whose limits apply to a principal, with their current settings. A prepaid tenant's
 * credit month limit (`creditLimitMicros`, limits/credits.ts) is its tenant subject's budget — the
 * lower of it and the tenant's own monthly budget — so credits are reserved and settled by the one
 * budget mechanism: parallel requests can never take the balance below zero.
 */
export function subjectsOf(p: Principal, creditLimitMicros: number | null = null): SubjectLimits[] {
  const subject = (id: string, l: Limits, b: Budget, credit: number | null): SubjectLimits | null => {
    const budget = b.monthly_usd === null || b.monthly_usd === undefined ? null : usdToMicros(b.monthly_usd);
    const s: SubjectLimits = {
      id,
      rpm: l.rpm ?? null,
      tpm: l.tpm ?? null,
      maxConcurrency: l.max_concurrency ?? null,
      monthlyBudgetMicros: credit === null ? budget : Math.max(0, budget === null ? credit : Math.min(budget, credit)),
    };
    return s.rpm === null && s.tpm === null && s.maxConcurrency === null && s.monthlyBudgetMicros === null ? null : s;
  };
  return [subject(`key:${p.keyId}`, p.keyLimits, p.keyBudget, null), subject(`tenant:${p.tenantId}`, p.tenantLimits, p.tenantBudget, creditLimitMicros)].filter(
    (s): s is SubjectLimits => s !== null,
  );
}

/** The one object that holds every subject of the request (see the module comment). */
export function objectNameOf(subjects: SubjectLimits[]): string {
  return subjects.find((s) => s.id.startsWith("tenant:"))?.id ?? subjects[0]!.id;
}

/**
 * Sharded limits: when every subject of the request allows at least `SHARD_ABOVE_RPM` requests per
 * minute and none limits concurrency, the request goes to one of `SHARDS` shard objects of the
 * object that holds its subjects (which borrow quota from it, see workers/rate-limiter/src/shard.ts),
 * so one tenant's traffic is not capped by one object. Each isolate uses one shard.
 */
export function shardOf(object: string, subjects: SubjectLimits[], shard = isolateShard()): string | null {
  const sharded = subjects.every((s) => s.rpm !== null && s.rpm >= SHARD_ABOVE_RPM && s.maxConcurrency === null);
  return sharded ? `${object}/shard-${shard}` : null;
}

let shardOfIsolate: number | null = null;
function isolateShard(): number {
  shardOfIsolate ??= Math.floor(Math.random() * SHARDS);
  return shardOfIsolate;
}

/** The log fields naming who a request is for. */
const who = (p: Principal) => ({ op: "acquire", tenantId: p.tenantId, keyId: p.keyId });

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
  env: Pick<GatewayEnv, "RATE_LIMITER" | "BILLING" | "MODEL_PROXY">,
  principal: Principal,
  reservation: LimitReservation,
  renewEveryMs = LEASE_RENEW_MS,
): Promise<Lease | null> {
  const credit = await creditLimitOf(env, principal);
  if (!hasLimits(principal) && credit === null) return null;
  const all = subjectsOf(principal, credit);
  const subjects = reservation.priority === "batch" ? all.map(atBatchPriority) : all;
  const budgeted = subjects.some((s) => s.monthlyBudgetMicros !== null);
  // The targets price an alias by what may serve it and bound an answer without a client maximum;
  // a request with its own maximum to a key without a budget needs neither.
  const targets = budgeted || reservation.completion.maxPerChoice === null ? await routeTargets(env, principal, reservation.model, reservation.operation) : [];
  const bound = completionBound(reservation, targets);
  const promptTokens = nonNeg(reservation.promptTokens);
  const tokens = promptTokens + bound.tokens;
  const reservedCostMicros = budgeted ? await worstCaseCost(env, reservation.model, targets, promptTokens, bound.tokens) : 0;
  const holder = objectNameOf(subjects);
  const shard = shardOf(holder, subjects);
  const object = shard ?? holder;

  const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(object));
  // This isolate's finished requests on the same object ride along (settlements.ts).
  const settle = settlements.take(object);
  let result;
  try {
    result = await stub.acquire({
      subjects,
      tokens,
      costMicros: reservedCostMicros,
      peer: peerOf(holder, principal),
      principalToken: principal.token,
      ...(shard ? { parent: holder } : {}),
      ...(settle ? { settle } : {}),
    });
  } catch (err) {
    if (settle) settlements.putBack(object, settle);
    log.error("gateway", "rate limiter unreachable", { ...who(principal), detail: object, message: errorMessage(err) });
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
      batch: reservation.priority === "batch",
      stopRenewing: keepRenewing(stub, result.leaseId, object, renewEveryMs),
      bodyOverrides: bound.bodyOverrides,
    };
  }
  if ("unavailable" in result) {
    log.error("gateway", "rate limiter could not read month-to-date spend", { ...who(principal), detail: object, message: result.unavailable });
    throw new ApiError({
      code: "service_unavailable",
      message: "The budget cannot be checked right now. Please retry.",
      headers: { "retry-after": "1" },
    });
  }
  if ("invalid" in result) {
    log.error("gateway", "rate limiter rejected the acquire request", { ...who(principal), detail: object, message: result.invalid });
    throw new ApiError({ code: "internal_error", message: "The gateway had an internal error. Quote the request id when reporting it." });
  }
  const tenantBudget = principal.tenantBudget.monthly_usd;
  const byCredits =
    credit !== null && result.refusal.subject === `tenant:${principal.tenantId}` && (tenantBudget == null || credit <= usdToMicros(tenantBudget));
  reservation.onRefused?.(refusalReason(result.refusal, byCredits));
  throw refusalError(result.refusal, result.status, Date.now(), byCredits);
}

/**
 * Replaces the reservation with the actual usage and frees the concurrency slot. Runs after the
 * response (in `ctx.waitUntil`) and never throws: the settlement is queued for the isolate's next
 * acquire to the same object, or sent alone within `SETTLE_DELAY_MS` (settlements.ts). If the object
 * cannot be reached the lease expires on its own (its slot frees, its worst-case cost stays charged).
 */
export async function settleLimits(env: Pick<GatewayEnv, "RATE_LIMITER" | "BILLING">, lease: Lease | null, actual: ActualUsage): Promise<void> {
  if (!lease) return;
  lease.stopRenewing();
  const tokens = nonNeg(actual.promptTokens) + nonNeg(actual.completionTokens);
  let cost = 0;
  if (lease.budgeted) {
    try {
      const price = (await priceBook(env)).forUsage(actual.model, actual.provider, lease.requestedModel);
      cost = price ? costMicros(price, actual, { batch: lease.batch }) : 0;
    } catch {
      cost = lease.reservedCostMicros;
    }
  }
  const object = lease.object;
  return settlements.add(object, { leaseId: lease.id, tokens, costMicros: cost }, (batch) => sendSettlements(env, object, batch));
}

/** This isolate's settlements that no acquire carried within `SETTLE_DELAY_MS` (settlements.ts). */
const settlements = new SettlementQueue();

/** For tests: forget queued settlements. */
export function resetSettlements(): void {
  settlements.clear();
}

/** Sends queued settlements to their object in one call; never throws (a lease not settled expires). */
async function sendSettlements(env: Pick<GatewayEnv, "RATE_LIMITER">, object: string, batch: SettleRequest[]): Promise<void> {
  const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(object));
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      const res = await stub.settleBatch({ settlements: batch });
      if (!res.ok) log.error("gateway", "settle rejected", { op: "settle", detail: object, message: res.message });
      return;
    } catch (err) {
      if (attempt === 2) {
        log.error("gateway", "settle failed; lease will expire", { op: "settle", detail: object, message: errorMessage(err) });
      }
    }
  }
}

/** Providers that read OpenAI's `max_completion_tokens` (its reasoning models refuse `max_tokens`). */
const OPENAI_NATIVE = new Set(["openai", "azure-openai"]);

/**
 * The most completion tokens the request can produce (all choices), and what to send upstream so
 * that holds (see model-output.ts): the client's maximum; else `/v1/completions`' documented
 * default of 16, sent explicitly; else the largest documented output of the targets when all are
 * known; else the default cap, sent as the request's maximum.
 */
function completionBound(r: LimitReservation, targets: readonly RouteTarget[]): { tokens: number; bodyOverrides: Record<string, number> | null } {
  const { maxPerChoice, choices } = r.completion;
  const times = (perChoice: number) => nonNeg(perChoice) * Math.max(1, nonNeg(choices));
  if (maxPerChoice !== null) return { tokens: times(maxPerChoice), bodyOverrides: null };
  if (r.operation === "completions") return { tokens: times(COMPLETIONS_DEFAULT_MAX_TOKENS), bodyOverrides: { max_tokens: COMPLETIONS_DEFAULT_MAX_TOKENS } };
  const known = targets.map((t) => maxOutputTokens(t.model));
  if (known.length > 0 && known.every((n) => n !== null)) return { tokens: times(Math.max(...(known as number[]))), bodyOverrides: null };
  const field = targets.length > 0 && targets.every((t) => OPENAI_NATIVE.has(t.type)) ? "max_completion_tokens" : "max_tokens";
  return { tokens: times(DEFAULT_COMPLETION_CAP), bodyOverrides: { [field]: DEFAULT_COMPLETION_CAP } };
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
          log.error("gateway", "lease renewal refused", { op: "renew", detail: object, message: res.ok ? "lease not open" : res.message });
          clearInterval(timer);
        }
      },
      (err: unknown) => log.error("gateway", "lease renewal failed", { op: "renew", detail: object, message: errorMessage(err) }),
    );
  }, everyMs);
  return () => clearInterval(timer);
}

/**
 * The most this request can cost: the prompt estimate at the full input price plus every allowed
 * completion token at the output price, at the most expensive upstream that may serve it (an
 * alias is reserved at its dearest target, not at its own name's price). Each target is priced as
 * settlement will price it; a target without any price (and no `*` row) makes the request
 * unbounded, so a budgeted key is refused it rather than served for free.
 */
async function worstCaseCost(
  env: Pick<GatewayEnv, "BILLING">,
  model: string,
  targets: readonly RouteTarget[],
  promptTokens: number,
  completionTokens: number,
): Promise<number> {
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
  const prices = book.forTargets(targets, model);
  if (!prices) {
    throw new ApiError({
      code: "model_not_priced",
      param: "model",
      message: `The model '${model}' has no price, so its cost cannot be counted against this key's budget. Use a priced model, or ask the operator to set its price (or a '*' default price).`,
    });
  }
  return Math.max(0, ...prices.map((p) => worstCaseCostMicros(p, promptTokens, completionTokens)));
}

const nonNeg = (n: number) => (Number.isFinite(n) && n > 0 ? Math.floor(n) : 0);
