import { ok, type PrincipalClaims, type ProxyOperation, type Result } from "../../../shared/src";
import { tableNamesOf } from "../../../shared/src/contracts/price-import";
import { DEFAULT_ROUTE_RETRIES, type ProviderKind } from "../../../shared/src/contracts/providers";
import type { UpstreamPolicy } from "../../../shared/src/ssrf";
import { adapterFor } from "../providers";
import type { DeploymentSettings, ProviderConfig, Target } from "../providers/types";
import { modelNotFound, modelNotServed, type ModelEntry, type ModelRegistry, type Resolution } from "../registry/types";
import type { ConfigCache, OwnerConfig } from "./config-cache";
import { effectiveBaseUrl, PLATFORM, type ProviderRecord, type RouteRecord, type RouteTargetRecord } from "./records";

/** Per-attempt timeout of a provider that sets none: time to the response headers / first byte. */
export const DEFAULT_PROVIDER_TIMEOUT_MS = 300_000;

export interface StoredRegistryDeps {
  db: D1Database;
  cache: ConfigCache;
  policy: UpstreamPolicy;
  /** Platform providers configured outside D1 (PLATFORM_PROVIDERS); D1's win on a name clash. */
  configured: ReadonlyMap<string, ProviderConfig>;
  background: (p: Promise<unknown>) => void;
}

/**
 * Model names resolved against the providers and routes managed through the API (D1, cached in
 * isolate memory), for one tenant. Precedence, first match wins:
 *
 *   1. the tenant's route named exactly `model`;
 *   2. `<provider>/<model>` where `<provider>` is one of the tenant's providers, else a platform one
 *      (a tenant's provider shadows the platform's of the same name entirely);
 *   3. the platform's route named `model`;
 *   4. a bare name: the tenant's providers that list it in `models`, then the platform's.
 *
 * Tenant routes may target the tenant's providers and the platform's; platform routes target
 * platform providers only, so a tenant can never redirect another tenant's traffic. Disabled
 * providers and routes are invisible; targets whose adapter cannot do the operation are dropped.
 */
export class StoredRegistry implements ModelRegistry {
  constructor(private readonly deps: StoredRegistryDeps) {}

  async resolve(model: string, operation: ProxyOperation, tenant: PrincipalClaims): Promise<Result<Resolution>> {
    const [own, platform] = await this.load(tenant);

    const ownRoute = own.routes.get(model);
    if (ownRoute?.enabled) return this.routeResolution(model, ownRoute, operation, [own, platform]);

    const slash = model.indexOf("/");
    if (slash > 0) {
      const name = model.slice(0, slash);
      const upstream = model.slice(slash + 1);
      const provider = this.providerNamed(name, [own, platform]);
      if (provider) {
        if (!upstream || !provider.enabled) return modelNotFound(model);
        if (provider.models !== null && !provider.models.includes(upstream)) return modelNotServed(model, provider.name, provider.models);
        return this.single(model, provider, upstream, operation);
      }
    }

    const platformRoute = platform.routes.get(model);
    if (platformRoute?.enabled) return this.routeResolution(model, platformRoute, operation, [platform]);

    const bare = this.servingBare(model, own) ?? this.servingBare(model, platform);
    return bare ? this.single(model, bare, model, operation) : modelNotFound(model);
  }

  async list(tenant: PrincipalClaims): Promise<ModelEntry[]> {
    const [own, platform] = await this.load(tenant);
    const out: ModelEntry[] = [];
    const seen = new Set<string>();
    const add = (id: string, ownedBy: string, created: number) => {
      if (!seen.has(id)) {
        seen.add(id);
        out.push({ id, ownedBy, created });
      }
    };
    const secs = (ms: number) => Math.floor(ms / 1000);
    for (const r of own.routes.values()) if (r.enabled) add(r.name, tenant.tenantId, secs(r.createdAt));
    const providers = [...own.providers.values(), ...[...platform.providers.values()].filter((p) => !own.providers.has(p.name))];
    for (const p of providers) {
      if (!p.enabled) continue;
      for (const m of p.models ?? []) add(`${p.name}/${m}`, p.name, secs(p.createdAt));
    }
    for (const r of platform.routes.values()) if (r.enabled) add(r.name, "platform", secs(r.createdAt));
    for (const p of providers) {
      if (!p.enabled) continue;
      for (const m of p.models ?? []) add(m, p.name, secs(p.createdAt));
    }
    return out;
  }

