import { RateLimitError } from "openai";
import type OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientFor, startCoreStack, uniqueModel } from "../fake-upstream/stack";
import type { FakeUpstream } from "../fake-upstream/server";
import type { Stack } from "../support/stack";

/**
 * The documented window behaviour, end to end and in real time: a sliding 60-second window, each
 * slot returning exactly 60 s after the request that used it (not all at once at a fixed minute
 * boundary, and not refilled continuously during a burst). `retry-after-ms` says when.
 * This test waits out a real window (~62 s); the same behaviour is covered at millisecond
 * precision with a synthetic clock in workers/rate-limiter/src/ledger.test.ts.
 */
let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, upstream, close } = await startCoreStack());
});
afterAll(() => close?.());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function chat(client: OpenAI, model: string): Promise<"ok" | RateLimitError> {
  return client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: "hi" }] }).then(
    () => "ok" as const,
    (err: unknown) => {
      if (err instanceof RateLimitError) return err;
      throw err;
    },
  );
}

describe("sliding window", () => {
  it("frees each slot 60 s after the request that used it, as retry-after-ms announces", { timeout: 120_000 }, async () => {
    const { client } = await clientFor(stack, { limits: { rpm: 3 } });
    const model = uniqueModel("window");
    expect(await chat(client, model)).toBe("ok"); // t0: slot 1
    await sleep(3_000);
    expect(await chat(client, model)).toBe("ok"); // t0+3s: slot 2
    expect(await chat(client, model)).toBe("ok"); // t0+3s: slot 3

    const full = await chat(client, model);
    if (full === "ok") throw new Error("expected the 4th request to be refused");
    const waitMs = Number(full.headers.get("retry-after-ms"));
    // The oldest request (t0) leaves the window first: about 57 s from now, not a whole minute.
    expect(waitMs).toBeGreaterThan(50_000);
    expect(waitMs).toBeLessThanOrEqual(57_000);

    await sleep(waitMs + 50);
    // Exactly one slot came back (the first request's); the other two come back ~3 s later.
    expect(await chat(client, model)).toBe("ok");
    const next = await chat(client, model);
    if (next === "ok") throw new Error("only one slot should have come back");
    const secondWait = Number(next.headers.get("retry-after-ms"));
    expect(secondWait).toBeGreaterThan(1_000);
    expect(secondWait).toBeLessThanOrEqual(3_100);

    await sleep(secondWait + 50);
    expect(await chat(client, model)).toBe("ok");
    expect(await chat(client, model)).toBe("ok");
    expect(await chat(client, model)).toBeInstanceOf(RateLimitError);
    expect(upstream.requests(model)).toHaveLength(6);
  });
});
