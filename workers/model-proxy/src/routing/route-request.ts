import { d1AttemptLog, type AttemptLog } from "../metrics/attempts";
import { ApiError, ok, type ApiErrorInit, type ProxyRequest, type Result } from "../../../shared/src";
import { completionAsk } from "../../../shared/src/openai";
import { proxiedOperation } from "../../../shared/src/proxy/operations";
import type { CircuitConfig, UsageLimits } from "../../../../durable-objects/circuit-breaker";
import { seededRandom } from "../../../shared/src/test-clock";
import { credentialCache, type CredentialCache, type CredentialSource } from "../providers-store/credentials";
import { adapterFor } from "../providers";
import { billedExtra } from "../providers/billed-extras";
import type { ProviderConfig, Target } from "../providers/types";
import type { Resolution } from "../registry/types";
import { Breakers, circuitConfigFrom, durableCircuitStore, type Background } from "./breaker";
import { BusyTracker, MAX_ATTEMPTS, runRoute, type AttemptRecord, type RouteResult, type RoutedTarget } from "./execute";
import { failurePolicy } from "./failure";
import { LatencyTracker } from "./latency";
import { memoryCircuitStore } from "./memory-circuits";
import { genAiOperation, genAiProvider, newSpanId, SPAN_KIND, traceparent, type SpanData } from "../../../shared/src/trace/span";

/** A route target with the adapter-level target it stands for. */
export interface DispatchTarget extends RoutedTarget {
  target: Target;
  /** The model group it serves (`x-litellm-model-group`): the group asked for, or the fallback group used. */
  group: string;
}

/** What routing needs besides the request: the shared circuits, this isolate's latencies, credentials. */
export interface RoutingContext {
  breakers: Breakers;
  latency: LatencyTracker;
  background: Background;
  credentials: CredentialCache;
  /** The secrets Worker; absent where no stored credentials exist (static configuration, tests). */
  secrets?: CredentialSource;
  /** Weighted choices and jitter: `Math.random`, seeded only in the test stack (shared/src/test-clock.ts). */
  random?: () => number;
  /** Requests in flight per target in this isolate (`least-busy`). */
  busy: BusyTracker;
  /**
   * The request's trace (the gateway's `traceparent`): each attempt gets a span id of its own, sent
   * upstream as its `traceparent`; `record` exports the attempt's span (only with a collector).
   */
  trace?: AttemptTrace;
  /** Where failed attempts are counted for GET /metrics (absent in unit tests without D1). */
  attemptLog?: AttemptLog;
}

export interface AttemptTrace {
  traceId: string;
  parentSpanId: string;
  sampled: boolean;
  record: ((span: SpanData) => void) | null;
}

let shared: { config: string; breakers: Breakers; latency: LatencyTracker; busy: BusyTracker; random: () => number } | undefined;

/**
 * The routing context of a request in this isolate: breakers and latencies live as long as the
 * isolate (their state is what makes circuit breaking and least-latency work), background work
 * goes to the request's `waitUntil`.
 */
export function routingFor(env: ModelProxyEnv, ctx: ExecutionContext): RoutingContext {
  // The vars as they are, not the parsed config re-serialised per request.
  const vars: Parameters<typeof circuitConfigFrom>[0] = env;
  const key = `${vars.CIRCUIT_FAILURE_THRESHOLD}|${vars.CIRCUIT_WINDOW_MS}|${vars.CIRCUIT_COOLDOWN_MS}|${vars.CIRCUIT_PROBE_LEASE_MS}`;
  if (shared?.config !== key) {
    const cfg = circuitConfigFrom(vars);
    shared = {
      config: key,
      breakers: new Breakers(durableCircuitStore(env.CIRCUIT_BREAKER), cfg),
      latency: shared?.latency ?? new LatencyTracker(),
      busy: shared?.busy ?? new BusyTracker(),
      random: shared?.random ?? seededRandom(env),
    };
  }
  return {
    breakers: shared.breakers,
    latency: shared.latency,
    busy: shared.busy,
    random: shared.random,
    background: (p) => ctx.waitUntil(p.catch(() => {})),
    credentials: credentialCache,
    secrets: env.SECRETS,
    attemptLog: d1AttemptLog(env.PROXY_DB),
  };
}

/** A routing context with private, in-memory circuits: for callers without the Durable Object (unit tests). */
export function isolatedRouting(): RoutingContext {
  const cfg = circuitConfigFrom({});
  return {
    breakers: new Breakers(memoryCircuitStore().store, cfg),
    latency: new LatencyTracker(),
    busy: new BusyTracker(),
    background: (p) => void p.catch(() => {}),
    credentials: credentialCache,
  };
}

/**
 * A target's provider as one call uses it: under that call's timeout, with its stored credential
 * revealed (isolate-cached). Throws the ApiError a client sees when the credential cannot be loaded.
 */
