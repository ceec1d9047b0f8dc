import { describe, expect, it } from "vitest";
import { logLine, scrub } from "./log";

describe("the structured logger", () => {
  it("writes one JSON object with only the known fields: a prompt or a header map cannot be spread into it", () => {
    const fields = { requestId: "req_1", tenantId: "ten_1", keyId: "key_1", model: "gpt-4o", status: 502, latencyMs: 12.5, attempts: 2 };
    const sneaky = {
      ...fields,
      messages: [{ role: "user", content: "my secret prompt" }],
      authorization: "Bearer sk-dev-abcdefghijklmnop",
      password: "hunter2hunter2",
    };
    const line = logLine("error", "gateway", "upstream failed", sneaky);
    expect(JSON.parse(line)).toEqual({ level: "error", service: "gateway", event: "upstream failed", ...fields });
    expect(line).not.toContain("my secret prompt");
    expect(line).not.toContain("hunter2");
  });

  it("scrubs keys, bearer tokens, JWS, invite tokens and password values from messages", () => {
    const jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJrZXlfMSJ9.c2lnbmF0dXJlLXBhcnQ";
    const text = scrub(
      `key sk-live-AbCdEf0123456789xyz; Authorization: Bearer abcdefghijklmnop; token ${jwt}; invite inv_${"a".repeat(43)}; {"password":"p4ssw0rd-long"} password=x12345678`,
    );
    for (const secret of ["sk-live-AbCdEf0123456789xyz", "abcdefghijklmnop", jwt, `inv_${"a".repeat(43)}`, "p4ssw0rd-long", "x12345678"])
      expect(text).not.toContain(secret);
    expect(text).toContain("[redacted]");
    expect(scrub("x".repeat(5_000)).length).toBeLessThanOrEqual(1_001);
  });

  it("scrubs vendor keys, webhook secrets and session cookies", () => {
    const secrets = [
      "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv",
      "AIzaSyAbCdEfGhIjKlMnOpQrStUvWxYz0123456",
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      "session-token-value-123",
      "cookie-value-456789",
    ];
    const text = scrub(`keys ${secrets[0]} ${secrets[1]}; signing ${secrets[2]}; set-cookie: __Host-gw_session=${secrets[3]}; Path=/; Cookie: ${secrets[4]}`);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).toContain("[redacted]");
  });
});
