import { StaticRegistry } from "./static";
import type { ModelRegistry } from "./types";

export type { ModelEntry, ModelRegistry, Resolution } from "./types";

let cached: { providers: string | undefined; keys: string | undefined; registry: ModelRegistry } | undefined;

/**
 * The registry for this isolate's configuration, parsed once and kept while the config strings
 * are unchanged. A bad configuration throws on every call (and is logged by the caller) instead of
 * silently serving with fewer providers.
 */
export function registryFor(env: Pick<ModelProxyEnv, "PLATFORM_PROVIDERS" | "PLATFORM_PROVIDER_KEYS">): ModelRegistry {
  if (cached && cached.providers === env.PLATFORM_PROVIDERS && cached.keys === env.PLATFORM_PROVIDER_KEYS) return cached.registry;
  const registry = StaticRegistry.fromConfig(env.PLATFORM_PROVIDERS, env.PLATFORM_PROVIDER_KEYS);
  cached = { providers: env.PLATFORM_PROVIDERS, keys: env.PLATFORM_PROVIDER_KEYS, registry };
  return registry;
}
