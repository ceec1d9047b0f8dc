import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ServiceHealth } from "../../../shared/src";
import { createApp } from "../app";
import { PUBLIC_HEALTH_TTL_MS } from "./summary";

const worker = exports as unknown as { default: Fetcher };
const adminToken = (env as unknown as { ADMIN_TOKEN: string }).ADMIN_TOKEN;

afterEach(() => vi.useRealTimers());

// In unit tests the bound Workers are stand-ins without a `health()` method, so every remote
// check must fail: this is the gateway's 503 path, naming what failed (to the admin only).
describe("GET /health (dependencies down)", () => {
  it("the admin token gets 503 naming every failed service check", async () => {
    const res = await worker.default.fetch("http://gateway/health", { headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status).toBe(503);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as { status: string; failed: string[]; services: Record<string, { ok: boolean }> };
    expect(body.status).toBe("unhealthy");
    expect(body.services["gateway"]!.ok).toBe(true);
    expect(body.failed).toEqual(
      expect.arrayContaining(["auth.binding", "tail.binding", "billing.binding", "model-proxy.binding", "rate-limiter.binding", "secrets.binding"]),
    );
    expect(body.failed.some((f) => f.startsWith("gateway."))).toBe(false);
  });

  it("the public gets 503 with the status only: no service, store or error text", async () => {
    for (const headers of [{}, { authorization: "Bearer not-the-admin-token" }] as Record<string, string>[]) {
      const res = await worker.default.fetch("http://gateway/health", { headers });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: "unhealthy", checked_at: expect.any(Number) });
    }
  });
});

/** Bindings whose `health()` counts its calls: each call is a round of store checks in that Worker. */
function countingEnv() {
  let calls = 0;
  const healthy = (service: string, dependencies?: Record<string, ServiceHealth>) => ({
    health: async (): Promise<ServiceHealth> => {
      calls++;
      return { service, ok: true, checks: { store: { ok: true, ms: 0 } }, ...(dependencies ? { dependencies } : {}) };
    },
  });
  const fake = {
    ADMIN_TOKEN: "adm_counting",
    USAGE_EVENTS: { send: () => undefined },
    ANALYTICS: { writeDataPoint: () => undefined },
    AUTH: healthy("auth"),
    TAIL: healthy("tail"),
    BILLING: healthy("billing"),
    MODEL_PROXY: healthy("model-proxy", { secrets: { service: "secrets", ok: true, checks: { kv: { ok: true, ms: 0 } } } }),
    RATE_LIMITER_SERVICE: healthy("rate-limiter"),
  };
  return { env: fake as unknown as GatewayEnv, calls: () => calls };
}

describe("GET /health (cost of public traffic)", () => {
  it("public requests share one check per window; the admin token always checks every store now", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    // Past any answer cached by the tests above (the cache lives in this isolate's memory).
    const t0 = Date.now() + 3_600_000;
    vi.setSystemTime(t0);
    const app = createApp();
    const { env: fake, calls } = countingEnv();
    const get = (headers: Record<string, string> = {}) => app.request("/health", { headers }, fake);

    const first = await Promise.all([get(), get(), get()]);
    const later = await get();
    for (const res of [...first, later]) expect(res.status).toBe(200);
    const bodies = await Promise.all([...first, later].map((r) => r.json()));
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    expect(bodies[0]).toEqual({ status: "ok", checked_at: t0 });
    expect(calls()).toBe(5); // auth, tail, billing, model-proxy (which asks secrets), rate-limiter: once

    const admin = await get({ authorization: "Bearer adm_counting" });
    expect(admin.status).toBe(200);
    expect(Object.keys(((await admin.json()) as { services: object }).services).sort()).toEqual([
      "auth",
      "billing",
      "gateway",
      "model-proxy",
      "rate-limiter",
      "secrets",
      "tail",
    ]);
    expect(calls()).toBe(10);

    vi.setSystemTime(t0 + PUBLIC_HEALTH_TTL_MS - 1);
    await get();
    expect(calls()).toBe(10);
    vi.setSystemTime(t0 + PUBLIC_HEALTH_TTL_MS);
    expect(await (await get()).json()).toEqual({ status: "ok", checked_at: t0 + PUBLIC_HEALTH_TTL_MS });
    expect(calls()).toBe(15);
  });
});
