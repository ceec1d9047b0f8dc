import type { ApiErrorInit, Result } from "../../../shared/src";
import type { Unsupported } from "../../../shared/src/contracts/litellm";
import { ProviderNameSchema, RouteNameSchema, type ProviderKind, type RouteStrategy } from "../../../shared/src/contracts/providers";
import { MAX_ROUTES_PER_OWNER } from "../providers-store/limits";

/**
 * A LiteLLM proxy `config.yaml` (already parsed from YAML or JSON by the gateway), read into what
 * the gateway can configure: deployments (→ providers and route targets), model groups (→ routes)
 * and the router's settings. Nothing is dropped silently: every key this importer does not apply is
 * listed in `unsupported` with its path and why; a value that is present but wrong is a 400 naming
 * its path (`model_list[2].litellm_params.rpm`).
 */

export type { Unsupported };

/** Where a deployment's credential comes from: a Worker secret / exported name, or the key itself. */
export type CredentialSource = { env: string } | { plaintext: string };

export interface Deployment {
  /** `model_list[i]`. */
  path: string;
  /** The model group (`model_name`): the public model name clients send. */
  group: string;
  /** The LiteLLM prefix as written (`openai`, `together_ai`, …). */
  prefix: string;
  type: ProviderKind;
  /** The upstream model (what follows the prefix). */
  model: string;
  baseUrl: string | null;
  credential: CredentialSource | null;
  apiVersion: string | null;
  timeoutMs: number | null;
  rpm: number | null;
  tpm: number | null;
  weight: number;
  order: number | null;
  /** `model_info.id`: LiteLLM's deployment id. */
  id: string | null;
  maxInputTokens: number | null;
  /** `model_info.gateway_provider`: the provider name an export wrote (keeps names across a round trip). */
  providerName: string | null;
}

export interface RouterSettings {
  strategy: RouteStrategy;
  /** The LiteLLM strategy as written (`simple-shuffle`, …). */
  litellmStrategy: LiteLLMStrategy;
  retries: number | null;
  timeoutMs: number | null;
  allowedFails: number | null;
  cooldownMs: number | null;
  fallbacks: Map<string, string[]>;
  contextWindowFallbacks: Map<string, string[]>;
  contentPolicyFallbacks: Map<string, string[]>;
  /** `model_group_alias`: alias → group. */
  aliases: Map<string, string>;
}

export interface LiteLLMConfig {
  deployments: Deployment[];
  settings: RouterSettings;
  unsupported: Unsupported[];
}

/** LiteLLM's routing strategies and ours. */
export const STRATEGIES = {
  "simple-shuffle": "weighted",
  "least-busy": "least-busy",
  "latency-based-routing": "least-latency",
  "usage-based-routing-v2": "usage-based",
  "usage-based-routing": "usage-based",
} as const satisfies Record<string, RouteStrategy>;
export type LiteLLMStrategy = keyof typeof STRATEGIES;

/** Our strategy as LiteLLM names it (an ordered `fallback` route is a shuffle over distinct `order` tiers). */
export const LITELLM_STRATEGY_OF: Record<RouteStrategy, LiteLLMStrategy> = {
  weighted: "simple-shuffle",
  fallback: "simple-shuffle",
  "least-busy": "least-busy",
  "least-latency": "latency-based-routing",
  "usage-based": "usage-based-routing-v2",
};

/**
 * LiteLLM's provider prefixes → our provider types. `openai/` with an `api_base` and no key is an
 * OpenAI-compatible server (LiteLLM's usual way to reach one).
 */
export const PREFIXES: Record<string, ProviderKind> = {
  openai: "openai",
  text_completion_openai: "openai",
  custom_openai: "openai-compatible",
  openai_like: "openai-compatible",
  azure: "azure-openai",
  anthropic: "anthropic",
  gemini: "google",
  groq: "groq",
  mistral: "mistral",
  together_ai: "together",
  fireworks_ai: "fireworks",
  deepseek: "deepseek",
  xai: "xai",
  openrouter: "openrouter",
  perplexity: "perplexity",
  ollama: "ollama",
  ollama_chat: "ollama",
  hosted_vllm: "vllm",
  cloudflare: "workers-ai",
  meta_llama: "meta-llama",
  litellm_proxy: "litellm-proxy",
};

