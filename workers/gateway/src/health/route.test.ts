import { exports } from "cloudflare:workers";

const worker = exports as unknown as { default: Fetcher };
import { describe, expect, it } from "vitest";

// In unit tests the bound Workers are stand-ins without a `health()` method, so every remote
// check must fail: this is the gateway's 503 path, naming what failed.
describe("GET /health (dependencies down)", () => {
  it("returns 503 and names every failed service check", async () => {
    const res = await worker.default.fetch("http://gateway/health");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; failed: string[]; services: Record<string, { ok: boolean }> };
    expect(body.status).toBe("unhealthy");
    expect(body.services["gateway"]!.ok).toBe(true);
    expect(body.failed).toEqual(expect.arrayContaining(["auth.binding", "tail.binding", "billing.binding", "model-proxy.binding", "rate-limiter.binding", "secrets.binding"]));
    expect(body.failed.some((f) => f.startsWith("gateway."))).toBe(false);
  });
});
