import { statusOf, type ApiErrorInit, type ErrorCode } from "../errors";
import { formatSseJson } from "../sse";

/**
 * Anthropic's error shape, for the gateway's Anthropic-compatible endpoint: the same failures as
 * everywhere else (one ErrorCode model), rendered as `{"type":"error","error":{"type","message"}}`
 * so `@anthropic-ai/sdk` maps them to its error classes — by HTTP status, with the body's `type`.
 */
export interface AnthropicErrorBody {
  type: "error";
  error: { type: string; message: string };
  request_id?: string;
}

const BY_CODE: Partial<Record<ErrorCode, string>> = {
  invalid_api_key: "authentication_error",
  missing_api_key: "authentication_error",
  permission_denied: "permission_error",
  model_not_allowed: "permission_error",
  not_found: "not_found_error",
  model_not_found: "not_found_error",
  payload_too_large: "request_too_large",
  rate_limit_exceeded: "rate_limit_error",
  insufficient_quota: "rate_limit_error",
  upstream_rate_limited: "rate_limit_error",
  upstream_timeout: "timeout_error",
  upstream_unavailable: "overloaded_error",
  service_unavailable: "overloaded_error",
};

/** Anthropic's error `type` for a gateway error (by code, then by status). */
export function anthropicErrorType(code: string | null, status: number): string {
  const byCode = code ? BY_CODE[code as ErrorCode] : undefined;
  if (byCode) return byCode;
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

export function anthropicErrorBody(init: ApiErrorInit, requestId?: string): AnthropicErrorBody {
  const status = init.status ?? statusOf(init.code);
  const message = init.param ? `${init.param}: ${init.message}` : init.message;
  const body: AnthropicErrorBody = { type: "error", error: { type: anthropicErrorType(init.code, status), message } };
  if (requestId) body.request_id = requestId;
  return body;
}

/**
 * An OpenAI-shaped error body (`{"error":{"message","type","param","code"}}`, what the rest of the
 * system produces) as Anthropic's. Returns null when `body` is not one.
 */
export function anthropicErrorFromOpenAI(body: unknown, status: number, requestId?: string): AnthropicErrorBody | null {
  const error = (body as { error?: { message?: unknown; param?: unknown; code?: unknown } } | null)?.error;
  if (!error || typeof error !== "object" || typeof error.message !== "string") return null;
  const param = typeof error.param === "string" ? error.param : null;
  const code = typeof error.code === "string" ? error.code : null;
  return anthropicErrorBody({ code: (code ?? "invalid_request") as ErrorCode, message: error.message, param, status }, requestId);
}

/** The `error` event that ends an Anthropic stream which failed mid-way. */
export function anthropicErrorEvent(init: ApiErrorInit): string {
  return formatSseJson(anthropicErrorBody(init), "error");
}