export async function providerForCall(configured: ProviderConfig, timeoutMs: number, routing: RoutingContext): Promise<ProviderConfig> {
  const provider = { ...configured, timeoutMs };
  if (provider.credential) {
    if (!routing.secrets) throw new ApiError({ code: "internal_error", message: `The credential of provider '${provider.name}' cannot be loaded here.` });
    const revealed = await routing.credentials.reveal(routing.secrets, provider.name, provider.credential);
    if (!revealed.ok) throw new ApiError(revealed.error);
    provider.apiKey = revealed.value;
  }
  return provider;
}

/**
 * Sends one proxied request through its resolution: the model group first, then its fallback
 * groups in order (LiteLLM's `fallbacks`), each group's targets ordered by its strategy, each
 * attempt revealing the target's credential (isolate-cached) and calling its adapter. A prompt
 * longer than every deployment of the group takes (`max_input_tokens`) goes to the group's
 * `context_window_fallbacks` instead; deployments too small for it are skipped everywhere.
 */
export async function routeRequest(
  req: ProxyRequest,
  resolution: Resolution,
  forceStreamUsage: boolean,
  routing: RoutingContext,
): Promise<RouteResult<DispatchTarget>> {
  const prompt = promptTokens(req);
  const chain = groupChain(resolution, prompt, String(req.body["model"]));
  if (!chain.ok) return { ok: false, error: chain.error, attempts: [], target: null };
  const attempts: AttemptRecord[] = [];
  let last: RouteResult<DispatchTarget> | null = null;
  let queue = chain.value;
  let redirected = false;
  for (let i = 0; i < queue.length; i++) {
    const group = queue[i]!;
    const result = await routeGroup(req, group, forceStreamUsage, routing, prompt, MAX_ATTEMPTS - attempts.length);
    attempts.push(...result.attempts);
    if (result.ok) return { ...result, attempts };
    last = { ...result, attempts };
    if (attempts.length >= MAX_ATTEMPTS) break;
    // An upstream's content-policy or context-length refusal moves to the group's fallbacks for
    // it (once: their own refusals are the client's answer), like LiteLLM's.
    const refusedTo = redirected ? [] : refusalFallbacks(result.error, group, prompt);
    if (refusedTo.length > 0) {
      redirected = true;
      queue = [...queue.slice(0, i + 1), ...refusedTo];
      continue;
    }
    // An error in the request itself fails in every group too; an exhausted attempt budget stops here.
    if (result.target !== null && !failurePolicy(result.error).tryNext) break;
  }
  return last!;
}

/** The groups an upstream's refusal of a group sends the request to (only those whose context takes the prompt). */
function refusalFallbacks(error: ApiErrorInit, group: Resolution, prompt: number): Resolution[] {
  const groups =
    error.code === "content_policy_violation"
      ? group.contentPolicyFallbacks
      : error.code === "context_length_exceeded"
        ? group.contextWindowFallbacks
        : undefined;
  return (groups ?? []).map((r) => fitting(r, prompt)).filter((r) => r.targets.length > 0);
}

/** A group with only the targets whose context (`max_input_tokens`) takes the prompt. */
function fitting(r: Resolution, prompt: number): Resolution {
  return { ...r, targets: r.targets.filter((t) => (t.deployment?.maxInputTokens ?? Infinity) >= prompt) };
}

/** The groups to try, in order, each with only the targets whose context takes the prompt. */
function groupChain(resolution: Resolution, prompt: number, asked: string): Result<Resolution[]> {
  const fits = (r: Resolution): Resolution => fitting(r, prompt);
  const primary = fits(resolution);
  if (primary.targets.length > 0) return ok([primary, ...(resolution.fallbacks ?? []).map(fits).filter((r) => r.targets.length > 0)]);
  const larger = (resolution.contextWindowFallbacks ?? []).map(fits).filter((r) => r.targets.length > 0);
  if (larger.length > 0) return ok(larger);
  const largest = Math.max(...resolution.targets.map((t) => t.deployment?.maxInputTokens ?? 0));
  return {
    ok: false,
    error: {
      code: "invalid_request",
      param: "messages",
      message: `The prompt (about ${prompt} tokens) is longer than model '${asked}' takes (${largest} tokens), and no context-window fallback takes it. Shorten the prompt.`,
    },
  };
}

/** The prompt's estimated tokens: the operation's own estimate, the one the gateway reserves limits with. */
function promptTokens(req: ProxyRequest): number {
  return proxiedOperation(req.operation).estimate(req.body).promptTokens;
}

