import type { ProviderKind } from "../../../shared/src/contracts/providers";
import type { ProxyOperation } from "../../../shared/src";
import type { UpstreamPolicy } from "../../../shared/src/ssrf";

/** Provider kinds (the providers contract lists them). */
export type ProviderType = ProviderKind;

/** A configured provider with its credential already revealed (lives only in model-proxy memory). */
export interface ProviderConfig {
  id: string;
  name: string;
  type: ProviderType;
  baseUrl: string;
  apiKey: string;
  /** Extra headers sent upstream (e.g. OpenAI-Organization). */
  headers: Record<string, string>;
  timeoutMs: number;
  /** null = any model; otherwise the upstream models this provider serves. */
  models: string[] | null;
  /** Azure's api-version query parameter. */
  apiVersion?: string;
  /**
   * Set for providers managed through the providers API: the credential lives encrypted in the
   * secrets Worker and `apiKey` is filled in (from an isolate cache) just before the call.
   */
  credential?: { ref: string; rotatedAt: number | null };
  /** When set, every upstream URL (and redirect hop) passes the SSRF guard under this policy. */
  upstreamPolicy?: UpstreamPolicy;
}

/** One upstream attempt: this provider, this upstream model name. */
export interface Target {
  provider: ProviderConfig;
  model: string;
  /** Relative share under a `weighted` route (default 1). */
  weight?: number;
  /** Set when the provider is a tenant's own (BYOK): that tenant. Absent for platform providers. */
  tenant?: string;
  /** A LiteLLM deployment's own settings (route targets imported from a LiteLLM config). */
  deployment?: DeploymentSettings;
}

export interface DeploymentSettings {
  /** LiteLLM's deployment id (`x-litellm-model-id`). */
  id?: string;
  /** Requests / tokens per minute this deployment may take, across every isolate. */
  rpm?: number;
  tpm?: number;
  /** Lower tiers are tried first. */
  order?: number;
  /** The most prompt tokens it takes; a longer prompt goes to a context-window fallback. */
  maxInputTokens?: number;
}

export interface AdapterContext {
  requestId: string;
  /** Aborts the upstream call (per-attempt timeout or client gone). */
  signal: AbortSignal;
  /** The body must ask the upstream to report usage in streams (OpenAI `stream_options.include_usage`). */
  forceStreamUsage: boolean;
  /** Client headers forwarded by the gateway for this operation (ProxyRequest.headers). */
  clientHeaders?: Record<string, string>;
  /** W3C `traceparent` naming this attempt's span, sent upstream (fetchUpstream sets it). */
  traceparent?: string;
}

/**
 * A provider adapter speaks one upstream wire format. It takes an OpenAI-shaped request body, calls
 * the upstream and returns an OpenAI-shaped Response (JSON, or SSE chunks ending in `data: [DONE]`),
 * or throws an `ApiError` describing the upstream failure (see upstream-errors.ts). Adapters never
 * put the provider key in an error or log line.
 */
export interface ProviderAdapter {
  supports(operation: ProxyOperation): boolean;
  call(operation: ProxyOperation, body: Record<string, unknown>, target: Target, ctx: AdapterContext): Promise<Response>;
  /**
   * The exact input tokens of an Anthropic Messages request (`/v1/messages/count_tokens`), from
   * the upstream's own counting endpoint. Only adapters whose upstream has one implement it; for
   * the others model-proxy answers the gateway's documented estimate (dispatch/count-tokens.ts).
   */
  countMessageTokens?(body: Record<string, unknown>, target: Target, ctx: AdapterContext): Promise<number>;
}
