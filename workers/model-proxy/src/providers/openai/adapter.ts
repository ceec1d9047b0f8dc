import type { ProxyOperation } from "../../../../shared/src";
import type { AdapterContext, ProviderAdapter, ProviderType, Target } from "../types";
import { fetchUpstream } from "../upstream-errors";
import { OPENAI_PATHS, WIRE_PRESETS, type WirePreset } from "./presets";

/** Azure OpenAI's `api-version` when the provider sets none (a GA version). */
const AZURE_API_VERSION = "2024-10-21";

/**
 * The adapter for every upstream that speaks OpenAI's API: OpenAI itself and the compatible
 * vendors (presets.ts). The request body is the client's, validated by the gateway; only `model`
 * is replaced by the upstream model name and, when the gateway must meter a stream the client
 * did not ask usage for, `stream_options.include_usage` is switched on. The upstream Response is
 * returned as is — its body streams through without being parsed.
 */
export class OpenAICompatibleAdapter implements ProviderAdapter {
  constructor(private readonly preset: WirePreset) {}

  static for(type: ProviderType): OpenAICompatibleAdapter | null {
    const preset = WIRE_PRESETS[type];
    return preset ? new OpenAICompatibleAdapter(preset) : null;
  }

  supports(operation: ProxyOperation): boolean {
    return this.preset.operations.includes(operation);
  }

  async call(operation: ProxyOperation, body: Record<string, unknown>, target: Target, ctx: AdapterContext): Promise<Response> {
    const { provider } = target;
    const payload: Record<string, unknown> = { ...body, model: target.model };
    if (ctx.forceStreamUsage && payload["stream"] === true && this.preset.streamUsage) {
      const options = payload["stream_options"];
      payload["stream_options"] = { ...(options && typeof options === "object" ? options : {}), include_usage: true };
    }
    const headers: Record<string, string> = {
      ...provider.headers,
      "content-type": "application/json",
      accept: payload["stream"] === true ? "text/event-stream" : "application/json",
      "x-request-id": ctx.requestId,
    };
    if (provider.apiKey) {
      if (this.preset.auth === "api-key") headers["api-key"] = provider.apiKey;
      else headers["authorization"] = `Bearer ${provider.apiKey}`;
    }
    return fetchUpstream(this.url(operation, target), { method: "POST", headers, body: JSON.stringify(payload) }, provider, ctx);
  }

  /** `<base>/chat/completions`, or Azure's `<base>/openai/deployments/<model>/chat/completions?api-version=`. */
  url(operation: ProxyOperation, target: Target): string {
    const base = target.provider.baseUrl.replace(/\/+$/, "");
    if (this.preset.deploymentPath) {
      const version = encodeURIComponent(target.provider.apiVersion ?? AZURE_API_VERSION);
      return `${base}/openai/deployments/${encodeURIComponent(target.model)}${OPENAI_PATHS[operation]}?api-version=${version}`;
    }
    return `${base}${OPENAI_PATHS[operation]}`;
  }
}
