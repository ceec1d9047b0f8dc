import {
  PROVIDER_PRESETS,
  type Owner,
  type ProviderKind,
  type ProviderView,
  type RouteStrategy,
  type RouteView,
} from "../../../shared/src/contracts/providers";

/** The owner column: the platform's providers serve every tenant; a tenant's serve only that tenant. */
export const PLATFORM = "platform";

/** A provider as stored (credential by reference only). */
export interface ProviderRecord {
  id: string;
  owner: string;
  name: string;
  type: ProviderKind;
  /** As configured; null = the type's preset. */
  baseUrl: string | null;
  credentialRef: string | null;
  last4: string | null;
  rotatedAt: number | null;
  models: string[] | null;
  headers: Record<string, string>;
  timeoutMs: number | null;
  apiVersion: string | null;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
  /** What wrote it: null = the providers API, `litellm` = a LiteLLM config import. */
  source: RecordSource;
  /** The `os.environ/NAME` the credential was imported as and is exported as (a name, never the value). */
  credentialEnv: string | null;
}

export type RecordSource = "litellm" | null;

/** A route target: one deployment of a model group (LiteLLM's per-deployment fields are optional). */
export interface RouteTargetRecord {
  provider: string;
  model: string;
  weight: number;
  /** Requests / tokens per minute this deployment may take (LiteLLM `rpm`/`tpm`). */
  rpm?: number;
  tpm?: number;
  /** LiteLLM `order`: lower tiers are tried first; the strategy chooses within a tier. */
  order?: number;
  /** LiteLLM's deployment id (`model_info.id`): `x-litellm-model-id`. */
  id?: string;
  /** The most prompt tokens this deployment takes (`model_info.max_input_tokens`). */
  maxInputTokens?: number;
}

/** A model group's LiteLLM routing beyond its targets. */
export interface RouteSettings {
  /** Groups tried, in order, after every deployment of this one failed. */
  fallbacks?: string[];
  /** Groups for a prompt too long for every deployment of this one. */
  contextWindowFallbacks?: string[];
  /** Groups for a request an upstream refused by its content policy. */
  contentPolicyFallbacks?: string[];
  /** Failures of a deployment (within a minute) before it is cooled down. */
  allowedFails?: number;
  /** How long a cooled-down deployment sits out. */
  cooldownMs?: number;
  /** Set on a `model_group_alias` route: the group it names. */
  aliasOf?: string;
}

export interface RouteRecord {
  id: string;
  owner: string;
  name: string;
  strategy: RouteStrategy;
  targets: RouteTargetRecord[];
  retries: number;
  timeoutMs: number | null;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
  source: RecordSource;
  settings: RouteSettings;
}

export interface ProviderRow {
  id: string;
  owner: string;
  name: string;
  type: string;
  base_url: string | null;
  credential_ref: string | null;
  last4: string | null;
  rotated_at: number | null;
  models: string | null;
  headers: string;
  timeout_ms: number | null;
  api_version: string | null;
  enabled: number;
  created_at: number;
  updated_at: number;
  source: string | null;
  credential_env: string | null;
}

export interface RouteRow {
  id: string;
  owner: string;
  name: string;
  strategy: string;
  targets: string;
  retries: number;
  timeout_ms: number | null;
  enabled: number;
  created_at: number;
  updated_at: number;
  source: string | null;
  settings: string;
}

export function providerFromRow(r: ProviderRow): ProviderRecord {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    type: r.type as ProviderKind,
    baseUrl: r.base_url,
    credentialRef: r.credential_ref,
    last4: r.last4,
    rotatedAt: r.rotated_at,
    models: r.models === null ? null : (JSON.parse(r.models) as string[]),
    headers: JSON.parse(r.headers) as Record<string, string>,
    timeoutMs: r.timeout_ms,
    apiVersion: r.api_version,
    enabled: r.enabled === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    source: r.source === "litellm" ? "litellm" : null,
    credentialEnv: r.credential_env,
  };
}

export function routeFromRow(r: RouteRow): RouteRecord {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    strategy: r.strategy as RouteStrategy,
    targets: JSON.parse(r.targets) as RouteTargetRecord[],
    retries: r.retries,
    timeoutMs: r.timeout_ms,
    enabled: r.enabled === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    source: r.source === "litellm" ? "litellm" : null,
    settings: JSON.parse(r.settings) as RouteSettings,
  };
}

/** The upstream root a provider uses: its own, or its type's preset. */
export function effectiveBaseUrl(p: Pick<ProviderRecord, "type" | "baseUrl">): string | null {
  return p.baseUrl ?? PROVIDER_PRESETS[p.type].baseUrl;
}

const seconds = (ms: number) => Math.floor(ms / 1000);
const ownerOf = (owner: string): Owner => (owner === PLATFORM ? "platform" : "tenant");

/** The API's view of a provider: never the credential, only its last four characters. */
export function providerView(p: ProviderRecord): ProviderView {
  return {
    id: p.id,
    object: "provider",
    owner: ownerOf(p.owner),
    name: p.name,
    type: p.type,
    base_url: effectiveBaseUrl(p),
    models: p.models,
    headers: p.headers,
    timeout_ms: p.timeoutMs,
    api_version: p.apiVersion,
    enabled: p.enabled,
    has_api_key: p.credentialRef !== null,
    last4: p.last4,
    rotated_at: p.rotatedAt === null ? null : seconds(p.rotatedAt),
    created_at: seconds(p.createdAt),
    updated_at: seconds(p.updatedAt),
  };
}

export function routeView(r: RouteRecord): RouteView {
  return {
    id: r.id,
    object: "route",
    owner: ownerOf(r.owner),
    name: r.name,
    strategy: r.strategy,
    targets: r.targets.map((t) => ({ provider: t.provider, model: t.model, weight: t.weight })),
    retries: r.retries,
    timeout_ms: r.timeoutMs,
    enabled: r.enabled,
    created_at: seconds(r.createdAt),
    updated_at: seconds(r.updatedAt),
  };
}
