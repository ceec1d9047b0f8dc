import { describe, expect, it } from "vitest";
import keyInvalid from "../../../../../test/fixtures/google/error-400-api-key-invalid.json";
import invalidArgument from "../../../../../test/fixtures/google/error-400-invalid-argument.json";
import notFound from "../../../../../test/fixtures/google/error-404-model-not-found.json";
import exhausted from "../../../../../test/fixtures/google/error-429-resource-exhausted.json";
import unavailable from "../../../../../test/fixtures/google/error-503-unavailable.json";
import { ApiError } from "../../../../shared/src";
import { geminiProvider } from "../adapter-test-utils";
import { geminiHttpError } from "./errors";

const provider = geminiProvider();
type Recording = { status: number; headers: Record<string, string>; body: unknown };
const map = (r: Recording) => new ApiError(geminiHttpError(r.status, new Headers(r.headers), JSON.stringify(r.body), provider));

describe("Gemini error bodies → gateway errors", () => {
  it("treats Google's 400 API_KEY_INVALID as a provider credential failure (502), not the client's fault", () => {
    const e = map(keyInvalid);
    expect(e.status).toBe(502);
    expect(e.code).toBe("upstream_auth_error");
  });

  it("keeps a genuine INVALID_ARGUMENT a 400 with Google's message", () => {
    const e = map(invalidArgument);
    expect(e.status).toBe(400);
    expect(e.code).toBe("invalid_request");
    expect(e.message).toContain("contents is not specified");
  });

  it("makes NOT_FOUND a 404 model_not_found naming the model param", () => {
    const e = map(notFound);
    expect(e.status).toBe(404);
    expect(e.code).toBe("model_not_found");
    expect(e.param).toBe("model");
  });

  it("takes the 429 back-off from RetryInfo in the body", () => {
    const e = map(exhausted);
    expect(e.status).toBe(429);
    expect(e.code).toBe("upstream_rate_limited");
    expect(e.headers["retry-after"]).toBe("25");
  });

  it("makes 503 UNAVAILABLE an upstream error naming the provider", () => {
    const e = map(unavailable);
    expect(e.status).toBe(502);
    expect(e.message).toBe("Provider 'gemini' failed (HTTP 503): The model is overloaded. Please try again later.");
  });
});