/** Our type → the prefix an export writes. */
export const PREFIX_OF: Record<ProviderKind, string> = {
  openai: "openai",
  "openai-compatible": "openai_like",
  "azure-openai": "azure",
  anthropic: "anthropic",
  google: "gemini",
  groq: "groq",
  mistral: "mistral",
  together: "together_ai",
  fireworks: "fireworks_ai",
  deepseek: "deepseek",
  xai: "xai",
  openrouter: "openrouter",
  perplexity: "perplexity",
  ollama: "ollama",
  vllm: "hosted_vllm",
  "workers-ai": "cloudflare",
  "meta-llama": "meta_llama",
  "litellm-proxy": "litellm_proxy",
};

/** Prefixes LiteLLM knows that need what a Worker cannot hold here (cloud IAM signing, service accounts). */
const UNSUPPORTED_PREFIXES: Record<string, string> = {
  vertex_ai: "Vertex AI needs Google Cloud service-account (OAuth) signing, which providers here do not do; use a 'gemini/' deployment with an API key",
  bedrock: "Bedrock needs AWS SigV4 signing, which providers here do not do",
  sagemaker: "SageMaker needs AWS SigV4 signing, which providers here do not do",
};

/** Caps on what one file may configure (the body itself is bounded by the gateway). */
export const MAX_DEPLOYMENTS = 500;
export const MAX_DEPLOYMENTS_PER_GROUP = 16;
const MAX_FALLBACKS = 8;

const ENV_REF = /^os\.environ\/([A-Za-z_][A-Za-z0-9_]{0,127})$/;
const DEPLOYMENT_KEYS = new Set(["model_name", "litellm_params", "model_info"]);
const PARAM_KEYS = new Set(["model", "api_base", "base_url", "api_key", "api_version", "rpm", "tpm", "timeout", "weight", "order", "stream_timeout"]);
const INFO_KEYS = new Set(["id", "max_input_tokens", "gateway_provider"]);
const ROUTER_KEYS = new Set([
  "routing_strategy",
  "num_retries",
  "timeout",
  "allowed_fails",
  "cooldown_time",
  "fallbacks",
  "context_window_fallbacks",
  "content_policy_fallbacks",
  "model_group_alias",
]);
/** litellm_settings with an equivalent here (the router's, when router_settings does not set them). */
const LITELLM_SETTINGS_KEYS = new Set([
  "num_retries",
  "request_timeout",
  "fallbacks",
  "context_window_fallbacks",
  "content_policy_fallbacks",
  "allowed_fails",
  "cooldown_time",
]);
const TOP_KEYS = new Set(["model_list", "router_settings", "litellm_settings"]);

class Invalid extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function parseLiteLLMConfig(doc: unknown): Result<LiteLLMConfig> {
  try {
    return { ok: true, value: read(doc) };
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    const error: ApiErrorInit = { code: "invalid_request", param: err.path, message: `Invalid LiteLLM config at '${err.path}': ${err.detail}.` };
    return { ok: false, error };
  }
}

function read(doc: unknown): LiteLLMConfig {
  if (!isObject(doc)) throw new Invalid("$", "the file must be a mapping with a 'model_list'");
  const unsupported: Unsupported[] = [];
  for (const key of Object.keys(doc)) {
    if (!TOP_KEYS.has(key)) unsupported.push({ path: key, reason: reasonForTopKey(key) });
  }
  const list = doc["model_list"];
  if (!Array.isArray(list)) throw new Invalid("model_list", "must be a list of deployments");
  if (list.length > MAX_DEPLOYMENTS) throw new Invalid("model_list", `has ${list.length} entries; at most ${MAX_DEPLOYMENTS} are accepted`);
  const deployments: Deployment[] = [];
  for (const [i, entry] of list.entries()) {
    const deployment = readDeployment(entry, `model_list[${i}]`, unsupported);
    if (deployment) deployments.push(deployment);
  }

  const groups = new Map<string, number>();
  for (const d of deployments) groups.set(d.group, (groups.get(d.group) ?? 0) + 1);
  if (groups.size > MAX_ROUTES_PER_OWNER) throw new Invalid("model_list", `names ${groups.size} model groups; at most ${MAX_ROUTES_PER_OWNER} are accepted`);
  for (const [group, n] of groups) {
    if (n > MAX_DEPLOYMENTS_PER_GROUP)
      throw new Invalid("model_list", `model group '${group}' has ${n} deployments; at most ${MAX_DEPLOYMENTS_PER_GROUP} are accepted`);
  }

  const settings = readSettings(doc, groups, unsupported);
  return { deployments, settings, unsupported };
}

