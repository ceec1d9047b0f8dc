import type { ApiErrorInit } from "../../../../shared/src";
import type { ProviderConfig } from "../types";
import { upstreamHttpError } from "../upstream-errors";
import type { AnthropicErrorDetail } from "./api";

/**
 * Anthropic's error types and the HTTP status each one comes with on a non-streamed call
 * (Anthropic's error reference). An `error` event inside a stream carries only the type, so it is
 * given the status it would have had and goes through the same mapping as an HTTP error — a
 * client sees the same error whether the failure came before or after the first byte.
 */
const STATUS_OF_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** An Anthropic `error` stream event (or a stream that broke) as the gateway's error. */
export function anthropicStreamError(detail: AnthropicErrorDetail | null, provider: ProviderConfig): ApiErrorInit {
  const status = (detail && STATUS_OF_TYPE[detail.type]) || 500;
  const body = detail ? JSON.stringify({ type: "error", error: detail }) : "";
  return upstreamHttpError(status, new Headers(), body, provider);
}
