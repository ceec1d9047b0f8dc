import { GATEWAY_HEADERS } from "../../../shared/src/proxy/headers";
import { ApiError, type ApiErrorInit } from "../../../shared/src";
import type { RouteStrategy } from "../../../shared/src/contracts/providers";
import { isTimeout, UpstreamFailure } from "../providers/upstream-errors";
import { DEFAULT_BACKOFF, retryDelayMs, type BackoffPolicy } from "./backoff";
import type { CircuitConfig, UsageLimits } from "../../../../durable-objects/circuit-breaker";
import type { Background, Breakers } from "./breaker";
import { failurePolicy } from "./failure";
import type { LatencyTracker } from "./latency";
import { orderByTier, type Weighted } from "./strategy";
import { errorMessage, log } from "../../../shared/src/log";

/**
 * A deployment a request may be sent to: provider × upstream model. `key` names its circuit (and
 * its latency record): provider × model for a platform provider, × tenant for a tenant's own.
 */
export interface RoutedTarget extends Weighted {
  providerName: string;
  model: string;
  /** The provider's own per-attempt timeout (a route's wins). */
  timeoutMs: number;
  /**
   * The circuit for failures that may stem from a tenant's configuration rather than the upstream:
   * timeouts under a tenant route's `timeout_ms` shorter than the provider's own. Absent when the
   * platform configured the route (its timeouts are the platform's own measure).
   */
  tenantKey?: string;
  /** The route's own circuit settings (LiteLLM's allowed_fails / cooldown_time); default: model-proxy's vars. */
  circuit?: CircuitConfig;
  /** Per-minute limits of this deployment, counted across isolates (LiteLLM's `rpm`/`tpm`). */
  limits?: UsageLimits;
  /** LiteLLM's `order` tier. */
  order?: number;
}

export interface RoutePlan<T extends RoutedTarget> {
  /** The model name the client asked for (for messages). */
  requested: string;
  strategy: RouteStrategy;
  targets: readonly T[];
  /** Retries of the same target before moving on. */
  retries: number;
  /** Per-attempt timeout; for streams it runs until the first byte. */
  timeoutMs: number | null;
  stream: boolean;
  /** What the request counts against a deployment's `tpm` (its estimated prompt and completion). */
  tokens?: number;
  /** Upstream calls this plan may make (what is left of MAX_ATTEMPTS after earlier groups). */
  maxAttempts?: number;
}

export interface AttemptRecord {
  provider: string;
  model: string;
  /** `ok`, or the error code of the failure. */
  outcome: string;
  ms: number;
  /** Our timeout gave up on it after it was sent: the upstream may bill it though nothing came back. */
  abandoned?: boolean;
}

export type RouteResult<T> =
  | {
      ok: true;
      response: Response;
      target: T;
      attempts: AttemptRecord[];
      /** Aborts the committed upstream call (the stream's reader uses it when the client goes away). */
      abort: AbortController;
    }
  | { ok: false; error: ApiErrorInit; attempts: AttemptRecord[]; target: T | null };

export interface RouterDeps<T extends RoutedTarget> {
  breakers: Breakers;
  latency: LatencyTracker;
  /** Makes one upstream call (reveals the credential, runs the adapter). Throws ApiError on failure. */
  attempt: (target: T, signal: AbortSignal, timeoutMs: number) => Promise<Response>;
  background: Background;
  random?: () => number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  backoff?: BackoffPolicy;
  /** Requests in flight per target in this isolate (`least-busy`). */
  busy?: BusyTracker;
}

/** Requests in flight per target key, in this isolate: what `least-busy` compares. */
export class BusyTracker {
  readonly #counts = new Map<string, number>();

