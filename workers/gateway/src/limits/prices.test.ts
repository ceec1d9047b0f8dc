import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Price } from "../../../shared/src";
import { PRICE_TTL_MS, priceBook, resetPriceCache } from "./prices";

/** A price table with one row whose input price is `micros` per 1M tokens. */
const table = (micros: number): Price[] => [
  { model: "m", provider: null, input_per_mtok_micros: micros, output_per_mtok_micros: 0, cached_input_per_mtok_micros: null },
];
const inputPrice = async (env: Pick<GatewayEnv, "BILLING">) => (await priceBook(env)).find("m")?.input_per_mtok_micros;

/** Billing whose answers a test sets: the current table, or down. */
function fakeBilling(micros: number) {
  const state = { micros, down: false };
  const prices = vi.fn(async () =>
    state.down ? { ok: false as const, error: { code: "service_unavailable" as const, message: "down" } } : { ok: true as const, value: table(state.micros) },
  );
  return { env: { BILLING: { prices } } as unknown as Pick<GatewayEnv, "BILLING">, prices, state };
}

beforeEach(() => {
  resetPriceCache();
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => vi.useRealTimers());

describe("priceBook: every isolate prices with a table at most PRICE_TTL_MS old", () => {
  it("serves its copy without a call while it is younger than half the bound", async () => {
    const { env, prices, state } = fakeBilling(1);
    expect(await inputPrice(env)).toBe(1);
    state.micros = 2;
    vi.advanceTimersByTime(PRICE_TTL_MS / 2 - 1);
    expect(await inputPrice(env)).toBe(1);
    expect(prices).toHaveBeenCalledTimes(1);
  });

  it("between half the bound and the bound: answers from its copy and refreshes it in the background", async () => {
    const { env, prices, state } = fakeBilling(1);
    await inputPrice(env);
    state.micros = 2;
    vi.advanceTimersByTime(PRICE_TTL_MS / 2);
    expect(await inputPrice(env)).toBe(1);
    expect(prices).toHaveBeenCalledTimes(2);
    await vi.waitFor(async () => expect(await inputPrice(env)).toBe(2));
  });

  it("at the bound: the request waits for the new table (a changed price is never used later than PRICE_TTL_MS)", async () => {
    const { env, prices, state } = fakeBilling(1);
    await inputPrice(env);
    state.micros = 2;
    vi.advanceTimersByTime(PRICE_TTL_MS);
    expect(await inputPrice(env)).toBe(2);
    expect(prices).toHaveBeenCalledTimes(2);
  });

  it("billing down at the bound: the old table is kept (requests are not failed), retried no sooner than 5 s later", async () => {
    const { env, prices, state } = fakeBilling(1);
    await inputPrice(env);
    state.down = true;
    vi.advanceTimersByTime(PRICE_TTL_MS);
    expect(await inputPrice(env)).toBe(1);
    expect(prices).toHaveBeenCalledTimes(2);
    expect(await inputPrice(env)).toBe(1);
    expect(prices).toHaveBeenCalledTimes(2);
    state.down = false;
    state.micros = 3;
    vi.advanceTimersByTime(5_000);
    expect(await inputPrice(env)).toBe(1);
    await vi.waitFor(async () => expect(await inputPrice(env)).toBe(3));
    expect(prices).toHaveBeenCalledTimes(3);
  });
});