function reasonForTopKey(key: string): string {
  switch (key) {
    case "general_settings":
      return "proxy server settings (master key, database, UI) have no equivalent: the gateway's own auth, keys and stores apply";
    case "environment_variables":
      return "environment variables are not set from a config; os.environ references resolve from the gateway's Worker secrets";
    default:
      return "not a LiteLLM setting this importer applies";
  }
}

function readDeployment(entry: unknown, path: string, unsupported: Unsupported[]): Deployment | null {
  if (!isObject(entry)) throw new Invalid(path, "must be a mapping with 'model_name' and 'litellm_params'");
  for (const key of Object.keys(entry))
    if (!DEPLOYMENT_KEYS.has(key)) unsupported.push({ path: `${path}.${key}`, reason: "not a deployment field this importer applies" });
  const group = entry["model_name"];
  if (typeof group !== "string") throw new Invalid(`${path}.model_name`, "must be a string");
  if (!RouteNameSchema.safeParse(group).success) {
    throw new Invalid(`${path}.model_name`, "must be 1-128 characters of letters, digits and . _ : / @ + -, starting with a letter or digit");
  }
  const params = entry["litellm_params"];
  if (!isObject(params)) throw new Invalid(`${path}.litellm_params`, "must be a mapping with 'model'");
  const pp = `${path}.litellm_params`;
  for (const key of Object.keys(params)) {
    if (!PARAM_KEYS.has(key)) unsupported.push({ path: `${pp}.${key}`, reason: "not a deployment parameter this importer applies" });
  }
  const full = params["model"];
  if (typeof full !== "string" || full.length === 0 || full.length > 300) throw new Invalid(`${pp}.model`, "must be '<provider>/<model>'");
  const slash = full.indexOf("/");
  const prefix = slash > 0 ? full.slice(0, slash) : "";
  const model = slash > 0 ? full.slice(slash + 1) : "";
  if (!prefix || !model) throw new Invalid(`${pp}.model`, `'${full}' has no provider prefix; write '<provider>/<model>' (e.g. 'openai/${full}')`);
  if (UNSUPPORTED_PREFIXES[prefix]) {
    unsupported.push({ path: `${pp}.model`, reason: `${UNSUPPORTED_PREFIXES[prefix]}; this deployment was not imported` });
    return null;
  }
  let type = PREFIXES[prefix];
  if (!type) {
    unsupported.push({ path: `${pp}.model`, reason: `the provider prefix '${prefix}/' has no provider type here; this deployment was not imported` });
    return null;
  }
  if (model.length > 256) throw new Invalid(`${pp}.model`, "the model name is longer than 256 characters");

  const baseUrl = optionalString(params["api_base"] ?? params["base_url"], `${pp}.${params["api_base"] !== undefined ? "api_base" : "base_url"}`, 2048);
  if (params["api_base"] !== undefined && params["base_url"] !== undefined) throw new Invalid(`${pp}.base_url`, "give 'api_base' or 'base_url', not both");
  const credential = readCredential(params["api_key"], `${pp}.api_key`);
  if (type === "openai" && baseUrl !== null && credential === null) type = "openai-compatible";
  if ((type === "azure-openai" || type === "openai-compatible" || type === "litellm-proxy" || type === "workers-ai") && baseUrl === null) {
    const hint = type === "workers-ai" ? " (https://api.cloudflare.com/client/v4/accounts/<account id>/ai/v1)" : "";
    throw new Invalid(`${pp}.api_base`, `'${prefix}/' deployments need 'api_base'${hint}`);
  }
  const apiVersion = optionalString(params["api_version"], `${pp}.api_version`, 64);
  if (apiVersion !== null && !/^[0-9A-Za-z._-]{1,64}$/.test(apiVersion)) throw new Invalid(`${pp}.api_version`, "is not a valid api-version");
  if (params["stream_timeout"] !== undefined)
    unsupported.push({ path: `${pp}.stream_timeout`, reason: "streams use the deployment's 'timeout' until their first byte and for every silence after" });

  const info = entry["model_info"];
  let id: string | null = null;
  let maxInputTokens: number | null = null;
  let providerName: string | null = null;
  if (info !== undefined) {
    if (!isObject(info)) throw new Invalid(`${path}.model_info`, "must be a mapping");
    for (const key of Object.keys(info))
      if (!INFO_KEYS.has(key)) unsupported.push({ path: `${path}.model_info.${key}`, reason: "model_info field not used here" });
    id = optionalString(info["id"], `${path}.model_info.id`, 128);
    maxInputTokens = optionalInt(info["max_input_tokens"], `${path}.model_info.max_input_tokens`, 1, 100_000_000);
    providerName = optionalString(info["gateway_provider"], `${path}.model_info.gateway_provider`, 63);
    if (providerName !== null && !ProviderNameSchema.safeParse(providerName).success) {
      throw new Invalid(`${path}.model_info.gateway_provider`, "must be 1-63 characters of a-z, 0-9, '.', '_' or '-'");
    }
  }
  return {
    path,
    group,
    prefix,
    type,
    model,
    baseUrl,
    credential,
    apiVersion,
    timeoutMs: optionalSeconds(params["timeout"], `${pp}.timeout`),
    rpm: optionalInt(params["rpm"], `${pp}.rpm`, 1, 10_000_000),
    tpm: optionalInt(params["tpm"], `${pp}.tpm`, 1, 10_000_000_000),
    weight: optionalNumber(params["weight"], `${pp}.weight`, 0, 1_000_000) ?? 1,
    order: optionalInt(params["order"], `${pp}.order`, 0, 1000),
    id,
    maxInputTokens,
    providerName,
  };
}

