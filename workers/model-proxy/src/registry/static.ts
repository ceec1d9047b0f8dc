import { z } from "zod";
import { ok, type PrincipalClaims, type ProxyOperation, type Result } from "../../../shared/src";
import { PROVIDER_PRESETS, ProviderCreateSchema, workersAiBaseUrl } from "../../../shared/src/contracts/providers";
import { adapterFor } from "../providers";
import type { ProviderConfig } from "../providers/types";
import { modelNotFound, modelNotServed, type ModelEntry, type ModelRegistry, type Resolution } from "./types";

/** Default per-attempt timeout: time to the upstream's response headers, and the longest silence inside a stream. */
export const DEFAULT_TIMEOUT_MS = 300_000;

/**
 * The platform's providers from configuration: var `PLATFORM_PROVIDERS`, a JSON list of
 * `{name, type, base_url?, models?, headers?, timeout_ms?, api_version?}` (the providers API's
 * shape, without the key), and secret `PLATFORM_PROVIDER_KEYS`, a JSON object `{name: key}`.
 * Every tenant can use every platform provider.
 *
 * Resolution: `<provider>/<model>` pins a configured provider (a provider with a `models` list
 * serves only those); any other name is a bare name, served by the first provider (in config
 * order) that lists it in `models`. Model names may themselves contain `/`
 * (`together/meta-llama/Llama-3-8b` → provider `together`, model `meta-llama/Llama-3-8b`).
 */
const PlatformProviderSchema = ProviderCreateSchema.omit({ api_key: true });
const PlatformProvidersSchema = z.array(PlatformProviderSchema);
const KeysSchema = z.record(z.string(), z.string());

export class StaticRegistry implements ModelRegistry {
  readonly providers: ReadonlyMap<string, ProviderConfig>;
  private readonly bare = new Map<string, ProviderConfig>();
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(providers: ProviderConfig[]) {
    this.providers = new Map(providers.map((p) => [p.name, p]));
    for (const p of providers) for (const m of p.models ?? []) if (!this.bare.has(m)) this.bare.set(m, p);
  }

  /** Parses the two config strings; throws with a message naming the bad entry (never a key). */
  static fromConfig(providersJson: string | undefined, keysJson: string | undefined): StaticRegistry {
    const list = PlatformProvidersSchema.parse(providersJson?.trim() ? JSON.parse(providersJson) : []);
    let keys: Record<string, string> = {};
    try {
      keys = KeysSchema.parse(keysJson?.trim() ? JSON.parse(keysJson) : {});
    } catch {
      throw new Error("PLATFORM_PROVIDER_KEYS is not a JSON object of provider name → key");
    }
    const names = new Set<string>();
    const providers = list.map((p, i): ProviderConfig => {
      if (names.has(p.name)) throw new Error(`PLATFORM_PROVIDERS[${i}]: duplicate provider name '${p.name}'`);
      names.add(p.name);
      const preset = PROVIDER_PRESETS[p.type];
      const baseUrl = p.base_url ?? (p.account_id !== undefined ? workersAiBaseUrl(p.account_id) : preset.baseUrl);
      if (!baseUrl) throw new Error(`PLATFORM_PROVIDERS[${i}] ('${p.name}'): type '${p.type}' needs a base_url`);
      const apiKey = keys[p.name] ?? "";
      if (!apiKey && !preset.keyless) throw new Error(`PLATFORM_PROVIDERS[${i}] ('${p.name}'): no key in PLATFORM_PROVIDER_KEYS`);
      return {
        id: `platform:${p.name}`,
        name: p.name,
        type: p.type,
        baseUrl,
        apiKey,
        headers: p.headers ?? {},
        timeoutMs: p.timeout_ms ?? DEFAULT_TIMEOUT_MS,
        models: p.models ?? null,
        ...(p.api_version ? { apiVersion: p.api_version } : {}),
      };
    });
    return new StaticRegistry(providers);
  }

  async resolve(model: string, operation: ProxyOperation, _tenant: PrincipalClaims): Promise<Result<Resolution>> {
    const slash = model.indexOf("/");
    if (slash > 0) {
      const provider = this.providers.get(model.slice(0, slash));
      const upstreamModel = model.slice(slash + 1);
      if (provider && upstreamModel && (provider.models === null || provider.models.includes(upstreamModel))) {
        return this.answer(provider, upstreamModel, operation, model);
      }
      if (provider) return upstreamModel && provider.models ? modelNotServed(model, provider.name, provider.models) : modelNotFound(model);
    }
    const provider = this.bare.get(model);
    return provider ? this.answer(provider, model, operation, model) : modelNotFound(model);
  }

  private answer(provider: ProviderConfig, model: string, operation: ProxyOperation, asked: string): Result<Resolution> {
    if (!adapterFor(provider.type)?.supports(operation)) {
      return {
        ok: false,
        error: { code: "invalid_request", param: "model", message: `The model '${asked}' (provider '${provider.name}') does not support ${operation}.` },
      };
    }
    return ok({ targets: [{ provider, model }], retriesPerTarget: 0 });
  }

  async list(_tenant: PrincipalClaims): Promise<ModelEntry[]> {
    const out: ModelEntry[] = [];
    for (const p of this.providers.values()) {
      for (const m of p.models ?? []) {
        out.push({ id: `${p.name}/${m}`, ownedBy: p.name, created: this.created });
        if (this.bare.get(m) === p) out.push({ id: m, ownedBy: p.name, created: this.created });
      }
    }
    return out;
  }
}
