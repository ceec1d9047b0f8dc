import { upstreamPolicy } from "../../../shared/src/ssrf";
import { configCache } from "../providers-store/config-cache";
import { configuredProviders } from "../providers-store/platform-config";
import { StoredRegistry } from "../providers-store/registry";
import type { ModelRegistry } from "./types";

export type { ModelEntry, ModelRegistry, Resolution } from "./types";

/**
 * The registry for one request: the providers and routes managed through the providers API (D1,
 * cached in isolate memory; see providers-store/registry.ts for precedence), over the platform
 * providers configured in PLATFORM_PROVIDERS. A bad PLATFORM_PROVIDERS throws on every call (and
 * is logged by the caller) instead of silently serving with fewer providers.
 */
export function registryFor(
  env: Pick<ModelProxyEnv, "PLATFORM_PROVIDERS" | "PLATFORM_PROVIDER_KEYS" | "PROXY_DB" | "ALLOW_PRIVATE_UPSTREAMS">,
  ctx?: Pick<ExecutionContext, "waitUntil">,
): ModelRegistry {
  return new StoredRegistry({
    db: env.PROXY_DB,
    cache: configCache,
    policy: upstreamPolicy(env),
    configured: configuredProviders(env),
    background: (p) => (ctx ? ctx.waitUntil(p.catch(() => {})) : void p.catch(() => {})),
  });
}
