import { describe, expect, it } from "vitest";
import invalid from "../../../../../test/fixtures/anthropic/error-400-invalid-request.json";
import auth from "../../../../../test/fixtures/anthropic/error-401-authentication.json";
import rateLimit from "../../../../../test/fixtures/anthropic/error-429-rate-limit.json";
import overloaded from "../../../../../test/fixtures/anthropic/error-529-overloaded.json";
import { ApiError } from "../../../../shared/src";
import { anthropicError, readAnthropicError } from "./errors";

const KEY = "sk-ant-api03-supersecretvalue";
const map = (recording: { status: number; headers: Record<string, string>; body: unknown }) =>
  new ApiError(
    anthropicError(readAnthropicError(JSON.stringify(recording.body)), {
      status: recording.status,
      providerName: "claude",
      apiKey: KEY,
      retryAfter: recording.headers["retry-after"] ?? null,
    }),
  );

describe("Anthropic error bodies → gateway errors", () => {
  it("keeps a request the upstream found invalid a 400 with the upstream's reason", () => {
    const e = map(invalid);
    expect(e.status).toBe(400);
    expect(e.code).toBe("invalid_request");
    expect(e.message).toBe(
      `Provider 'claude' (anthropic) failed: messages: roles must alternate between "user" and "assistant", but found multiple "user" roles in a row`,
    );
  });

  it("makes a rejected provider key a 502, never the client's 401", () => {
    const e = map(auth);
    expect(e.status).toBe(502);
    expect(e.code).toBe("upstream_auth_error");
  });

  it("keeps 429 with retry-after, and makes 529 overloaded a 503", () => {
    const limited = map(rateLimit);
    expect(limited.status).toBe(429);
    expect(limited.code).toBe("upstream_rate_limited");
    expect(limited.headers).toEqual({ "retry-after": "7" });
    const busy = map(overloaded);
    expect(busy.status).toBe(503);
    expect(busy.code).toBe("upstream_unavailable");
  });

  it("falls back to the HTTP status for a body that is not Anthropic's, and never echoes the key", () => {
    const e = new ApiError(anthropicError(readAnthropicError("<html>Bad gateway</html>"), { status: 502, providerName: "claude", apiKey: KEY }));
    expect(e.status).toBe(502);
    expect(e.message).toBe("Provider 'claude' (anthropic) failed: HTTP 502");
    const leaky = new ApiError(
      anthropicError({ type: "authentication_error", message: `invalid x-api-key ${KEY}` }, { status: 401, providerName: "claude", apiKey: KEY }),
    );
    expect(leaky.message).not.toContain(KEY);
    expect(leaky.message).toContain("[redacted]");
  });
});
