import { ApiError, type ApiErrorInit, type ProxyRequest } from "../../../shared/src";
import { seededRandom } from "../../../shared/src/test-clock";
import { credentialCache, type CredentialCache, type CredentialSource } from "../providers-store/credentials";
import { adapterFor } from "../providers";
import { billedExtra } from "../providers/billed-extras";
import type { ProviderConfig, Target } from "../providers/types";
import type { Resolution } from "../registry/types";
import { Breakers, circuitConfigFrom, durableCircuitStore, type Background } from "./breaker";
import { runRoute, type RouteResult, type RoutedTarget } from "./execute";
import { LatencyTracker } from "./latency";
import { memoryCircuitStore } from "./memory-circuits";

/** A route target with the adapter-level target it stands for. */
export interface DispatchTarget extends RoutedTarget {
  target: Target;
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
}

let shared: { config: string; breakers: Breakers; latency: LatencyTracker; random: () => number } | undefined;

/**
 * The routing context of a request in this isolate: breakers and latencies live as long as the
 * isolate (their state is what makes circuit breaking and least-latency work), background work
 * goes to the request's `waitUntil`.
 */
export function routingFor(env: ModelProxyEnv, ctx: ExecutionContext): RoutingContext {
  const cfg = circuitConfigFrom(env);
  const key = JSON.stringify(cfg);
  if (shared?.config !== key) {
    shared = {
      config: key,
      breakers: new Breakers(durableCircuitStore(env.CIRCUIT_BREAKER), cfg),
      latency: shared?.latency ?? new LatencyTracker(),
      random: shared?.random ?? seededRandom(env),
    };
  }
  return {
    breakers: shared.breakers,
    latency: shared.latency,
    random: shared.random,
    background: (p) => ctx.waitUntil(p.catch(() => {})),
    credentials: credentialCache,
    secrets: env.SECRETS,
  };
}

/** A routing context with private, in-memory circuits: for callers without the Durable Object (unit tests). */
export function isolatedRouting(): RoutingContext {
  const cfg = circuitConfigFrom({});
  return {
    breakers: new Breakers(memoryCircuitStore().store, cfg),
    latency: new LatencyTracker(),
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
 * Sends one proxied request through its resolution: the route's strategy orders the targets, each
 * attempt reveals the target's credential (isolate-cached) and calls its adapter.
 */
export async function routeRequest(
  req: ProxyRequest,
  resolution: Resolution,
  forceStreamUsage: boolean,
  routing: RoutingContext,
): Promise<RouteResult<DispatchTarget>> {
  // A platform provider takes no request whose upstream bill the gateway cannot meter; a tenant's own does.
  let refusal: ApiErrorInit | null = null;
  const eligible = resolution.targets.filter((target) => {
    const extra = target.tenant ? null : billedExtra(req.operation, req.body, target.provider.type);
    refusal ??= extra;
    return !extra;
  });
  if (refusal && eligible.length === 0) return { ok: false, error: refusal, attempts: [], target: null };
  const targets: DispatchTarget[] = eligible.map((target) => {
    const deployment = `${target.provider.id}/${target.model}`;
    return {
      // A tenant's own provider fails for that tenant only: its circuit is the tenant's.
      key: target.tenant ? `tenant:${target.tenant}/${deployment}` : deployment,
      ...(resolution.routeTenant ? { tenantKey: `tenant:${resolution.routeTenant}/${deployment}` } : {}),
      weight: target.weight ?? 1,
      providerName: target.provider.name,
      model: target.model,
      timeoutMs: target.provider.timeoutMs,
      target,
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
    },
    {
      breakers: routing.breakers,
      latency: routing.latency,
      background: routing.background,
      ...(routing.random ? { random: routing.random } : {}),
      attempt: async ({ target }, signal, timeoutMs) => {
        const adapter = adapterFor(target.provider.type);
        if (!adapter?.supports(req.operation)) {
          throw new ApiError({ code: "invalid_request", param: "model", message: `Provider '${target.provider.name}' does not support ${req.operation}.` });
        }
        const provider = await providerForCall(target.provider, timeoutMs, routing);
        return adapter.call(
          req.operation,
          req.body,
          { provider, model: target.model },
          { requestId: req.requestId, signal, forceStreamUsage, clientHeaders: req.headers },
        );
      },
    },
  );
}
