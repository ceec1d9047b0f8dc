import type { ProviderConfig } from "../providers/types";
import { StaticRegistry } from "../registry/static";

let cached: { providers: string | undefined; keys: string | undefined; map: ReadonlyMap<string, ProviderConfig> } | undefined;

/**
 * Platform providers configured outside the API (var PLATFORM_PROVIDERS + secret
 * PLATFORM_PROVIDER_KEYS), parsed once per isolate while the strings are unchanged. Providers
 * created through the API with the same name take precedence over these.
 */
export function configuredProviders(env: Pick<ModelProxyEnv, "PLATFORM_PROVIDERS" | "PLATFORM_PROVIDER_KEYS">): ReadonlyMap<string, ProviderConfig> {
  if (cached && cached.providers === env.PLATFORM_PROVIDERS && cached.keys === env.PLATFORM_PROVIDER_KEYS) return cached.map;
  const map = StaticRegistry.fromConfig(env.PLATFORM_PROVIDERS, env.PLATFORM_PROVIDER_KEYS).providers;
  cached = { providers: env.PLATFORM_PROVIDERS, keys: env.PLATFORM_PROVIDER_KEYS, map };
  return map;
}
