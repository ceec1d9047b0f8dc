import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LOG_DIR, scanLogs, scanRun } from "./log-scan";
import { startStack } from "./stack";

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

describe("the run's Worker logs", () => {
  it("are saved when a stack closes, with the lines the Workers wrote, and the scan sees them", async () => {
    const before = new Set(existsSync(LOG_DIR) ? readdirSync(LOG_DIR) : []);
    const stack = await startStack();
    // A refused key is logged by the gateway (a warning without the key).
    const refusedKey = `sk-test-${"x".repeat(40)}`;
    const res = await fetch(`${stack.url}/v1/models`, { headers: { authorization: `Bearer ${refusedKey}` } });
    expect(res.status).toBe(401);
    await stack.close();

    const saved = readdirSync(LOG_DIR).filter((f) => !before.has(f) && f.startsWith("stack-"));
    expect(saved).toHaveLength(1);
    const text = readFileSync(join(LOG_DIR, saved[0]!), "utf8");
    expect(text).toContain('"api key refused"');
    expect(text).not.toContain(refusedKey);
    // The run's scan reads that file: clean, and a line holding the refused key would be named.
    const run = scanRun(Date.now() - 60 * 60 * 1000);
    expect(run.files).toBeGreaterThanOrEqual(1);
    expect(run.findings.filter((f) => f.file === saved[0])).toEqual([]);
    expect(scanLogs({ [saved[0]!]: `${text}\nwarn bad key ${refusedKey}` }).map((f) => f.what)).toEqual(["API key"]);
  });
});
