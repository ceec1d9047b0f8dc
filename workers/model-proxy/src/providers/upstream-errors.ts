import { ApiError, type ApiErrorInit } from "../../../shared/src";
import { guardedFetch } from "../../../shared/src/ssrf";
import type { ProviderConfig } from "./types";

/**
 * What a client sees when an upstream fails. The rules, for every adapter:
 *
 * | upstream                              | client                                                   |
 * |---------------------------------------|----------------------------------------------------------|
 * | 4xx with an error body (400, 404, 422…)| same status, the upstream's message and `param`          |
 * | 401 / 403                             | 502 `upstream_auth_error`: a provider credential problem |
 * | 429 (rate limit)                      | 429 `upstream_rate_limited` with `retry-after`           |
 * | 429 `insufficient_quota`              | 502: the provider account is out of credit               |
 * | 408 / 504, or no headers in time      | 504 `upstream_timeout`                                   |
 * | other 5xx, 4xx without an error body  | 502 `upstream_error`                                     |
 * | connection failure                    | 502 `upstream_error`                                     |
 *
 * The provider is named in every message; the provider's key never is (messages are scrubbed of it
 * and of anything shaped like a key, because OpenAI's own 401 echoes part of the key it got).
 * Failures the client cannot fix by retrying carry `x-should-retry: false`, which the official SDKs
 * honour.
 */

const MAX_MESSAGE = 1000;
const NO_RETRY = { "x-should-retry": "false" };

