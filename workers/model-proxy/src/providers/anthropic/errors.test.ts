import { describe, expect, it } from "vitest";
import invalid from "../../../../../test/fixtures/anthropic/error-400-invalid-request.json";
import auth from "../../../../../test/fixtures/anthropic/error-401-authentication.json";
import rateLimit from "../../../../../test/fixtures/anthropic/error-429-rate-limit.json";
import overloaded from "../../../../../test/fixtures/anthropic/error-529-overloaded.json";
import { ApiError } from "../../../../shared/src";
import type { ProviderConfig } from "../types";
import { upstreamHttpError } from "../upstream-errors";
import { anthropicStreamError } from "./errors";

const provider = {
  id: "p1",
  name: "claude",
  type: "anthropic",
  baseUrl: "https://api.anthropic.com/v1",
  apiKey: "sk-ant-api03-supersecretvalue",
  headers: {},
  timeoutMs: 30_000,
  models: null,
} satisfies ProviderConfig;

type Recording = { status: number; headers: Record<string, string>; body: unknown };
const http = (r: Recording) => new ApiError(upstreamHttpError(r.status, new Headers(r.headers), JSON.stringify(r.body), provider));
const streamed = (r: Recording) => new ApiError(anthropicStreamError((r.body as { error: { type: string; message: string } }).error, provider));

describe("Anthropic error bodies → gateway errors", () => {
  it("keeps a request the upstream found invalid a 400 with the upstream's reason", () => {
    const e = http(invalid);
    expect(e.status).toBe(400);
    expect(e.code).toBe("invalid_request");
    expect(e.message).toBe(`messages: roles must alternate between "user" and "assistant", but found multiple "user" roles in a row`);
  });

  it("makes a rejected provider key a 502, never the client's 401", () => {
    const e = http(auth);
    expect(e.status).toBe(502);
    expect(e.code).toBe("upstream_auth_error");
    expect(e.message).not.toContain("x-api-key");
  });

  it("keeps 429 with Anthropic's retry-after, and makes 529 overloaded a 502 naming the provider", () => {
    const limited = http(rateLimit);
    expect(limited.status).toBe(429);
    expect(limited.code).toBe("upstream_rate_limited");
    expect(limited.headers["retry-after"]).toBe("7");
    const busy = http(overloaded);
    expect(busy.status).toBe(502);
    expect(busy.message).toBe("Provider 'claude' failed (HTTP 529): Overloaded");
  });

  it("maps an error event inside a stream exactly like the same error before the first byte", () => {
    for (const recording of [invalid, auth, overloaded]) {
      const before = http({ ...recording, headers: {} });
      const during = streamed(recording);
      expect({ code: during.code, status: during.status, message: during.message }).toEqual({
        code: before.code,
        status: before.status,
        message: before.message,
      });
    }
    // A stream that broke without an error event is an upstream failure.
    expect(new ApiError(anthropicStreamError(null, provider)).status).toBe(502);
  });

  it("never echoes the provider key an upstream message may contain", () => {
    const e = new ApiError(anthropicStreamError({ type: "invalid_request_error", message: `bad key ${provider.apiKey}` }, provider));
    expect(e.message).not.toContain(provider.apiKey);
  });
});
