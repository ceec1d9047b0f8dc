import type { ApiErrorInit, ErrorCode } from "../../../../shared/src";
import { sanitizeUpstreamMessage } from "../chat-translation";
import type { AnthropicErrorBody, AnthropicErrorDetail } from "./api";

/**
 * Anthropic's error types (HTTP status in brackets) → the gateway's error codes. A client error
 * the upstream found in the request (400, 413) stays the client's error with the same status;
 * failures of the provider account (401/403, a bad provider key) are the gateway's problem and
 * become 502s so the client never sees "invalid x-api-key" for its own, valid gateway key.
 */
const BY_TYPE: Record<string, { code: ErrorCode; status?: number }> = {
  invalid_request_error: { code: "invalid_request", status: 400 },
  request_too_large: { code: "payload_too_large", status: 413 },
  not_found_error: { code: "model_not_found", status: 404 },
  authentication_error: { code: "upstream_auth_error" },
  permission_error: { code: "upstream_auth_error" },
  billing_error: { code: "upstream_auth_error" },
  rate_limit_error: { code: "upstream_rate_limited" },
  api_error: { code: "upstream_error" },
  overloaded_error: { code: "upstream_unavailable" },
  timeout_error: { code: "upstream_timeout" },
};

function byStatus(status: number): { code: ErrorCode; status?: number } {
  if (status === 400 || status === 422) return { code: "invalid_request", status: 400 };
  if (status === 401 || status === 403 || status === 402) return { code: "upstream_auth_error" };
  if (status === 404) return { code: "model_not_found", status: 404 };
  if (status === 413) return { code: "payload_too_large", status: 413 };
  if (status === 429) return { code: "upstream_rate_limited" };
  if (status === 504 || status === 408) return { code: "upstream_timeout" };
  if (status === 503 || status === 529) return { code: "upstream_unavailable" };
  return { code: "upstream_error" };
}

/** Reads Anthropic's error body (or whatever arrived) into `{type, message}`. */
export function readAnthropicError(text: string): AnthropicErrorDetail | null {
  try {
    const body = JSON.parse(text) as Partial<AnthropicErrorBody>;
    if (body && typeof body.error?.message === "string") {
      return { type: String(body.error.type ?? ""), message: body.error.message };
    }
  } catch {
    // not JSON (a proxy's HTML page, an empty body)
  }
  return null;
}

/**
 * An Anthropic failure (an HTTP error response, or an `error` event inside a stream) as the
 * gateway's error, naming the provider. `retry-after` is kept so clients back off as asked.
 */
export function anthropicError(
  detail: AnthropicErrorDetail | null,
  context: { status?: number; providerName: string; apiKey: string; retryAfter?: string | null },
): ApiErrorInit {
  const mapped = (detail && BY_TYPE[detail.type]) || byStatus(context.status ?? 500);
  const what = detail ? sanitizeUpstreamMessage(detail.message, context.apiKey) : `HTTP ${context.status ?? "error"}`;
  const init: ApiErrorInit = {
    code: mapped.code,
    message: `Provider '${context.providerName}' (anthropic) failed: ${what}`,
    param: null,
  };
  if (mapped.status) init.status = mapped.status;
  if (context.retryAfter) init.headers = { "retry-after": context.retryAfter };
  return init;
}