/** Removes the provider's key and anything that looks like a credential from an upstream message. */
export function scrub(message: string, provider: Pick<ProviderConfig, "apiKey">): string {
  let out = message;
  if (provider.apiKey && provider.apiKey.length >= 4) out = out.split(provider.apiKey).join("[redacted]");
  out = out
    .replace(/\b(sk|pk|rk|gsk|xai)[-_][A-Za-z0-9_*.-]{6,}/gi, "[redacted]")
    .replace(/\bBearer\s+\S+/gi, "Bearer [redacted]")
    .replace(/\bAIza[0-9A-Za-z_-]{20,}/g, "[redacted]");
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE)}…` : out;
}

interface UpstreamErrorBody {
  message: string | null;
  param: string | null;
  code: string | null;
  type: string | null;
}

/**
 * Reads the error out of an upstream body in the shapes OpenAI-compatible servers use:
 * `{"error":{"message",...}}`, `{"error":"text"}`, `{"message":"..."}` or `{"detail":"..."}`
 * (vLLM/FastAPI). Anthropic's and Gemini's shapes (`error.message`) are covered by the first.
 */
export function parseErrorBody(text: string): UpstreamErrorBody | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  if (Array.isArray(json)) json = json[0]; // Gemini sometimes wraps the error in a list
  if (!json || typeof json !== "object") return null;
  const root = json as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" && v.length > 0 ? v : null);
  const err = root["error"];
  if (err && typeof err === "object") {
    const e = err as Record<string, unknown>;
    return { message: str(e["message"]), param: str(e["param"]), code: str(e["code"]) ?? str(e["status"]), type: str(e["type"]) };
  }
  if (typeof err === "string") return { message: err, param: null, code: null, type: null };
  const message = str(root["message"]) ?? (typeof root["detail"] === "string" ? root["detail"] : root["detail"] ? JSON.stringify(root["detail"]) : null);
  return message ? { message, param: null, code: str(root["code"]), type: str(root["type"]) } : null;
}

/**
 * Seconds a client should wait after an upstream 429: `retry-after-ms`, `retry-after` (seconds
 * or an HTTP date), then OpenAI's `x-ratelimit-reset-requests|tokens` durations (`1s`, `6m0s`,
 * `20ms`); 1 second when the upstream gave no hint.
 */
export function retryAfterSeconds(headers: Headers, now = Date.now()): number {
  const ms = Number(headers.get("retry-after-ms"));
  if (headers.get("retry-after-ms") && Number.isFinite(ms) && ms >= 0) return Math.max(1, Math.ceil(ms / 1000));
  const ra = headers.get("retry-after");
  if (ra) {
    const secs = Number(ra);
    if (Number.isFinite(secs) && secs >= 0) return Math.max(1, Math.ceil(secs));
    const date = Date.parse(ra);
    if (Number.isFinite(date)) return Math.max(1, Math.ceil((date - now) / 1000));
  }
  const resets = ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
    .map((h) => headers.get(h))
    .filter((v): v is string => !!v)
    .map(parseDuration)
    .filter((v): v is number => v !== null);
  if (resets.length > 0) return Math.max(1, Math.ceil(Math.max(...resets)));
  return 1;
}

/** `6m0s`, `1.5s`, `20ms`, `1h2m` → seconds; null if unparseable. */
export function parseDuration(text: string): number | null {
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let matched = "";
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const n = Number(m[1]);
    total += m[2] === "ms" ? n / 1000 : m[2] === "h" ? n * 3600 : m[2] === "m" ? n * 60 : n;
    matched += m[0];
  }
  return matched.length > 0 && matched === text.trim() ? total : null;
}

/** Reads at most `limit` bytes of an error body (an upstream could send an endless one). */
export async function readErrorText(res: Response, limit = 64 * 1024): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // A body that breaks mid-way still yields what arrived.
  } finally {
    reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(Math.min(size, limit));
  let at = 0;
  for (const c of chunks) {
    const take = Math.min(c.byteLength, all.byteLength - at);
    all.set(c.subarray(0, take), at);
    at += take;
    if (at >= all.byteLength) break;
  }
  return new TextDecoder().decode(all);
}

/** The client-facing error for an upstream HTTP error status. */
export function upstreamHttpError(status: number, headers: Headers, bodyText: string, provider: ProviderConfig): ApiErrorInit {
  const name = provider.name;
  const parsed = parseErrorBody(bodyText);
  const detail = parsed?.message ? scrub(parsed.message, provider) : null;
  if (status === 401 || status === 403) {
    return {
      code: "upstream_auth_error",
      message: `Provider '${name}' rejected the gateway's credentials for it (HTTP ${status}). The provider's API key is missing, invalid or lacks access; an administrator must fix the provider configuration.`,
      headers: NO_RETRY,
    };
  }
  if (status === 429) {
    if (parsed?.code === "insufficient_quota" || parsed?.type === "insufficient_quota") {
      return {
        code: "upstream_error",
        message: `Provider '${name}' reports that its account has insufficient quota${detail ? `: ${detail}` : "."}`,
        headers: NO_RETRY,
      };
    }
    const retryAfter = retryAfterSeconds(headers);
    return {
      code: "upstream_rate_limited",
      message: `Provider '${name}' is rate limiting requests; retry after ${retryAfter} ${retryAfter === 1 ? "second" : "seconds"}.${detail ? ` It said: ${asSentence(detail)}` : ""}`,
      headers: { "retry-after": String(retryAfter) },
    };
  }
  if (status === 408 || status === 504) {
    return { code: "upstream_timeout", message: `Provider '${name}' timed out (HTTP ${status}).` };
  }
  if (status >= 400 && status < 500) {
    if (!detail) return { code: "upstream_error", message: `Provider '${name}' answered HTTP ${status} without an error description.` };
    return {
      code: status === 404 && parsed?.code === "model_not_found" ? "model_not_found" : (refusalKind(status, parsed) ?? "invalid_request"),
      status,
      message: detail,
      param: parsed?.param ?? null,
    };
  }
  return { code: "upstream_error", message: `Provider '${name}' failed (HTTP ${status})${detail ? `: ${detail}` : "."}` };
}

/**
 * An upstream 400 that refuses the request's content rather than its form, as LiteLLM tells them
 * apart (its ContentPolicyViolationError and ContextWindowExceededError, which drive
 * `content_policy_fallbacks` and `context_window_fallbacks`):
 * - content policy: OpenAI's code `content_policy_violation`, Azure OpenAI's `content_filter`
 *   ("…content management policy"), Anthropic's "…blocked by content filtering policy", Gemini's
 *   "The response was blocked";
 * - context length: OpenAI's code `context_length_exceeded`, Anthropic's "prompt is too long",
 *   Gemini's "input token count … exceeds the maximum number of tokens".
 * The client sees the same 400 with that code (OpenAI's own), the upstream's message kept. An
 * answer the upstream gave (HTTP 200) with `finish_reason: content_filter` — Anthropic's `refusal`
 * stop, Gemini's blocked prompt or SAFETY stop — is an answer, not a refusal error: it is returned
 * as is (and billed), never re-sent to a fallback group.
 */
function refusalKind(status: number, parsed: UpstreamErrorBody | null): "content_policy_violation" | "context_length_exceeded" | null {
  if (status !== 400 || !parsed) return null;
  const code = parsed.code?.toLowerCase() ?? "";
  const message = parsed.message ?? "";
  if (code === "content_policy_violation" || code === "content_filter" || /content (?:filtering|management) policy|response was blocked/i.test(message)) {
    return "content_policy_violation";
  }
  if (code === "context_length_exceeded" || /prompt is too long|maximum context length|exceeds the maximum number of tokens/i.test(message)) {
    return "context_length_exceeded";
  }
  return null;
}

/**
 * A failure the upstream itself caused: it could not be reached, answered with an error status, or
 * did not answer in time. Only these count toward a provider's circuit (routing/execute.ts); an
 * error raised while preparing the request (a translation error, a refused parameter, a credential
 * that cannot be loaded) or by a refused URL is the caller's 400 or our 500 and never does.
 */
export class UpstreamFailure extends ApiError {}

/** Is this a signal abort caused by our per-attempt timeout (rather than the client going away)? */
export function isTimeout(signal: AbortSignal): boolean {
  const reason: unknown = signal.reason;
  return signal.aborted && typeof reason === "object" && reason !== null && (reason as { name?: unknown }).name === "TimeoutError";
}

/**
 * `fetch` for adapters (with the attempt's `traceparent`, when traced): network failures and timeouts become the ApiErrors above, a non-2xx
 * answer becomes `upstreamHttpError` (or a provider's own reading of its error body, `mapError`,
 * e.g. Gemini's). Returns the upstream Response untouched on success.
 */
export async function fetchUpstream(
  url: string,
  init: RequestInit,
  provider: ProviderConfig,
  ctx: { signal: AbortSignal; traceparent?: string | undefined },
  mapError: (status: number, headers: Headers, bodyText: string, provider: ProviderConfig) => ApiErrorInit = upstreamHttpError,
): Promise<Response> {
  const signal = ctx.signal;
  // The attempt's span as the upstream's parent (W3C Trace Context), on every adapter's request.
  if (ctx.traceparent) {
    if (init.headers instanceof Headers) init.headers.set("traceparent", ctx.traceparent);
    else init.headers = { ...(init.headers as Record<string, string> | undefined), traceparent: ctx.traceparent };
  }
  let res: Response;
  try {
    // Providers from the providers API carry the SSRF policy: the URL and every redirect hop are checked.
    res = provider.upstreamPolicy ? await guardedFetch(url, { ...init, signal }, provider.upstreamPolicy) : await fetch(url, { ...init, signal });
  } catch (err) {
    if (isTimeout(signal)) throw new UpstreamFailure(timeoutError(provider));
    if (err instanceof ApiError) throw err; // refused by the SSRF guard
    if (signal.aborted) throw new ApiError({ code: "upstream_error", message: `The request to provider '${provider.name}' was cancelled.` });
    const why = err instanceof Error ? scrub(err.message, provider) : "network error";
    throw new UpstreamFailure({ code: "upstream_error", message: `Could not reach provider '${provider.name}': ${why}` });
  }
  if (!res.ok) throw new UpstreamFailure({ ...mapError(res.status, res.headers, await readErrorText(res), provider), upstreamStatus: res.status });
  return res;
}

export function timeoutError(provider: Pick<ProviderConfig, "name" | "timeoutMs">): ApiErrorInit {
  return { code: "upstream_timeout", message: `Provider '${provider.name}' did not answer within ${provider.timeoutMs} ms.` };
}

/** Retrying another target may help after these; a 400 or an auth failure will not change. */
export function isRetryable(error: ApiErrorInit): boolean {
  return (
    error.code === "upstream_rate_limited" ||
    error.code === "upstream_timeout" ||
    (error.code === "upstream_error" && error.headers?.["x-should-retry"] !== "false")
  );
}

/** The upstream's own words as the end of a sentence: trimmed, with a full stop unless it has one. */
function asSentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
