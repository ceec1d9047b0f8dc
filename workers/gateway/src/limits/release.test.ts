import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, monthOf, type ReleaseRequest, type ReleaseResult } from "../../../shared/src";
import { releaseRemovedBudget } from "./release";

function fakeEnv(answer: (object: string) => ReleaseResult | Promise<ReleaseResult>) {
  const calls: { object: string; input: ReleaseRequest }[] = [];
  const env = {
    RATE_LIMITER: {
      idFromName: (name: string) => ({ name }),
      get: (id: { name: string }) => ({
        release: async (input: ReleaseRequest) => {
          calls.push({ object: id.name, input });
          return answer(id.name);
        },
      }),
    },
  } as unknown as GatewayEnv;
  return { env, calls };
}

afterEach(() => vi.restoreAllMocks());

describe("releaseRemovedBudget", () => {
  it("tells both objects that may hold a key's counters when its budget is removed, and nothing otherwise", async () => {
    const { env, calls } = fakeEnv(() => ({ ok: true, micros: null }));
    await releaseRemovedBudget(env, { monthly_usd: 5 }, { keyId: "key_1", tenantId: "ten_1" });
    await releaseRemovedBudget(env, undefined, { keyId: "key_1", tenantId: "ten_1" });
    await releaseRemovedBudget(env, {}, { keyId: "key_1", tenantId: "ten_1" });
    expect(calls).toEqual([]);

    await releaseRemovedBudget(env, { monthly_usd: null }, { keyId: "key_1", tenantId: "ten_1" });
    const month = monthOf(Date.now());
    expect(calls.sort((a, b) => a.object.localeCompare(b.object))).toEqual([
      { object: "key:key_1", input: { subject: "key:key_1", month } },
      { object: "tenant:ten_1", input: { subject: "key:key_1", month } },
    ]);
    calls.length = 0;
    await releaseRemovedBudget(env, { monthly_usd: null }, { tenantId: "ten_1" });
    expect(calls).toEqual([{ object: "tenant:ten_1", input: { subject: "tenant:ten_1", month } }]);
  });

  it("answers a retryable 503 when the limiter cannot be told (the PATCH is repeated)", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { env } = fakeEnv((object) => (object.startsWith("tenant:") ? Promise.reject(new Error("overloaded")) : { ok: true, micros: 0 }));
    const err = await releaseRemovedBudget(env, { monthly_usd: null }, { keyId: "key_1", tenantId: "ten_1" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(503);
    expect((err as ApiError).headers).toEqual({ "retry-after": "1" });
    expect((err as ApiError).message).not.toContain("overloaded");
  });
});