  /** The tenant's and the platform's configuration (the platform's merged with PLATFORM_PROVIDERS). */
  private async load(tenant: PrincipalClaims): Promise<[OwnerConfig, OwnerConfig]> {
    const { db, cache, background } = this.deps;
    const [own, platform] = await Promise.all([cache.get(db, tenant.tenantId, background), cache.get(db, PLATFORM, background)]);
    const configured = this.deps.configured;
    if (configured.size === 0) return [own, platform];
    // Merged once per cached platform configuration and PLATFORM_PROVIDERS (both immutable; a
    // reload is a new object), not per request.
    const known = mergedPlatforms.get(platform);
    if (known?.configured === configured) return [own, known.merged];
    const providers = new Map<string, ProviderRecord>();
    for (const p of configured.values()) providers.set(p.name, configuredRecord(p));
    for (const [name, p] of platform.providers) providers.set(name, p);
    const merged = { ...platform, providers };
    mergedPlatforms.set(platform, { configured, merged });
    return [own, merged];
  }

  private providerNamed(name: string, scopes: OwnerConfig[]): ProviderRecord | null {
    for (const scope of scopes) {
      const p = scope.providers.get(name);
      if (p) return p;
    }
    return null;
  }

  private servingBare(model: string, scope: OwnerConfig): ProviderRecord | null {
    for (const p of scope.providers.values()) if (p.enabled && p.models?.includes(model)) return p;
    return null;
  }

  private single(asked: string, provider: ProviderRecord, model: string, operation: ProxyOperation): Result<Resolution> {
    if (!adapterFor(provider.type)?.supports(operation)) return unsupported(asked, operation, provider.name);
    return ok({ targets: [this.target(provider, model, 1)], retriesPerTarget: 0, strategy: "fallback", timeoutMs: null });
  }

  private routeResolution(asked: string, route: RouteRecord, operation: ProxyOperation, scopes: OwnerConfig[], follow = true): Result<Resolution> {
    const targets: Target[] = [];
    let unsupportedBy: string | null = null;
    for (const t of route.targets) {
      const provider = this.providerNamed(t.provider, scopes);
      if (!provider?.enabled) continue;
      if (provider.models !== null && !provider.models.includes(t.model)) continue;
      if (!adapterFor(provider.type)?.supports(operation)) {
        unsupportedBy = provider.name;
        continue;
      }
      targets.push(this.target(provider, t.model, t.weight, t, scopes.at(-1)?.contextWindows));
    }
    if (targets.length === 0) {
      if (unsupportedBy) return unsupported(asked, operation, unsupportedBy);
      return {
        ok: false,
        error: {
          code: "model_not_found",
          param: "model",
          message: `The model '${asked}' has no available provider: every target of its route is missing or disabled.`,
        },
      };
    }
    const { settings } = route;
    // Fallback groups are the route owner's own routes, resolved one level deep (no cycles).
    const groups = (names: string[] | undefined): Resolution[] =>
      follow
        ? (names ?? []).flatMap((name) => {
            const r = scopes[0]!.routes.get(name);
            const resolved = r?.enabled ? this.routeResolution(name, r, operation, scopes, false) : null;
            return resolved?.ok ? [resolved.value] : [];
          })
        : [];
    return ok({
      targets,
      retriesPerTarget: route.retries ?? DEFAULT_ROUTE_RETRIES,
      strategy: route.strategy,
      timeoutMs: route.timeoutMs,
      ...(route.owner !== PLATFORM ? { routeTenant: route.owner } : {}),
      group: settings.aliasOf ?? route.name,
      ...(settings.allowedFails !== undefined || settings.cooldownMs !== undefined
        ? {
            cooldown: {
              ...(settings.allowedFails !== undefined ? { allowedFails: settings.allowedFails } : {}),
              ...(settings.cooldownMs !== undefined ? { cooldownMs: settings.cooldownMs } : {}),
            },
          }
        : {}),
      fallbacks: groups(settings.fallbacks),
      contextWindowFallbacks: groups(settings.contextWindowFallbacks),
      contentPolicyFallbacks: groups(settings.contentPolicyFallbacks),
    });
  }

