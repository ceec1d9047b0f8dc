import { beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type Principal } from "../../../shared/src";
import { resetTargetCache, routeTargets, TARGETS_TTL_MS } from "./targets";

const principal = (keyId: string) => ({ tenantId: "ten_1", keyId, token: `token-${keyId}` }) as Principal;

function fakeEnv() {
  const rpc = vi.fn(async (_token: string, model: string) =>
    model === "missing"
      ? { ok: false as const, error: { code: "model_not_found" as const, param: "model", message: "The model 'missing' does not exist." } }
      : { ok: true as const, value: [{ provider: "p", type: "openai", model }] },
  );
  return { env: { MODEL_PROXY: { routeTargets: rpc } } as unknown as GatewayEnv, rpc };
}

beforeEach(() => resetTargetCache());

describe("routeTargets", () => {
  it("asks model-proxy once per key, operation and name within the TTL, then again", async () => {
    const { env, rpc } = fakeEnv();
    await routeTargets(env, principal("k1"), "m", "chat", 1_000);
    await routeTargets(env, principal("k1"), "m", "chat", 1_000 + TARGETS_TTL_MS - 1);
    expect(rpc).toHaveBeenCalledTimes(1);
    // Another key (its own model globs) and another operation are separate entries.
    await routeTargets(env, principal("k2"), "m", "chat", 1_000);
    await routeTargets(env, principal("k1"), "m", "embeddings", 1_000);
    expect(rpc).toHaveBeenCalledTimes(3);
    expect(await routeTargets(env, principal("k1"), "m", "chat", 1_000 + TARGETS_TTL_MS)).toEqual([{ provider: "p", type: "openai", model: "m" }]);
    expect(rpc).toHaveBeenCalledTimes(4);
  });

  it("throws the error a dispatch would answer, and a 503 when model-proxy cannot be reached", async () => {
    const { env, rpc } = fakeEnv();
    await expect(routeTargets(env, principal("k1"), "missing", "chat")).rejects.toMatchObject({ status: 404, code: "model_not_found" });
    rpc.mockRejectedValueOnce(new Error("boom"));
    const err = await routeTargets(env, principal("k1"), "m", "chat").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 503, code: "service_unavailable" });
  });

  it("keeps at most 2 000 names, dropping the oldest", async () => {
    const { env, rpc } = fakeEnv();
    for (let i = 0; i <= 2_000; i++) await routeTargets(env, principal("k1"), `m${i}`, "chat", 1_000);
    expect(rpc).toHaveBeenCalledTimes(2_001);
    await routeTargets(env, principal("k1"), "m2000", "chat", 1_000);
    expect(rpc).toHaveBeenCalledTimes(2_001);
    await routeTargets(env, principal("k1"), "m0", "chat", 1_000);
    expect(rpc).toHaveBeenCalledTimes(2_002);
  });
});