/** One model group's attempt: its eligible targets under its strategy, cooldown and per-minute limits. */
async function routeGroup(
  req: ProxyRequest,
  resolution: Resolution,
  forceStreamUsage: boolean,
  routing: RoutingContext,
  prompt: number,
  budget: number,
): Promise<RouteResult<DispatchTarget>> {
  // A platform provider takes no request whose upstream bill the gateway cannot meter; a tenant's own does.
  let refusal: ApiErrorInit | null = null;
  const eligible = resolution.targets.filter((target) => {
    const extra = target.tenant ? null : billedExtra(req.operation, req.body, target.provider.type);
    refusal ??= extra;
    return !extra;
  });
  if (refusal && eligible.length === 0) return { ok: false, error: refusal, attempts: [], target: null };
  const circuit = cooldownCircuit(routing.breakers.defaults, resolution.cooldown);
  const ask = completionAsk(req.body);
  const tokens = prompt + (ask.maxPerChoice ?? 0) * ask.choices;
  const targets: DispatchTarget[] = eligible.map((target) => {
    const deployment = `${target.provider.id}/${target.model}`;
    const d = target.deployment;
    // Counted in the deployment's object when it has per-minute limits or the group routes by usage.
    const counted = d?.rpm !== undefined || d?.tpm !== undefined || resolution.strategy === "usage-based";
    return {
      // A tenant's own provider fails for that tenant only: its circuit is the tenant's.
      key: target.tenant ? `tenant:${target.tenant}/${deployment}` : deployment,
      ...(resolution.routeTenant ? { tenantKey: `tenant:${resolution.routeTenant}/${deployment}` } : {}),
      weight: target.weight ?? 1,
      providerName: target.provider.name,
      model: target.model,
      timeoutMs: target.provider.timeoutMs,
      ...(circuit ? { circuit } : {}),
      ...(counted ? { limits: withoutUndefined({ rpm: d?.rpm, tpm: d?.tpm }) } : {}),
      ...(d?.order !== undefined ? { order: d.order } : {}),
      target,
      group: resolution.group ?? String(req.body["model"]),
    };
  });
  return runRoute(
    {
      requested: String(req.body["model"]),
      strategy: resolution.strategy ?? "fallback",
      targets,
      retries: resolution.retriesPerTarget,
      timeoutMs: resolution.timeoutMs ?? null,
      stream: req.body["stream"] === true,
      tokens,
      maxAttempts: budget,
    },
    {
      breakers: routing.breakers,
      latency: routing.latency,
      background: routing.background,
      busy: routing.busy,
      ...(routing.random ? { random: routing.random } : {}),
      attempt: async ({ target }, signal, timeoutMs) => {
        const adapter = adapterFor(target.provider.type);
        if (!adapter?.supports(req.operation)) {
          throw new ApiError({ code: "invalid_request", param: "model", message: `Provider '${target.provider.name}' does not support ${req.operation}.` });
        }
        const trace = routing.trace;
        const spanId = trace ? newSpanId() : null;
        const startMs = trace?.record ? Date.now() : 0;
        const span = (status: number | null, errorType: string | null) =>
          trace?.record?.(attemptSpan(req, target, { traceId: trace.traceId, spanId: spanId!, parentSpanId: trace.parentSpanId }, startMs, status, errorType));
        try {
          const provider = await providerForCall(target.provider, timeoutMs, routing);
          const res = await adapter.call(
            req.operation,
            req.body,
            { provider, model: target.model },
            {
              requestId: req.requestId,
              signal,
              forceStreamUsage,
              clientHeaders: req.headers,
              ...(trace ? { traceparent: traceparent(trace.traceId, spanId!, trace.sampled) } : {}),
            },
          );
          span(res.status, null);
          return res;
        } catch (err) {
          span(err instanceof ApiError ? err.upstreamStatus : null, err instanceof ApiError ? err.code : "internal_error");
          throw err;
        }
      },
    },
  );
}

/**
 * One provider attempt's CLIENT span, with OpenTelemetry's GenAI names: the operation, the
 * provider (by type), the requested and served upstream model, the upstream's HTTP status and,
 * when it failed, the gateway's error code. Never the prompt or the provider key.
 */
function attemptSpan(
  req: ProxyRequest,
  target: Target,
  ids: { traceId: string; spanId: string; parentSpanId: string },
  startMs: number,
  status: number | null,
  errorType: string | null,
): SpanData {
  const operation = genAiOperation(req.operation);
  return {
    ...ids,
    name: `${operation} ${target.model}`,
    kind: SPAN_KIND.client,
    startMs,
    endMs: Date.now(),
    error: errorType !== null,
    attributes: {
      "gen_ai.operation.name": operation,
      "gen_ai.provider.name": genAiProvider(target.provider.type),
      "gen_ai.request.model": target.model,
      "gen_ai.response.model": errorType === null ? target.model : null,
      "http.response.status_code": status,
      "error.type": errorType,
      "gateway.request_id": req.requestId,
      "gateway.provider": target.provider.name,
    },
  };
}

/**
 * LiteLLM's cooldown as a circuit: more than `allowedFails` failures within a minute cool the
 * deployment down for `cooldownMs` (then one probe decides, as for every circuit here).
 */
function cooldownCircuit(defaults: CircuitConfig, cooldown: Resolution["cooldown"]): CircuitConfig | null {
  if (!cooldown) return null;
  return {
    ...defaults,
    ...(cooldown.allowedFails !== undefined ? { threshold: cooldown.allowedFails + 1, windowMs: 60_000 } : {}),
    ...(cooldown.cooldownMs !== undefined ? { cooldownMs: cooldown.cooldownMs } : {}),
  };
}

function withoutUndefined(limits: { rpm: number | undefined; tpm: number | undefined }): UsageLimits {
  return { ...(limits.rpm !== undefined ? { rpm: limits.rpm } : {}), ...(limits.tpm !== undefined ? { tpm: limits.tpm } : {}) };
}
