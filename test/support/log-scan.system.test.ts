import { describe, expect, it } from "vitest";
import { scanLogs } from "./log-scan";

describe("the log scan", () => {
  it("finds a Worker line that logged an API key, a provider key, a bearer token, a session JWT or a registered prompt", () => {
    const key = "sk-dev-AbCdEfGhIjKlMnOpQrStUvWxYz012345abcdef";
    const files = {
      "gateway.log": [
        '{"level":"info","service":"gateway","event":"ok","requestId":"req_1"}',
        `{"level":"error","service":"gateway","message":"bad key ${key}"}`,
        '{"level":"error","message":"upstream said Authorization: Bearer abcdefghijklmnop"}',
        '{"level":"warn","message":"cookie eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3IifQ.c2lnbmF0dXJl"}',
        '{"level":"error","message":"echo: What is the capital of France, 7f3a?"}',
        '{"level":"error","message":"Bearer [redacted] and [redacted]"}',
      ].join("\n"),
    };
    const found = scanLogs(files, ["What is the capital of France, 7f3a?", "short"]);
    expect(found.map((f) => [f.file, f.line, f.what])).toEqual([
      ["gateway.log", 2, "API key"],
      ["gateway.log", 3, "bearer credential"],
      ["gateway.log", 4, "JWS/JWT"],
      ["gateway.log", 5, "registered secret or prompt"],
    ]);
  });

  it("passes clean, scrubbed logs", () => {
    expect(scanLogs({ "a.log": '{"level":"error","message":"key [redacted] refused","keyId":"key_1"}' }, ["a registered password"])).toEqual([]);
  });
});
