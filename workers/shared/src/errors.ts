/**
 * The one error model of the gateway. Every failure anywhere in the system is one of these codes;
 * the code decides the HTTP status and the OpenAI error `type`, so clients (the official SDKs map
 * status → error class) see the same thing OpenAI itself would send.
 */
export const ErrorCode = {
  invalid_request: "invalid_request",
  invalid_json: "invalid_json",
  unsupported_media_type: "unsupported_media_type",
  payload_too_large: "payload_too_large",
  not_found: "not_found",
  method_not_allowed: "method_not_allowed",
  model_not_found: "model_not_found",
  invalid_api_key: "invalid_api_key",
  missing_api_key: "missing_api_key",
  /** Console sign-in: unknown email or wrong password (one answer for both). */
  invalid_credentials: "invalid_credentials",
  /** Console: no session cookie, or a tampered, expired or revoked one. */
  invalid_session: "invalid_session",
  /** Console: a state-changing call without the session's CSRF token (or from another origin). */
  csrf_failed: "csrf_failed",
  /** An invite link that is expired or was already used. */
  invite_unavailable: "invite_unavailable",
  permission_denied: "permission_denied",
  model_not_allowed: "model_not_allowed",
  model_not_priced: "model_not_priced",
  rate_limit_exceeded: "rate_limit_exceeded",
  insufficient_quota: "insufficient_quota",
  conflict: "conflict",
  /** An upstream refused the request under its content policy (OpenAI's code; LiteLLM's `content_policy_fallbacks` apply). */
  content_policy_violation: "content_policy_violation",
  /** The prompt is longer than the upstream model's context (OpenAI's code; LiteLLM's `context_window_fallbacks` apply). */
  context_length_exceeded: "context_length_exceeded",
  upstream_error: "upstream_error",
  upstream_auth_error: "upstream_auth_error",
  upstream_rate_limited: "upstream_rate_limited",
  upstream_timeout: "upstream_timeout",
  upstream_unavailable: "upstream_unavailable",
  service_unavailable: "service_unavailable",
  internal_error: "internal_error",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export type OpenAIErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "insufficient_quota"
  | "upstream_error"
  | "timeout_error"
  | "server_error"
  | "api_error";

const TABLE: Record<ErrorCode, { status: number; type: OpenAIErrorType }> = {
  invalid_request: { status: 400, type: "invalid_request_error" },
  invalid_json: { status: 400, type: "invalid_request_error" },
  unsupported_media_type: { status: 415, type: "invalid_request_error" },
  payload_too_large: { status: 413, type: "invalid_request_error" },
  not_found: { status: 404, type: "invalid_request_error" },
  method_not_allowed: { status: 405, type: "invalid_request_error" },
  model_not_found: { status: 404, type: "invalid_request_error" },
  invalid_api_key: { status: 401, type: "authentication_error" },
  missing_api_key: { status: 401, type: "authentication_error" },
  invalid_credentials: { status: 401, type: "authentication_error" },
  invalid_session: { status: 401, type: "authentication_error" },
  csrf_failed: { status: 403, type: "permission_error" },
  invite_unavailable: { status: 410, type: "invalid_request_error" },
  permission_denied: { status: 403, type: "permission_error" },
  model_not_allowed: { status: 403, type: "permission_error" },
  /** A budgeted key asked for a model without a price (and no `*` default): its cost cannot be bounded. */
  model_not_priced: { status: 403, type: "permission_error" },
  rate_limit_exceeded: { status: 429, type: "rate_limit_error" },
  insufficient_quota: { status: 429, type: "insufficient_quota" },
  conflict: { status: 409, type: "invalid_request_error" },
  content_policy_violation: { status: 400, type: "invalid_request_error" },
  context_length_exceeded: { status: 400, type: "invalid_request_error" },
  upstream_error: { status: 502, type: "upstream_error" },
  upstream_auth_error: { status: 502, type: "upstream_error" },
  upstream_rate_limited: { status: 429, type: "rate_limit_error" },
  upstream_timeout: { status: 504, type: "timeout_error" },
  upstream_unavailable: { status: 503, type: "upstream_error" },
  service_unavailable: { status: 503, type: "server_error" },
  internal_error: { status: 500, type: "server_error" },
};

export function statusOf(code: ErrorCode): number {
  return TABLE[code].status;
}

export function typeOf(code: ErrorCode): OpenAIErrorType {
  return TABLE[code].type;
}

/** The serialisable description of an error: what crosses RPC boundaries (RPC drops Error properties). */
export interface ApiErrorInit {
  code: ErrorCode;
  message: string;
  param?: string | null;
  /** Overrides the status implied by `code` (e.g. an upstream 400 that stays 400). */
  status?: number;
  /** Extra response headers (retry-after, x-should-retry, ...). */
  headers?: Record<string, string>;
  /** The HTTP status an upstream answered with, when this error describes that answer (diagnostics). */
  upstreamStatus?: number;
}

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** A thrown error that the gateway's error handler turns into the OpenAI error shape. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly upstreamStatus: number | null;

  constructor(init: ApiErrorInit) {
    super(init.message);
    this.name = "ApiError";
    this.code = init.code;
    this.param = init.param ?? null;
    this.status = init.status ?? statusOf(init.code);
    this.headers = init.headers ?? {};
    this.upstreamStatus = init.upstreamStatus ?? null;
  }

  toInit(): ApiErrorInit {
    return {
      code: this.code,
      message: this.message,
      param: this.param,
      status: this.status,
      headers: this.headers,
      ...(this.upstreamStatus === null ? {} : { upstreamStatus: this.upstreamStatus }),
    };
  }

  static from(init: ApiErrorInit): ApiError {
    return new ApiError(init);
  }
}

export function errorBody(init: ApiErrorInit): OpenAIErrorBody {
  return { error: { message: init.message, type: typeOf(init.code), param: init.param ?? null, code: init.code } };
}

/** Builds the JSON error response; `requestId` is always echoed so a user can quote it to support. */
export function errorResponse(init: ApiErrorInit, requestId?: string): Response {
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/json");
  if (requestId) headers.set("x-request-id", requestId);
  return new Response(JSON.stringify(errorBody(init)), { status: init.status ?? statusOf(init.code), headers });
}
