import { RateLimitError } from "openai";
import type OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoreStack } from "../fake-upstream/stack";
import { uniqueModel } from "../support/names";
import type { FakeUpstream } from "../fake-upstream/server";
import { LEASE_TTL_MS } from "../../workers/shared/src/contracts/limiter";
import { acquireLease, advanceLimiterClock } from "../support/limiter";
import type { Stack } from "../support/stack";
import { clientFor } from "../support/clients";

/**
 * The limiter's time-based behaviour, end to end. The documented window: a sliding 60-second window, each slot returning
 * exactly 60 s after the request that used it (not all at once at a fixed minute boundary, and not
 * refilled continuously during a burst). `retry-after-ms` says when, to the millisecond. And a lease
 * nobody settles (a gateway that died mid-request) frees its slot after LEASE_TTL_MS.
 *
 * Time is the limiter object's test clock (workers/shared/src/test-clock.ts): stopped, then moved
 * forward instead of waited for, so the expected times are exact. The same behaviour is covered
 * with a synthetic clock in workers/rate-limiter/src/ledger.test.ts.
 */
let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, upstream, close } = await startCoreStack());
});
afterAll(() => close?.());

async function chat(client: OpenAI, model: string): Promise<"ok" | RateLimitError> {
  return client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: "hi" }] }).then(
    () => "ok" as const,
    (err: unknown) => {
      if (err instanceof RateLimitError) return err;
      throw err;
    },
  );
}

function retryAfterMs(outcome: "ok" | RateLimitError): number {
  if (outcome === "ok") throw new Error("expected a 429");
  return Number(outcome.headers.get("retry-after-ms"));
}

describe("sliding window", () => {
  it("frees each slot 60 s after the request that used it, as retry-after-ms announces", async () => {
    const { client, key } = await clientFor(stack, { limits: { rpm: 3 } });
    // The key's tenant has no limits: its counters live in the key's own object.
    const advance = (ms: number) => advanceLimiterClock(stack, `key:${key.id}`, ms);
    const model = uniqueModel("window");
    await advance(0); // stops the object's clock: from here time passes only when moved
    expect(await chat(client, model)).toBe("ok"); // t0: slot 1
    await advance(3_000);
    expect(await chat(client, model)).toBe("ok"); // t0+3s: slot 2
    expect(await chat(client, model)).toBe("ok"); // t0+3s: slot 3

    // The oldest request (t0) leaves the window first: 57 s from now, not a whole minute.
    expect(retryAfterMs(await chat(client, model))).toBe(57_000);

    // One millisecond short of it the window is still full; at it, exactly one slot is back (the
    // first request's); the other two come back 3 s after it.
    await advance(56_999);
    expect(retryAfterMs(await chat(client, model))).toBe(1);
    await advance(1);
    expect(await chat(client, model)).toBe("ok");
    expect(retryAfterMs(await chat(client, model))).toBe(3_000);

    await advance(3_000);
    expect(await chat(client, model)).toBe("ok");
    expect(await chat(client, model)).toBe("ok");
    expect(retryAfterMs(await chat(client, model))).toBe(57_000); // the t0+60s request leaves first
    expect(upstream.requests(model)).toHaveLength(6);
  });
});

describe("lease expiry", () => {
  it("a slot held by a request that never settled (its gateway died) comes back after the lease TTL, not before", async () => {
    const { client, key, tenant } = await clientFor(stack, { limits: { max_concurrency: 1 } });
    const object = `key:${key.id}`;
    const advance = (ms: number) => advanceLimiterClock(stack, object, ms);
    const model = uniqueModel("lease");
    await advance(0);
    // What a gateway sends before calling the upstream; it dies before settling, so nobody ever will.
    const crashed = await acquireLease(stack, object, {
      subjects: [{ id: object, rpm: null, tpm: null, maxConcurrency: 1, monthlyBudgetMicros: null }],
      tokens: 0,
      costMicros: 0,
      peer: `tenant:${tenant.id}`,
    });
    expect(crashed.ok).toBe(true);

    const held = await chat(client, model);
    if (held === "ok") throw new Error("expected the dead request's lease to hold the only slot");
    expect(held.message).toContain(`concurrent requests on API key ${key.id}: Limit 1, Used 1`);
    await advance(LEASE_TTL_MS - 1);
    expect(await chat(client, model)).toBeInstanceOf(RateLimitError);
    await advance(1);
    expect(await chat(client, model)).toBe("ok");
    expect(upstream.requests(model)).toHaveLength(1);
  });
});