function readCredential(value: unknown, path: string): CredentialSource | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string") throw new Invalid(path, "must be a string (the key, or os.environ/NAME)");
  const ref = ENV_REF.exec(value);
  if (ref) return { env: ref[1]! };
  if (value.startsWith("os.environ/")) throw new Invalid(path, "os.environ/ must be followed by a variable name (letters, digits and _)");
  if (value.length > 8192 || /[\r\n\0]/.test(value)) throw new Invalid(path, "is not a usable key (at most 8192 characters, no CR, LF or NUL)");
  return { plaintext: value };
}

function readSettings(doc: Record<string, unknown>, groups: ReadonlyMap<string, number>, unsupported: Unsupported[]): RouterSettings {
  const router = doc["router_settings"] ?? {};
  if (!isObject(router)) throw new Invalid("router_settings", "must be a mapping");
  const lite = doc["litellm_settings"] ?? {};
  if (!isObject(lite)) throw new Invalid("litellm_settings", "must be a mapping");
  for (const key of Object.keys(router)) {
    if (!ROUTER_KEYS.has(key)) unsupported.push({ path: `router_settings.${key}`, reason: routerReason(key) });
  }
  for (const key of Object.keys(lite)) {
    if (!LITELLM_SETTINGS_KEYS.has(key))
      unsupported.push({ path: `litellm_settings.${key}`, reason: "this LiteLLM SDK setting has no equivalent in the gateway" });
  }
  // router_settings wins over litellm_settings where both set a value.
  const pick = (key: string, liteKey = key): [unknown, string] =>
    router[key] !== undefined ? [router[key], `router_settings.${key}`] : [lite[liteKey], `litellm_settings.${liteKey}`];

  const [strategyValue, strategyPath] = pick("routing_strategy");
  let litellmStrategy: LiteLLMStrategy = "simple-shuffle";
  if (strategyValue !== undefined) {
    if (typeof strategyValue !== "string" || !(strategyValue in STRATEGIES)) {
      throw new Invalid(strategyPath, `must be one of ${Object.keys(STRATEGIES).join(", ")}`);
    }
    litellmStrategy = strategyValue as LiteLLMStrategy;
  }
  const [retries, retriesPath] = pick("num_retries");
  const [timeout, timeoutPath] = pick("timeout", "request_timeout");
  const [allowedFails, allowedPath] = pick("allowed_fails");
  const [cooldown, cooldownPath] = pick("cooldown_time");
  const cooldownMs = optionalSeconds(cooldown, cooldownPath, 1, 86_400_000);
  const contentPolicyFallbacks = readFallbacks(...pick("content_policy_fallbacks"), groups);
  return {
    strategy: STRATEGIES[litellmStrategy],
    litellmStrategy,
    retries: optionalInt(retries, retriesPath, 0, 5),
    timeoutMs: optionalSeconds(timeout, timeoutPath),
    allowedFails: optionalInt(allowedFails, allowedPath, 0, 1000),
    cooldownMs,
    fallbacks: readFallbacks(...pick("fallbacks"), groups),
    contextWindowFallbacks: readFallbacks(...pick("context_window_fallbacks"), groups),
    contentPolicyFallbacks,
    aliases: readAliases(router["model_group_alias"], "router_settings.model_group_alias", groups),
  };
}