  /**
   * A route target's deployment takes its model's imported context window (the platform's
   * `context_windows`, from a price file) when the route sets no `max_input_tokens` of its own.
   */
  private target(p: ProviderRecord, model: string, weight: number, route?: RouteTargetRecord, windows?: ReadonlyMap<string, number>): Target {
    const deployment = route ? deploymentOf(route, route.maxInputTokens ?? windowOf(windows, p.type, model)) : null;
    const extra = deployment ? { deployment } : {};
    const configured = p.id.startsWith("platform:") ? this.deps.configured.get(p.name) : undefined;
    if (configured) return { provider: { ...configured, upstreamPolicy: this.deps.policy }, model, weight, ...extra };
    return { provider: providerConfigOf(p, this.deps.policy), model, weight, ...(p.owner !== PLATFORM ? { tenant: p.owner } : {}), ...extra };
  }
}

/** What an adapter gets for a stored provider; the credential is revealed just before the call. */
export function providerConfigOf(p: ProviderRecord, policy: UpstreamPolicy): ProviderConfig {
  return {
    id: p.id,
    name: p.name,
    type: p.type,
    baseUrl: effectiveBaseUrl(p) ?? "",
    apiKey: "",
    headers: p.headers,
    timeoutMs: p.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS,
    models: p.models,
    ...(p.apiVersion ? { apiVersion: p.apiVersion } : {}),
    ...(p.credentialRef ? { credential: { ref: p.credentialRef, rotatedAt: p.rotatedAt } } : {}),
    upstreamPolicy: policy,
  };
}

/** A model's imported context window: under its pinned name (`groq/…`), else its bare one. */
function windowOf(windows: ReadonlyMap<string, number> | undefined, type: ProviderKind, model: string): number | undefined {
  if (!windows || windows.size === 0) return undefined;
  for (const name of tableNamesOf(type, model)) {
    const found = windows.get(name);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A route target's LiteLLM deployment settings, or null when it has none. */
function deploymentOf(t: RouteTargetRecord, maxInputTokens: number | undefined): DeploymentSettings | null {
  const d: DeploymentSettings = {
    ...(t.id !== undefined ? { id: t.id } : {}),
    ...(t.rpm !== undefined ? { rpm: t.rpm } : {}),
    ...(t.tpm !== undefined ? { tpm: t.tpm } : {}),
    ...(t.order !== undefined ? { order: t.order } : {}),
    ...(maxInputTokens !== undefined ? { maxInputTokens } : {}),
  };
  return Object.keys(d).length > 0 ? d : null;
}

/** A PLATFORM_PROVIDERS entry seen as a record (its key is already in memory, not in D1). */
/** The platform's configuration merged with PLATFORM_PROVIDERS, per cached configuration object. */
const mergedPlatforms = new WeakMap<OwnerConfig, { configured: ReadonlyMap<string, ProviderConfig>; merged: OwnerConfig }>();

function configuredRecord(p: ProviderConfig): ProviderRecord {
  return {
    id: p.id,
    owner: PLATFORM,
    name: p.name,
    type: p.type,
    baseUrl: p.baseUrl,
    credentialRef: null,
    last4: null,
    rotatedAt: null,
    models: p.models,
    headers: p.headers,
    timeoutMs: p.timeoutMs,
    apiVersion: p.apiVersion ?? null,
    enabled: true,
    createdAt: 0,
    updatedAt: 0,
    source: null,
    credentialEnv: null,
  };
}

function unsupported(asked: string, operation: ProxyOperation, provider: string): Result<never> {
  return {
    ok: false,
    error: { code: "invalid_request", param: "model", message: `The model '${asked}' (provider '${provider}') does not support ${operation}.` },
  };
}
