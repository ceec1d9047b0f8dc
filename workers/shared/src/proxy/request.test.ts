import { describe, expect, it } from "vitest";
import { parseProxyRequest, ProxyRequestSchema } from "./request";

const good = { principalToken: "tok", requestId: "req_1", operation: "chat", body: { model: "gpt-4o-mini", messages: [], extra: { a: 1 } } };

describe("parseProxyRequest (the zod-free check of a proxied request)", () => {
  const cases: Record<string, unknown> = {
    "a well-formed request": good,
    "with forwarded headers": { ...good, operation: "messages", headers: { "anthropic-version": "2023-06-01" } },
    "with unknown top-level fields (dropped)": { ...good, extra: true },
    "a header that is not forwarded": { ...good, headers: { authorization: "Bearer x" } },
    "a header value too long": { ...good, headers: { "anthropic-beta": "x".repeat(1025) } },
    "an unknown operation": { ...good, operation: "images" },
    "an inherited operation name": { ...good, operation: "toString" },
    "an empty token": { ...good, principalToken: "" },
    "a request id too long": { ...good, requestId: "r".repeat(129) },
    "a body without a model": { ...good, body: { messages: [] } },
    "a model that is not a string": { ...good, body: { model: 4 } },
    "a model too long": { ...good, body: { model: "m".repeat(257) } },
    "a body that is an array": { ...good, body: [] },
    "no body": { principalToken: "tok", requestId: "r", operation: "chat" },
    "not an object": "chat",
    null: null,
  };
  for (const [name, input] of Object.entries(cases)) {
    it(`decides like ProxyRequestSchema: ${name}`, () => {
      const fast = parseProxyRequest(input);
      const zod = ProxyRequestSchema.safeParse(input);
      expect(fast.success).toBe(zod.success);
      if (fast.success && zod.success) expect(fast.data).toEqual(zod.data);
      if (!fast.success && !zod.success) expect(fast.error.issues).toEqual(zod.error.issues);
    });
  }
});
