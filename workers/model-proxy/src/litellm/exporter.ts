import type { LiteLLMExport } from "../../../shared/src/contracts/litellm";
import { LITELLM_STRATEGY_OF, PREFIX_OF } from "./config";
import { exportedEnvName } from "./importer";
import type { ProviderRecord, RouteRecord } from "../providers-store/records";
import { ProviderRepository, RouteRepository } from "../providers-store/repository";

/**
 * One owner's routes as a LiteLLM config: every route is a model group, every target a deployment
 * of its provider. Credentials are written as `os.environ/NAME` — the name they were imported as,
 * or `GATEWAY_KEY_<PROVIDER>` — never their value (the export never reads the secrets Worker).
 * `model_info.gateway_provider` keeps each provider's name, so importing the export again maps
 * every deployment onto the provider it came from and changes nothing.
 *
 * What LiteLLM cannot say is left out: targets on providers the owner does not own (a tenant
 * route's platform targets), providers no route uses. Router settings are one set in LiteLLM; they
 * are read from the first route (an import writes the same ones on every route).
 */
export class LiteLLMExporter {
  readonly #providers: ProviderRepository;
  readonly #routes: RouteRepository;

  constructor(db: D1Database) {
    this.#providers = new ProviderRepository(db);
    this.#routes = new RouteRepository(db);
  }

  async export(owner: string): Promise<LiteLLMExport> {
    const [providers, routes] = await Promise.all([this.#providers.list(owner), this.#routes.list(owner)]);
    const byName = new Map(providers.map((p) => [p.name, p]));
    const groups = routes.filter((r) => r.settings.aliasOf === undefined);
    const model_list: LiteLLMExport["model_list"] = [];
    for (const route of groups) {
      for (const t of route.targets) {
        const p = byName.get(t.provider);
        if (!p) continue;
        model_list.push({
          model_name: route.name,
          litellm_params: {
            model: `${PREFIX_OF[p.type]}/${t.model}`,
            ...paramsOf(p),
            ...(t.weight !== 1 ? { weight: t.weight } : {}),
            ...(t.rpm !== undefined ? { rpm: t.rpm } : {}),
            ...(t.tpm !== undefined ? { tpm: t.tpm } : {}),
            ...(t.order !== undefined ? { order: t.order } : route.strategy === "fallback" ? { order: route.targets.indexOf(t) + 1 } : {}),
          },
          model_info: {
            ...(t.id !== undefined ? { id: t.id } : {}),
            ...(t.maxInputTokens !== undefined ? { max_input_tokens: t.maxInputTokens } : {}),
            gateway_provider: p.name,
          },
        });
      }
    }
    return { model_list, router_settings: routerSettings(groups, routes) };
  }
}

function paramsOf(p: ProviderRecord): Record<string, string | number> {
  return {
    ...(p.baseUrl !== null ? { api_base: p.baseUrl } : {}),
    ...(p.credentialRef !== null ? { api_key: `os.environ/${p.credentialEnv ?? exportedEnvName(p.name)}` } : {}),
    ...(p.apiVersion !== null ? { api_version: p.apiVersion } : {}),
    ...(p.timeoutMs !== null ? { timeout: p.timeoutMs / 1000 } : {}),
  };
}

function routerSettings(groups: readonly RouteRecord[], all: readonly RouteRecord[]): Record<string, unknown> {
  const first = groups[0];
  if (!first) return {};
  const listOf = (pick: (r: RouteRecord) => string[] | undefined) =>
    groups.flatMap((r) => {
      const names = pick(r);
      return names?.length ? [{ [r.name]: names }] : [];
    });
  const fallbacks = listOf((r) => r.settings.fallbacks);
  const contextWindow = listOf((r) => r.settings.contextWindowFallbacks);
  const contentPolicy = listOf((r) => r.settings.contentPolicyFallbacks);
  const aliases = Object.fromEntries(all.flatMap((r) => (r.settings.aliasOf !== undefined ? [[r.name, r.settings.aliasOf]] : [])));
  return {
    routing_strategy: LITELLM_STRATEGY_OF[first.strategy],
    num_retries: first.retries,
    ...(first.timeoutMs !== null ? { timeout: first.timeoutMs / 1000 } : {}),
    ...(first.settings.allowedFails !== undefined ? { allowed_fails: first.settings.allowedFails } : {}),
    ...(first.settings.cooldownMs !== undefined ? { cooldown_time: first.settings.cooldownMs / 1000 } : {}),
    ...(fallbacks.length ? { fallbacks } : {}),
    ...(contextWindow.length ? { context_window_fallbacks: contextWindow } : {}),
    ...(contentPolicy.length ? { content_policy_fallbacks: contentPolicy } : {}),
    ...(Object.keys(aliases).length ? { model_group_alias: aliases } : {}),
  };
}
