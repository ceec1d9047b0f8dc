import type { ApiErrorInit, ProxyOperation } from "../../../shared/src";
import { WIRE_PRESETS } from "./openai/presets";
import type { ProviderType } from "./types";

/**
 * Request fields that make an upstream bill more than the tokens the gateway meters. On the
 * platform's providers the platform pays the upstream and bills tenants by tokens (billing's price
 * table), so a field it cannot price is refused with a 400 naming it; on a tenant's own provider
 * (BYOK) the upstream bills the tenant directly, and every field passes.
 *
 * OpenAI's wire (every OpenAI-compatible type; the body passes through as sent):
 * - `service_tier` other than `auto`/`default`: `flex`, `priority` and `scale` are priced apart
 *   from the standard tier (Groq's `flex`/`performance` too);
 * - `web_search_options`: web search is billed per call on top of tokens;
 * - `store: true`: the completion is kept in the platform's upstream account (its stored
 *   completions and evals) — not the tenant's, and not something the gateway meters.
 * Anthropic's wire (`/v1/messages` to an Anthropic provider, passed through):
 * - server tools (`tools[i].type` `web_search_*`, `web_fetch_*`, `code_execution_*`): searches and
 *   container time are billed per use; fetched pages are pulled by the platform's account;
 * - `speed` other than `standard` (fast mode's premium) and `inference_geo` other than `global`
 *   (US-only inference is priced higher).
 * Translating adapters (Anthropic and Google for chat, any non-Anthropic provider for messages)
 * already drop or refuse these fields, so nothing here applies to them.
 */
export function billedExtra(operation: ProxyOperation, body: Record<string, unknown>, type: ProviderType): ApiErrorInit | null {
  if ((operation === "chat" || operation === "completions") && WIRE_PRESETS[type]) return openAIExtra(body);
  if (operation === "messages" && type === "anthropic") return anthropicExtra(body);
  return null;
}

const STANDARD_TIERS = new Set(["auto", "default"]);
const SERVER_TOOL = /^(web_search|web_fetch|code_execution)_/;

function openAIExtra(body: Record<string, unknown>): ApiErrorInit | null {
  const tier = body["service_tier"];
  if (tier !== undefined && tier !== null && !STANDARD_TIERS.has(String(tier))) {
    return refused("service_tier", `service_tier '${String(tier)}' is billed by the upstream apart from the standard tier`);
  }
  if (body["web_search_options"] !== undefined && body["web_search_options"] !== null) {
    return refused("web_search_options", "web search is billed by the upstream per search, on top of tokens");
  }
  if (body["store"] === true) return refused("store", "'store: true' keeps the completion in the platform's upstream account");
  return null;
}

function anthropicExtra(body: Record<string, unknown>): ApiErrorInit | null {
  const tools = body["tools"];
  if (Array.isArray(tools)) {
    for (let i = 0; i < tools.length; i++) {
      const type: unknown = (tools[i] as { type?: unknown } | null)?.type;
      if (typeof type === "string" && SERVER_TOOL.test(type)) {
        return refused(`tools[${i}].type`, `the server tool '${type}' is billed by the upstream per use, on top of tokens`);
      }
    }
  }
  const speed = body["speed"];
  if (speed !== undefined && speed !== null && speed !== "standard") return refused("speed", `speed '${String(speed)}' is billed by the upstream at a premium`);
  const geo = body["inference_geo"];
  if (geo !== undefined && geo !== null && geo !== "global")
    return refused("inference_geo", `inference_geo '${String(geo)}' is billed by the upstream at a premium`);
  return null;
}

function refused(param: string, why: string): ApiErrorInit {
  return {
    code: "invalid_request",
    param,
    message: `'${param}' cannot be used with the platform's providers: ${why}, which the gateway does not meter. Omit it, or use a provider of your own (BYOK), which the upstream bills to you directly.`,
  };
}
