import { describe, expect, it } from "vitest";
import type { ProviderConfig } from "./types";
import { parseDuration, retryAfterSeconds, scrub, upstreamHttpError } from "./upstream-errors";

const provider: ProviderConfig = {
  id: "p1",
  name: "acme",
  type: "openai",
  baseUrl: "https://api.acme.test/v1",
  apiKey: "sk-live-SECRET1234567890",
  headers: {},
  timeoutMs: 1000,
  models: null,
};
const openaiError = (message: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ error: { message, type: "invalid_request_error", param: null, code: null, ...extra } });

describe("upstreamHttpError", () => {
  it("keeps an upstream 400 as a 400 with its message and param", () => {
    const e = upstreamHttpError(400, new Headers(), openaiError("'messages' must contain 'json'", { param: "messages" }), provider);
    expect(e).toMatchObject({ code: "invalid_request", status: 400, message: "'messages' must contain 'json'", param: "messages" });
  });

  it("turns 401/403 into a 502 naming a provider credential problem, never the key", () => {
    for (const status of [401, 403]) {
      const e = upstreamHttpError(status, new Headers(), openaiError(`Incorrect API key provided: ${provider.apiKey}.`), provider);
      expect(e.code).toBe("upstream_auth_error");
      expect(e.status).toBeUndefined();
      expect(e.message).toContain("acme");
      expect(e.message).toMatch(/credential|API key/);
      expect(e.message).not.toContain("SECRET");
      expect(e.headers?.["x-should-retry"]).toBe("false");
    }
  });

  it("relays a 429 with retry-after taken from the upstream", () => {
    const e = upstreamHttpError(429, new Headers({ "retry-after": "7" }), openaiError("Rate limit reached", { code: "rate_limit_exceeded" }), provider);
    expect(e).toMatchObject({ code: "upstream_rate_limited", headers: { "retry-after": "7" } });
    expect(e.message).toBe(`Provider '${provider.name}' is rate limiting requests; retry after 7 seconds. It said: Rate limit reached.`);
    const quiet = upstreamHttpError(429, new Headers({ "retry-after": "1" }), "", provider);
    expect(quiet.message).toBe(`Provider '${provider.name}' is rate limiting requests; retry after 1 second.`);
  });

  it("does not present an exhausted provider account as the client's rate limit", () => {
    const e = upstreamHttpError(
      429,
      new Headers(),
      openaiError("You exceeded your current quota", { code: "insufficient_quota", type: "insufficient_quota" }),
      provider,
    );
    expect(e.code).toBe("upstream_error");
    expect(e.headers?.["x-should-retry"]).toBe("false");
  });

  it("maps 5xx to 502 and upstream timeouts to 504", () => {
    expect(upstreamHttpError(500, new Headers(), openaiError("The server had an error"), provider)).toMatchObject({ code: "upstream_error" });
    expect(upstreamHttpError(503, new Headers(), "<html>down</html>", provider).message).toContain("HTTP 503");
    expect(upstreamHttpError(504, new Headers(), "", provider).code).toBe("upstream_timeout");
  });

  it("treats a 4xx without an error body as a provider failure (e.g. a wrong base URL)", () => {
    expect(upstreamHttpError(404, new Headers(), "<html>Not Found</html>", provider)).toMatchObject({ code: "upstream_error" });
  });

  it("keeps an upstream model_not_found as a 404", () => {
    const e = upstreamHttpError(404, new Headers(), openaiError("The model `x` does not exist", { code: "model_not_found" }), provider);
    expect(e).toMatchObject({ code: "model_not_found", status: 404 });
  });

  it("tells content-policy and context-length refusals apart from other 400s, as LiteLLM does", () => {
    const policy = [
      openaiError("Your request was rejected as a result of our safety system.", { code: "content_policy_violation" }),
      openaiError("The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", { code: "content_filter" }),
      JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "Output blocked by content filtering policy" } }),
    ];
    for (const body of policy) expect(upstreamHttpError(400, new Headers(), body, provider)).toMatchObject({ code: "content_policy_violation", status: 400 });
    const length = [
      openaiError("This model's maximum context length is 8192 tokens.", { code: "context_length_exceeded", param: "messages" }),
      JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "prompt is too long: 210000 tokens > 200000 maximum" } }),
      JSON.stringify({
        error: { code: 400, message: "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).", status: "INVALID_ARGUMENT" },
      }),
    ];
    for (const body of length) expect(upstreamHttpError(400, new Headers(), body, provider)).toMatchObject({ code: "context_length_exceeded", status: 400 });
    // Only a 400 is such a refusal.
    expect(upstreamHttpError(422, new Headers(), policy[0]!, provider).code).toBe("invalid_request");
  });

  it("reads vLLM/FastAPI error bodies", () => {
    expect(upstreamHttpError(400, new Headers(), JSON.stringify({ object: "error", message: "max_tokens too large", code: 400 }), provider).message).toBe(
      "max_tokens too large",
    );
    expect(upstreamHttpError(422, new Headers(), JSON.stringify({ detail: [{ loc: ["body", "n"], msg: "bad" }] }), provider).message).toContain("bad");
  });
});

describe("scrub", () => {
  it("removes the provider key and key-shaped strings", () => {
    expect(scrub(`bad key ${provider.apiKey} and sk-proj-abcdefgh123 and Bearer abc.def`, provider)).toBe(
      "bad key [redacted] and [redacted] and Bearer [redacted]",
    );
  });
});

describe("retryAfterSeconds", () => {
  it("reads retry-after-ms, retry-after seconds and dates, and OpenAI reset durations", () => {
    expect(retryAfterSeconds(new Headers({ "retry-after-ms": "1500" }))).toBe(2);
    expect(retryAfterSeconds(new Headers({ "retry-after": "3" }))).toBe(3);
    expect(retryAfterSeconds(new Headers({ "retry-after": new Date(10_000).toUTCString() }), 0)).toBe(10);
    expect(retryAfterSeconds(new Headers({ "x-ratelimit-reset-requests": "6m0s", "x-ratelimit-reset-tokens": "20ms" }))).toBe(360);
    expect(retryAfterSeconds(new Headers())).toBe(1);
  });

  it("parses Go-style durations", () => {
    expect(parseDuration("1h2m3.5s")).toBe(3723.5);
    expect(parseDuration("20ms")).toBe(0.02);
    expect(parseDuration("soon")).toBeNull();
  });
});
