import type { RefusalReason } from "../../../shared/src/contracts/metrics";
import { ApiError, formatUsd, nextMonthStart, type LimiterStatus, type Refusal } from "../../../shared/src";
import { openAIDuration } from "./duration";

/** OpenAI's `x-ratelimit-*` headers for the tightest subject on each axis. */
export function rateLimitHeaders(status: LimiterStatus): Record<string, string> {
  const h: Record<string, string> = {};
  if (status.requests) {
    h["x-ratelimit-limit-requests"] = String(status.requests.limit);
    h["x-ratelimit-remaining-requests"] = String(status.requests.remaining);
    h["x-ratelimit-reset-requests"] = openAIDuration(status.requests.resetMs);
  }
  if (status.tokens) {
    h["x-ratelimit-limit-tokens"] = String(status.tokens.limit);
    h["x-ratelimit-remaining-tokens"] = String(status.tokens.remaining);
    h["x-ratelimit-reset-tokens"] = openAIDuration(status.tokens.resetMs);
  }
  return h;
}

/** `key:key_abc` → `API key key_abc`; `tenant:ten_x` → `tenant ten_x`. */
function label(subject: string): string {
  const [kind, id] = [subject.slice(0, subject.indexOf(":")), subject.slice(subject.indexOf(":") + 1)];
  return kind === "key" ? `API key ${id}` : `tenant ${id}`;
}

const usd = formatUsd;

/** The limit that refused, as GET /metrics labels it (`reason`). */
export function refusalReason(refusal: Refusal, byCredits: boolean): RefusalReason {
  if (refusal.kind === "budget") return byCredits ? "credits" : "budget";
  return refusal.kind === "requests" ? "rpm" : refusal.kind === "tokens" ? "tpm" : "concurrency";
}

/**
 * The 429 a refused request gets. The message says which limit of which subject, like OpenAI's
 * ("Limit 50, Used 50, Requested 1"); retryable refusals carry `retry-after` (seconds) and
 * `retry-after-ms`, which the official SDKs honour. Refusals that waiting cannot cure (exhausted
 * budget, a request larger than the whole TPM) carry `x-should-retry: false` so SDKs do not retry.
 */
export function refusalError(refusal: Refusal, status: LimiterStatus, now = Date.now(), byCredits = false): ApiError {
  const headers = rateLimitHeaders(status);
  const who = label(refusal.subject);
  if (refusal.kind === "budget" && byCredits) {
    // A prepaid tenant's month limit is its credit balance plus what it already spent this month.
    headers["x-should-retry"] = "false";
    return new ApiError({
      code: "insufficient_quota",
      message:
        `You exceeded your prepaid credits (${who}): credits left ${usd(Math.max(0, refusal.limit - refusal.used))}, ` +
        `this request may cost up to ${usd(refusal.requested)}. Add credits to continue.`,
      headers,
    });
  }
  if (refusal.kind === "budget") {
    const resetsAt = nextMonthStart(now);
    headers["x-should-retry"] = "false";
    headers["retry-after"] = String(Math.ceil((resetsAt - now) / 1000));
    return new ApiError({
      code: "insufficient_quota",
      message:
        `You exceeded the monthly budget of ${who}: budget ${usd(refusal.limit)}, spent or reserved ${usd(refusal.used)}, ` +
        `this request may cost up to ${usd(refusal.requested)}. The budget resets on ${new Date(resetsAt).toISOString().slice(0, 10)} (UTC).`,
      headers,
    });
  }
  if (refusal.retryAfterMs === null) {
    headers["x-should-retry"] = "false";
    return new ApiError({
      code: "rate_limit_exceeded",
      message:
        `Request too large for tokens per minute (TPM) on ${who}: Limit ${refusal.limit}, Requested ${refusal.requested}. ` +
        `Reduce the prompt or max_tokens.`,
      headers,
    });
  }
  headers["retry-after"] = String(Math.max(1, Math.ceil(refusal.retryAfterMs / 1000)));
  headers["retry-after-ms"] = String(Math.max(1, Math.ceil(refusal.retryAfterMs)));
  const wait = openAIDuration(refusal.retryAfterMs);
  const what = refusal.kind === "requests" ? "requests per minute (RPM)" : refusal.kind === "tokens" ? "tokens per minute (TPM)" : "concurrent requests";
  return new ApiError({
    code: "rate_limit_exceeded",
    message: `Rate limit reached for ${what} on ${who}: Limit ${refusal.limit}, Used ${refusal.used}, Requested ${refusal.requested}. Please try again in ${wait}.`,
    headers,
  });
}
