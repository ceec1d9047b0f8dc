import type { Queue } from "@cloudflare/workers-types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageEvent } from "../../workers/shared/src/contracts/usage";
import { startStack, type Stack } from "../support/stack";
import { adminFetch } from "../support/tenants";
import { expectError } from "../support/errors";
import { d1 } from "../support/stores";
import { gatewayFetch } from "../support/fetch";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.close());

describe("admin prices", () => {
  it("lists the seeded prices in USD per 1M tokens and as integer micro-dollars", async () => {
    const res = await adminFetch(stack, "/admin/prices");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; data: { model: string }[] };
    expect(body.object).toBe("list");
    expect(body.data.length).toBeGreaterThan(50);
    const get = await adminFetch(stack, "/admin/prices/gpt-4o-mini");
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({
      object: "model_price",
      model: "gpt-4o-mini",
      provider: "openai",
      input_per_mtok: 0.15,
      output_per_mtok: 0.6,
      cached_input_per_mtok: 0.075,
      cache_write_per_mtok: null,
      input_per_mtok_micros: 150_000,
      output_per_mtok_micros: 600_000,
      cached_input_per_mtok_micros: 75_000,
      cache_write_per_mtok_micros: null,
      batch_discount_pct: 0,
    });
    // Anthropic's seeded models carry its published cache-write premium (1.25× input, migration billing/0006).
    const sonnet = await adminFetch(stack, "/admin/prices/claude-sonnet-4-5");
    expect(await sonnet.json()).toMatchObject({
      input_per_mtok: 3,
      cached_input_per_mtok: 0.3,
      cache_write_per_mtok: 3.75,
      cache_write_per_mtok_micros: 3_750_000,
    });
  });

  it("creates (201), replaces (200) and deletes (200, then 404) a price; names with '/' are URL-encoded", async () => {
    const path = `/admin/prices/${encodeURIComponent("acme/My-Model")}`;
    const created = await adminFetch(stack, path, { method: "PUT", body: { provider: "acme", input_per_mtok: 1.25, output_per_mtok: 5 } });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ model: "acme/my-model", input_per_mtok_micros: 1_250_000, cached_input_per_mtok: null });

    const replaced = await adminFetch(stack, path, {
      method: "PUT",
      body: { input_per_mtok: 1, output_per_mtok: 4, cached_input_per_mtok: 0.1, cache_write_per_mtok: 1.25 },
    });
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toMatchObject({
      model: "acme/my-model",
      provider: null,
      input_per_mtok: 1,
      cached_input_per_mtok_micros: 100_000,
      cache_write_per_mtok: 1.25,
      cache_write_per_mtok_micros: 1_250_000,
    });
    expect(await (await adminFetch(stack, path)).json()).toMatchObject({ cache_write_per_mtok_micros: 1_250_000 });

    expect((await adminFetch(stack, path)).status).toBe(200);
    const deleted = await adminFetch(stack, path, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ object: "model_price.deleted", model: "acme/my-model", deleted: true });
    const gone = await adminFetch(stack, path);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe("not_found");
    expect((await adminFetch(stack, path, { method: "DELETE" })).status).toBe(404);
  });

  it("answers bad prices with 400 naming the param", async () => {
    const cases: [unknown, string][] = [
      [{ input_per_mtok: -1, output_per_mtok: 1 }, "input_per_mtok"],
      [{ input_per_mtok: 1 }, "output_per_mtok"],
      [{ input_per_mtok: 0.0000001, output_per_mtok: 1 }, "input_per_mtok"],
      [{ input_per_mtok: 1, output_per_mtok: 1, cached_input_per_mtok: "cheap" }, "cached_input_per_mtok"],
      [{ input_per_mtok: 1, output_per_mtok: 1, cache_write_per_mtok: -3.75 }, "cache_write_per_mtok"],
      [{ input_per_mtok: 1, output_per_mtok: 1, currency: "EUR" }, "currency"],
    ];
    for (const [body, param] of cases) {
      const res = await adminFetch(stack, "/admin/prices/some-model", { method: "PUT", body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = (await res.json()) as { error: { type: string; param: string } };
      expect(err.error).toMatchObject({ type: "invalid_request_error", param });
    }
  });

  it("requires the admin token", async () => {
    await expectError(await gatewayFetch(stack, "/admin/prices"), 401, "missing_api_key");
    const res = await gatewayFetch(stack, "/admin/prices/gpt-4o", {
      key: "nope",
      method: "PUT",
      rawBody: "{}",
      headers: { "content-type": "application/json" },
    });
    await expectError(res, 401, "invalid_api_key");
  });
});

describe("usage-events consumer (real Queue → billing → D1)", () => {
  function event(overrides: Partial<UsageEvent> = {}): UsageEvent {
    return {
      request_id: `req_sys_${crypto.randomUUID()}`,
      tenant_id: "ten_sys",
      key_id: "key_sys",
      operation: "chat",
      requested_model: "gpt-4o-mini",
      provider: "openai",
      model: "gpt-4o-mini-2024-07-18",
      prompt_tokens: 2000,
      completion_tokens: 1000,
      cached_tokens: 0,
      reasoning_tokens: 0,
      total_tokens: 3000,
      status: 200,
      stream: true,
      aborted: false,
      latency_ms: 40,
      started_at: Date.now(),
      ...overrides,
    };
  }

  async function waitForRows(sql: string, bind: unknown[], count: number): Promise<Record<string, unknown>[]> {
    const db = await d1(stack, "billing");
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { results } = await db
        .prepare(sql)
        .bind(...bind)
        .all<Record<string, unknown>>();
      if (results.length >= count || Date.now() > deadline) return results;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it("stores each event once, priced, and keeps the monthly rollup, even when a message is delivered twice", async () => {
    const queue = (await stack.harness.getWorker("gateway").getEnv()).USAGE_EVENTS as Queue;
    const a = event();
    const b = event({ key_id: "key_sys_2", cached_tokens: 1000 });
    await queue.sendBatch([{ body: a }, { body: b }, { body: a }, { body: { request_id: "req_broken" } }]);
    const rows = await waitForRows(
      "SELECT request_id, key_id, cost_usd_micros, priced, month FROM usage_events WHERE tenant_id = ? ORDER BY key_id",
      ["ten_sys"],
      2,
    );
    // a: 2000 × 0.15 + 1000 × 0.60 = 900 µ$; b: 1000 × 0.15 + 1000 × 0.075 + 600 = 825 µ$.
    expect(rows).toEqual([
      { request_id: a.request_id, key_id: "key_sys", cost_usd_micros: 900, priced: 1, month: new Date().toISOString().slice(0, 7) },
      { request_id: b.request_id, key_id: "key_sys_2", cost_usd_micros: 825, priced: 1, month: new Date().toISOString().slice(0, 7) },
    ]);
    const rollup = await (
      await d1(stack, "billing")
    )
      .prepare("SELECT key_id, requests, cost_usd_micros FROM usage_monthly WHERE tenant_id = ? ORDER BY key_id")
      .bind("ten_sys")
      .all();
    expect(rollup.results).toEqual([
      { key_id: "key_sys", requests: 1, cost_usd_micros: 900 },
      { key_id: "key_sys_2", requests: 1, cost_usd_micros: 825 },
    ]);
    const broken = await waitForRows("SELECT request_id FROM usage_events WHERE request_id = ?", ["req_broken"], 0);
    expect(broken).toEqual([]);
  });
});