function routerReason(key: string): string {
  switch (key) {
    case "redis_host":
    case "redis_port":
    case "redis_password":
    case "redis_url":
      return "shared routing state lives in Durable Objects here, not Redis";
    default:
      return "not a router setting this importer applies";
  }
}

/** LiteLLM's `[{group: [fallback, …]}, …]`; every name must be a group of this file. */
function readFallbacks(value: unknown, path: string, groups: ReadonlyMap<string, number>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (value === undefined || value === null) return out;
  if (!Array.isArray(value)) throw new Invalid(path, "must be a list of {model_group: [fallback groups]}");
  for (const [i, item] of value.entries()) {
    if (!isObject(item)) throw new Invalid(`${path}[${i}]`, "must be a mapping {model_group: [fallback groups]}");
    for (const [group, list] of Object.entries(item)) {
      const at = `${path}[${i}].${group}`;
      if (!groups.has(group)) throw new Invalid(at, `'${group}' is not a model_name in model_list`);
      if (!Array.isArray(list) || list.some((x) => typeof x !== "string")) throw new Invalid(at, "must be a list of model group names");
      if (list.length > MAX_FALLBACKS) throw new Invalid(at, `lists ${list.length} fallbacks; at most ${MAX_FALLBACKS}`);
      for (const [j, name] of (list as string[]).entries()) {
        if (!groups.has(name)) throw new Invalid(`${at}[${j}]`, `'${name}' is not a model_name in model_list`);
        if (name === group) throw new Invalid(`${at}[${j}]`, "a group cannot fall back to itself");
      }
      out.set(group, [...new Set([...(out.get(group) ?? []), ...(list as string[])])]);
    }
  }
  return out;
}

function readAliases(value: unknown, path: string, groups: ReadonlyMap<string, number>): Map<string, string> {
  const out = new Map<string, string>();
  if (value === undefined || value === null) return out;
  if (!isObject(value)) throw new Invalid(path, "must be a mapping {alias: model_group}");
  for (const [alias, target] of Object.entries(value)) {
    const at = `${path}.${alias}`;
    const group = isObject(target) ? target["model"] : target;
    if (typeof group !== "string") throw new Invalid(at, "must name a model group (or {model: group})");
    if (!groups.has(group)) throw new Invalid(at, `'${group}' is not a model_name in model_list`);
    if (groups.has(alias)) throw new Invalid(at, `'${alias}' is already a model group`);
    if (!RouteNameSchema.safeParse(alias).success) throw new Invalid(at, "is not a usable model name");
    out.set(alias, group);
  }
  return out;
}

function optionalString(value: unknown, path: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value.length === 0 || value.length > max) throw new Invalid(path, `must be a string of 1-${max} characters`);
  return value;
}

function optionalNumber(value: unknown, path: string, min: number, max: number): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) throw new Invalid(path, `must be a number from ${min} to ${max}`);
  return value;
}

function optionalInt(value: unknown, path: string, min: number, max: number): number | null {
  const n = optionalNumber(value, path, min, max);
  if (n !== null && !Number.isInteger(n)) throw new Invalid(path, "must be a whole number");
  return n;
}

/** LiteLLM gives times in seconds; stored in ms (per-attempt timeouts: 0.1 s to 600 s). */
function optionalSeconds(value: unknown, path: string, minMs = 100, maxMs = 600_000): number | null {
  const s = optionalNumber(value, path, minMs / 1000, maxMs / 1000);
  return s === null ? null : Math.round(s * 1000);
}
