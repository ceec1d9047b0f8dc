import type { ProviderConfig } from "../types";

/**
 * Anthropic's Messages API as the adapter calls it: where, with which headers, and the wire types
 * it reads back. The types are our own (not the SDK's) because they describe what arrives on the
 * wire from any API version we may meet: fields newer than `anthropic-version: 2023-06-01` are
 * optional here.
 */
export const ANTHROPIC_API = {
  defaultBaseUrl: "https://api.anthropic.com",
  /** The one stable API version; newer behaviour is opted into with `anthropic-beta`, never implied. */
  version: "2023-06-01",
  paths: { messages: "/v1/messages", countTokens: "/v1/messages/count_tokens" },
} as const;

/**
 * The messages URL for a provider. Users configure either the SDK-style origin
 * (`https://api.anthropic.com`) or an OpenAI-style base ending in `/v1`; both are accepted.
 */
export function messagesUrl(provider: ProviderConfig): string {
  return apiUrl(provider, ANTHROPIC_API.paths.messages);
}

/** The token-counting URL for a provider (`/v1/messages/count_tokens`), from the same base. */
export function countTokensUrl(provider: ProviderConfig): string {
  return apiUrl(provider, ANTHROPIC_API.paths.countTokens);
}

function apiUrl(provider: ProviderConfig, path: string): string {
  const base = (provider.baseUrl || ANTHROPIC_API.defaultBaseUrl).replace(/\/+$/, "");
  return base.endsWith("/v1") ? `${base}${path.slice("/v1".length)}` : `${base}${path}`;
}

/**
 * Upstream headers. The provider key goes in `x-api-key` (never in a URL or log). Configured extra
 * headers come first so they can add `anthropic-beta`, but cannot replace the key or the version.
 * `passthrough` carries the inbound client's own `anthropic-version`/`anthropic-beta` for the
 * native `/v1/messages` path, so a client that opted into a beta keeps it.
 */
export function anthropicHeaders(provider: ProviderConfig, passthrough: Record<string, string> = {}): Headers {
  const headers = new Headers(provider.headers);
  const configuredBeta = headers.get("anthropic-beta");
  for (const [name, value] of Object.entries(passthrough)) headers.set(name, value);
  // Betas the provider is configured with and betas the client asked for both apply.
  if (configuredBeta && passthrough["anthropic-beta"]) headers.set("anthropic-beta", `${configuredBeta},${passthrough["anthropic-beta"]}`);
  if (!headers.has("anthropic-version")) headers.set("anthropic-version", ANTHROPIC_API.version);
  headers.set("x-api-key", provider.apiKey);
  headers.delete("authorization");
  headers.set("content-type", "application/json");
  return headers;
}

// ---- wire types (what Anthropic sends) -------------------------------------------------------

/** Anthropic's usage object: one definition, beside the normaliser that reads it. */
export type { AnthropicUsage } from "../../../../shared/src/token-usage";
import type { AnthropicUsage } from "../../../../shared/src/token-usage";

export type AnthropicContentBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "thinking"; thinking: string; signature?: string }
  | { type: "redacted_thinking"; data: string }
  | { type: string; [key: string]: unknown };

export type AnthropicStopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "pause_turn" | "refusal" | "model_context_window_exceeded";

export interface AnthropicMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: AnthropicStopReason | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

export type AnthropicDelta =
  | { type: "text_delta"; text: string }
  | { type: "input_json_delta"; partial_json: string }
  | { type: "thinking_delta"; thinking: string }
  | { type: "signature_delta"; signature: string }
  | { type: "citations_delta"; citation: unknown }
  | { type: string; [key: string]: unknown };

export type AnthropicStreamEvent =
  | { type: "message_start"; message: AnthropicMessage }
  | { type: "content_block_start"; index: number; content_block: AnthropicContentBlock }
  | { type: "content_block_delta"; index: number; delta: AnthropicDelta }
  | { type: "content_block_stop"; index: number }
  | {
      type: "message_delta";
      delta: { stop_reason: AnthropicStopReason | null; stop_sequence: string | null };
      usage?: AnthropicUsage;
    }
  | { type: "message_stop" }
  | { type: "ping" }
  | { type: "error"; error: AnthropicErrorDetail };

export interface AnthropicErrorDetail {
  type: string;
  message: string;
}

/** Anthropic's error body: `{"type":"error","error":{"type","message"},"request_id"}`. */
export interface AnthropicErrorBody {
  type: "error";
  error: AnthropicErrorDetail;
  request_id?: string;
}