  start(key: string): void {
    if (this.#counts.size > 10_000) this.#counts.clear();
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  end(key: string): void {
    const n = (this.#counts.get(key) ?? 1) - 1;
    if (n <= 0) this.#counts.delete(key);
    else this.#counts.set(key, n);
  }

  get(key: string): number {
    return this.#counts.get(key) ?? 0;
  }
}

/** Upper bound on upstream calls for one request, whatever the route says. */
export const MAX_ATTEMPTS = 10;

/**
 * Runs one request through a route: orders the targets by strategy, skips targets whose circuit
 * is open, retries a target on transient failures (backoff with jitter, never sooner than its
 * `retry-after`), falls back to the next target, and stops at the first success.
 *
 * A stream is committed only once its first chunk has arrived: a stream that fails or stays
 * silent past the attempt timeout before that falls back like any failed attempt; after it,
 * nothing here touches the stream (failures mid-stream are the stream's own to report).
 */
export async function runRoute<T extends RoutedTarget>(plan: RoutePlan<T>, deps: RouterDeps<T>): Promise<RouteResult<T>> {
  const random = deps.random ?? Math.random;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const backoff = deps.backoff ?? DEFAULT_BACKOFF;
  // Usage-based routing compares this minute's tokens per deployment, read from their objects.
  const usage = new Map<string, number>();
  if (plan.strategy === "usage-based") {
    const read = await Promise.all(plan.targets.map(async (t) => [t.key, await deps.breakers.tokensThisMinute(t.key)] as const));
    for (const [key, tokens] of read) usage.set(key, tokens);
  }
  const ordered = orderByTier(plan.strategy, plan.targets, {
    random,
    latencyOf: (key) => deps.latency.get(key),
    busyOf: (key) => deps.busy?.get(key) ?? 0,
    usageOf: (key) => usage.get(key) ?? 0,
  });
  const attempts: AttemptRecord[] = [];
  let lastError: ApiErrorInit | null = null;
  let lastTarget: T | null = null;
  let earliestRetry = Infinity;
  let limited = false;

  for (let index = 0; index < ordered.length; index++) {
    const target = ordered[index]!;
    const timeoutMs = plan.timeoutMs ?? target.timeoutMs;
    // Our own timeout fires first only when it is shorter than the provider's: then a timeout says
    // as much about the route's choice as about the upstream, so it counts toward the route
    // owner's circuit (a tenant's own), never toward the one every tenant shares.
    const timeoutKey = timeoutMs < target.timeoutMs && target.tenantKey ? target.tenantKey : target.key;
    const gate = await gateAll(timeoutKey === target.key ? [target.key] : [timeoutKey, target.key], target.circuit);
    if (!gate.allowed) {
      earliestRetry = Math.min(earliestRetry, gate.retryAt);
      continue;
    }
    // A deployment at its rpm/tpm for this minute is passed over like a cooled-down one.
    if (target.limits) {
      const taken = await deps.breakers.take(target.key, target.limits, plan.tokens ?? 0);
      if (!taken.allowed) {
        limited = true;
        earliestRetry = Math.min(earliestRetry, taken.retryAt);
        continue;
      }
    }
    for (let retry = 0; ; retry++) {
      if (attempts.length >= Math.min(MAX_ATTEMPTS, plan.maxAttempts ?? MAX_ATTEMPTS)) return failed();
      const started = now();
      const controller = new AbortController();
      deps.busy?.start(target.key);
      try {
        const { response, abort } = await attemptOnce(controller, (signal) => deps.attempt(target, signal, timeoutMs), plan.stream, target, timeoutMs);
        deps.busy?.end(target.key);
        const ms = now() - started;
        attempts.push({ provider: target.providerName, model: target.model, outcome: "ok", ms });
        deps.latency.record(target.key, ms);
        for (const key of gate.keys) deps.breakers.success(key, gate.probes.has(key) && retry === 0, deps.background);
        return { ok: true, response, target, attempts, abort };
      } catch (err) {
        deps.busy?.end(target.key);
        const error = toErrorInit(err, target);
        const ms = now() - started;
        const timedOut = isTimeout(controller.signal);
        attempts.push({ provider: target.providerName, model: target.model, outcome: error.code, ms, ...(timedOut ? { abandoned: true } : {}) });
        lastError = error;
        lastTarget = target;
        const policy = failurePolicy(error);
        const circuit = timedOut ? timeoutKey : target.key;
        // Only what the upstream caused counts; an error while preparing the request never does.
        if (policy.tripsCircuit && (timedOut || err instanceof UpstreamFailure)) {
          deps.latency.penalise(target.key, ms);
          await deps.breakers.failure(circuit, target.circuit);
        }
        if (!policy.tryNext && !policy.retrySame) return failed();
        const more = index < ordered.length - 1;
        if (!policy.retrySame || retry >= plan.retries) break;
        // A rate-limited target is not waited for while another target can take the request.
        if (error.code === "upstream_rate_limited" && more) break;
        if (deps.breakers.peek(circuit)?.phase === "open") break;
        const delay = retryDelayMs(retry + 1, policy.retryAfterMs, backoff, random);
        if (delay === null) break;
        await sleep(delay);
      }
    }
    if (lastError && !failurePolicy(lastError).tryNext) return failed();
  }
  return failed();

  /** A target runs only if every circuit it answers to admits it; `probes` are the ones it probes. */
  async function gateAll(keys: string[], cfg: CircuitConfig | undefined): Promise<{ allowed: boolean; retryAt: number; keys: string[]; probes: Set<string> }> {
    const probes = new Set<string>();
    for (const key of keys) {
      const gate = await deps.breakers.gate(key, deps.background, cfg);
      if (!gate.allowed) return { allowed: false, retryAt: gate.retryAt, keys, probes };
      if (gate.probe) probes.add(key);
    }
    return { allowed: true, retryAt: 0, keys, probes };
  }

  function failed(): RouteResult<T> {
    if (lastError) return { ok: false, error: lastError, attempts, target: lastTarget };
    // Every target was skipped by an open circuit (or its rpm/tpm): fail fast, say when to come back.
    const seconds = Number.isFinite(earliestRetry) ? Math.max(1, Math.ceil((earliestRetry - now()) / 1000)) : 1;
    if (limited) {
      return {
        ok: false,
        attempts,
        target: null,
        error: {
          code: "upstream_rate_limited",
          message: `Every deployment of model '${plan.requested}' is at its requests- or tokens-per-minute limit. Retry after ${seconds} s.`,
          headers: { "retry-after": String(seconds) },
        },
      };
    }
    return {
      ok: false,
      attempts,
      target: null,
      error: {
        code: "upstream_unavailable",
        message: `Every provider for model '${plan.requested}' is failing and temporarily taken out of rotation. Retry after ${seconds} s.`,
        headers: { "retry-after": String(seconds) },
      },
    };
  }
}

/**
 * One attempt under its timeout. The timeout aborts the upstream call with a `TimeoutError` (what
 * adapters recognise) and, for streams, covers the wait for the first chunk only: once a stream is
 * committed the timer is cleared so a long generation is never cut off.
 */
async function attemptOnce<T extends RoutedTarget>(
  controller: AbortController,
  call: (signal: AbortSignal) => Promise<Response>,
  stream: boolean,
  target: T,
  timeoutMs: number,
): Promise<{ response: Response; abort: AbortController }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const reason = new Error(`The attempt timed out after ${timeoutMs} ms.`);
      reason.name = "TimeoutError";
      controller.abort(reason);
      reject(new UpstreamFailure(timeoutInit(target, timeoutMs)));
    }, timeoutMs);
  });
  deadline.catch(() => {});
  try {
    const response = await Promise.race([call(controller.signal), deadline]);
    if (!stream || !response.body) return { response, abort: controller };
    return { response: await Promise.race([firstByteCommitted(response, target), deadline]), abort: controller };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits for the first chunk of a streamed response, then hands the stream on unchanged (the
 * chunk first, then the rest as it arrives). A stream that errors or ends before its first
 * chunk is a failed attempt, so the router can still fall back.
 */
async function firstByteCommitted(response: Response, target: RoutedTarget): Promise<Response> {
  const reader = response.body!.getReader();
  let first: ReadableStreamReadResult<Uint8Array>;
  try {
    first = await reader.read();
  } catch {
    reader.cancel().catch(() => {});
    throw new UpstreamFailure({ code: "upstream_error", message: `Provider '${target.providerName}' broke the stream before sending any data.` });
  }
  if (first.done)
    throw new UpstreamFailure({ code: "upstream_error", message: `Provider '${target.providerName}' closed the stream without sending any data.` });
  // The first chunk is delivered ahead of the rest; the rest is read on demand (highWaterMark 0),
  // so an upstream failure reaches the reader after every chunk that arrived before it.
  const body = new ReadableStream<Uint8Array>(
    {
      start: (controller) => controller.enqueue(first.value),
      async pull(controller) {
        try {
          const next = await reader.read();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (err) {
          controller.error(err);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

function timeoutInit(target: RoutedTarget, timeoutMs: number): ApiErrorInit {
  return { code: "upstream_timeout", message: `Provider '${target.providerName}' did not answer within ${timeoutMs} ms.` };
}

/**
 * An attempt's error as the client may see it. Anything but an `ApiError` is a bug of ours (say, a
 * translation that met input it did not expect): the client gets a 500, not a provider's failure.
 */
function toErrorInit(err: unknown, target: RoutedTarget): ApiErrorInit {
  if (err instanceof ApiError) return err.toInit();
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) return timeoutInit(target, target.timeoutMs);
  log.error("model-proxy", "attempt failed unexpectedly", { provider: target.providerName, model: target.model, message: errorMessage(err) });
  return { code: "internal_error", message: `The gateway could not prepare the request for provider '${target.providerName}'.` };
}

/** `x-gateway-provider`, `x-gateway-model`, `x-gateway-attempts` for the client. */
export function gatewayHeaders(result: RouteResult<RoutedTarget>): Record<string, string> {
  const headers: Record<string, string> = { [GATEWAY_HEADERS.attempts]: String(result.attempts.length) };
  const target = result.target;
  if (target) {
    headers[GATEWAY_HEADERS.provider] = target.providerName;
    headers[GATEWAY_HEADERS.model] = target.model;
  }
  return headers;
}
