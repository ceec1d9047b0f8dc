import type { ApiErrorInit } from "../../../../shared/src";
import type { ProviderConfig } from "../types";
import { upstreamHttpError } from "../upstream-errors";
import type { GeminiErrorBody } from "./api";

/**
 * Gemini's errors through the shared upstream rules (upstream-errors.ts, via `fetchUpstream`'s
 * `mapError`), with the three places
 * where Google's status alone would mislead:
 * - an invalid API key is HTTP 400 `INVALID_ARGUMENT` (reason `API_KEY_INVALID`): it is the
 *   provider credential that is wrong, so it is treated as the 401 it means → 502 to the client;
 * - a 429 names its back-off in the body (`RetryInfo.retryDelay: "25s"`), not in `retry-after`;
 * - a 404 `NOT_FOUND` is an unknown model → `model_not_found`.
 */
export function geminiHttpError(status: number, headers: Headers, text: string, provider: ProviderConfig): ApiErrorInit {
  const error = readGeminiError(text);
  const details = error?.details ?? [];
  const keyInvalid = details.some((d) => d["reason"] === "API_KEY_INVALID") || /API key not valid/i.test(error?.message ?? "");
  const effectiveHeaders = new Headers(headers);
  const retryInfo = details.find((d) => d["@type"]?.endsWith("google.rpc.RetryInfo"));
  const delay = typeof retryInfo?.["retryDelay"] === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(retryInfo["retryDelay"]) : null;
  if (status === 429 && delay && !effectiveHeaders.has("retry-after")) {
    effectiveHeaders.set("retry-after", String(Math.ceil(Number(delay[1]))));
  }
  const init = upstreamHttpError(keyInvalid ? 401 : status, effectiveHeaders, text, provider);
  if (status === 404 && init.code === "invalid_request") return { ...init, code: "model_not_found", param: "model" };
  return init;
}

/** A Gemini error object that arrived inside a stream (`data: {"error":…}`), or a broken stream. */
export function geminiStreamError(error: GeminiErrorBody["error"] | null, provider: ProviderConfig): ApiErrorInit {
  if (!error) {
    return upstreamHttpError(
      500,
      new Headers(),
      JSON.stringify({ error: { message: "the upstream stream ended before the response was complete" } }),
      provider,
    );
  }
  return geminiHttpError(typeof error.code === "number" && error.code >= 400 ? error.code : 500, new Headers(), JSON.stringify({ error }), provider);
}

function readGeminiError(text: string): GeminiErrorBody["error"] | null {
  try {
    let json = JSON.parse(text) as unknown;
    if (Array.isArray(json)) json = json[0]; // some Google endpoints wrap the error in a list
    const error = (json as Partial<GeminiErrorBody> | null)?.error;
    return error && typeof error === "object" ? error : null;
  } catch {
    return null;
  }
}
