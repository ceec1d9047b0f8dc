import type { PrincipalClaims, ProxyOperation, Result } from "../../../shared/src";
import type { RouteStrategy } from "../../../shared/src/contracts/providers";
import type { Target } from "../providers/types";

/**
 * Where model names resolve. The dispatcher only sees this interface: the static platform registry
 * (static.ts) implements it today; the providers/routes registry (D1 + secrets, per tenant)
 * replaces it by changing `registryFor` in index.ts.
 */
export interface ModelRegistry {
  /**
   * The targets serving `model` (the client's name: `<provider>/<model>` or a bare name/alias)
   * for this tenant and operation, or a `model_not_found` error (404, `param: "model"`).
   */
  resolve(model: string, operation: ProxyOperation, tenant: PrincipalClaims): Promise<Result<Resolution>>;
  /** Every model name the tenant can address, for `GET /v1/models` (the gateway filters by key). */
  list(tenant: PrincipalClaims): Promise<ModelEntry[]>;
}

export interface Resolution {
  /** In the order to try them: the first is the primary, the rest are fallbacks. */
  targets: Target[];
  /** Extra attempts on the same target after a retryable failure, before moving to the next. */
  retriesPerTarget: number;
  /** How targets are ordered per request (a route's strategy); default `fallback` (as listed). */
  strategy?: RouteStrategy;
  /** A route's per-attempt timeout, overriding each provider's own. */
  timeoutMs?: number | null;
  /** Set when the route is a tenant's own: that tenant (its `timeoutMs` is the tenant's choice). */
  routeTenant?: string;
  /** The model group (route) name: `x-litellm-model-group`. */
  group?: string;
  /** LiteLLM's cooldown: a deployment failing more than `allowedFails` times in a minute sits out `cooldownMs`. */
  cooldown?: { allowedFails?: number; cooldownMs?: number };
  /** Groups tried in order after every target of this one failed (one level: theirs are not followed). */
  fallbacks?: Resolution[];
  /** Groups for a prompt longer than every target of this one takes (or that an upstream refused as too long). */
  contextWindowFallbacks?: Resolution[];
  /** Groups tried in order after an upstream of this one refused the request under its content policy. */
  contentPolicyFallbacks?: Resolution[];
}

/** One addressable model as `GET /v1/models` lists it. */
export interface ModelEntry {
  /** The name a client sends as `model`. */
  id: string;
  /** The provider (or route owner) serving it. */
  ownedBy: string;
  /** Unix seconds when it became available. */
  created: number;
}

/** How many of a provider's models a 404 names (a provider may list up to 1000). */
export const MODELS_NAMED_IN_404 = 10;

/**
 * `<provider>/<model>` for a model the provider does not list: a provider's `models` is an
 * allow-list as well as what GET /v1/models shows, so the 404 names what it serves (the same names
 * GET /v1/models lists for this caller; at most `MODELS_NAMED_IN_404` of them).
 */
export function modelNotServed(model: string, provider: string, models: readonly string[]): Result<never> {
  const named = models.slice(0, MODELS_NAMED_IN_404).map((m) => `'${m}'`);
  const more = models.length > named.length ? ` and ${models.length - named.length} more (GET /v1/models lists them all)` : "";
  const serves = models.length ? `serves only: ${named.join(", ")}${more}.` : "serves no model (its 'models' list is empty).";
  return {
    ok: false,
    error: {
      code: "model_not_found",
      param: "model",
      message: `The model '${model}' does not exist or you do not have access to it: provider '${provider}' ${serves}`,
    },
  };
}

export function modelNotFound(model: string): Result<never> {
  return {
    ok: false,
    error: {
      code: "model_not_found",
      param: "model",
      message: `The model '${model}' does not exist or you do not have access to it. Use '<provider>/<model>' or a name listed by GET /v1/models.`,
    },
  };
}
