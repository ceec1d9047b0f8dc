import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { UsageEvent } from "../../../shared/src/contracts/usage";
import { consumeUsageBatch } from "./consumer";

const env = workerEnv as unknown as BillingEnv & { TEST_MIGRATIONS: D1Migration[] };

const db = () => env.BILLING_DB;

beforeAll(async () => {
  await applyD1Migrations(env.BILLING_DB, env.TEST_MIGRATIONS);
});

beforeEach(async () => {
  await db().batch([
    db().prepare("DELETE FROM usage_events"),
    db().prepare("DELETE FROM usage_monthly"),
    db().prepare("DELETE FROM prices"),
    db()
      .prepare(
        "INSERT INTO prices (model, provider, input_per_mtok_micros, output_per_mtok_micros, cached_input_per_mtok_micros, updated_at) VALUES ('gpt-4o-mini', 'openai', 150000, 600000, 75000, 0)",
      ),
  ]);
});

function event(overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    request_id: `req_${crypto.randomUUID()}`,
    tenant_id: "ten_1",
    key_id: "key_1",
    operation: "chat",
    requested_model: "gpt-4o-mini",
    provider: "openai",
    model: "gpt-4o-mini-2024-07-18",
    prompt_tokens: 1000,
    completion_tokens: 500,
    cached_tokens: 200,
    reasoning_tokens: 0,
    total_tokens: 1500,
    status: 200,
    stream: false,
    aborted: false,
    latency_ms: 12.5,
    started_at: Date.UTC(2026, 10, 30, 23, 59, 59),
    ...overrides,
  };
}

interface FakeMessage extends Message<unknown> {
  acked: boolean;
  retried: { delaySeconds?: number } | null;
}

function batchOf(bodies: unknown[], attempts = 1): { batch: MessageBatch<unknown>; messages: FakeMessage[] } {
  const messages: FakeMessage[] = bodies.map((body, i) => {
    const m = {
      id: `msg-${i}`,
      timestamp: new Date(),
      body,
      attempts,
      acked: false,
      retried: null as { delaySeconds?: number } | null,
      ack() {
        m.acked = true;
      },
      retry(opts?: { delaySeconds?: number }) {
        m.retried = opts ?? {};
      },
    };
    return m;
  });
  const batch = {
    queue: "usage-events",
    messages,
    ackAll: () => messages.forEach((m) => m.ack()),
    retryAll: () => messages.forEach((m) => m.retry()),
  } as unknown as MessageBatch<unknown>;
  return { batch, messages };
}

describe("usage-events consumer", () => {
  it("stores each event once, priced in integer micro-dollars, with its calendar month", async () => {
    const e = event();
    const { batch, messages } = batchOf([e]);
    await consumeUsageBatch(batch, env);
    expect(messages[0]!.acked).toBe(true);
    const row = await db().prepare("SELECT * FROM usage_events WHERE request_id = ?").bind(e.request_id).first();
    // 800 uncached × 0.15 + 200 cached × 0.075 + 500 × 0.60 = 120 + 15 + 300 = 435 µ$.
    expect(row).toMatchObject({
      tenant_id: "ten_1",
      key_id: "key_1",
      model: "gpt-4o-mini-2024-07-18",
      prompt_tokens: 1000,
      cached_tokens: 200,
      cost_usd_micros: 435,
      priced: 1,
      month: "2026-11",
      stream: 0,
      upstream_error: 0,
      ttfb_ms: null,
      tags: "{}",
    });
  });

  it("is idempotent by request_id: a redelivered event changes neither events nor rollups", async () => {
    const e = event();
    await consumeUsageBatch(batchOf([e]).batch, env);
    const again = batchOf([e, e]);
    await consumeUsageBatch(again.batch, env);
    expect(again.messages.every((m) => m.acked)).toBe(true);
    const count = await db().prepare("SELECT COUNT(*) AS n FROM usage_events").first<{ n: number }>();
    expect(count?.n).toBe(1);
    const rollup = await db().prepare("SELECT * FROM usage_monthly").all();
    expect(rollup.results).toEqual([
      expect.objectContaining({ month: "2026-11", tenant_id: "ten_1", key_id: "key_1", requests: 1, cost_usd_micros: 435, total_tokens: 1500 }),
    ]);
  });

  it("rolls up per month, tenant, key and served model", async () => {
    await consumeUsageBatch(
      batchOf([
        event(),
        event(),
        event({ key_id: "key_2" }),
        event({ started_at: Date.UTC(2026, 11, 1) }),
        event({ model: null, provider: null, requested_model: "fast", prompt_tokens: 0, completion_tokens: 0, cached_tokens: 0, total_tokens: 0, status: 502 }),
      ]).batch,
      env,
    );
    const { results } = await db()
      .prepare("SELECT month, key_id, model, requests, cost_usd_micros FROM usage_monthly ORDER BY month, key_id, model")
      .all();
    expect(results).toEqual([
      { month: "2026-11", key_id: "key_1", model: "fast", requests: 1, cost_usd_micros: 0 },
      { month: "2026-11", key_id: "key_1", model: "gpt-4o-mini-2024-07-18", requests: 2, cost_usd_micros: 870 },
      { month: "2026-11", key_id: "key_2", model: "gpt-4o-mini-2024-07-18", requests: 1, cost_usd_micros: 435 },
      { month: "2026-12", key_id: "key_1", model: "gpt-4o-mini-2024-07-18", requests: 1, cost_usd_micros: 435 },
    ]);
  });

  it("records a model without a price at cost 0 and marks it unpriced", async () => {
    const e = event({ model: "my-local-llama", provider: "ollama", requested_model: "ollama/my-local-llama" });
    await consumeUsageBatch(batchOf([e]).batch, env);
    const row = await db().prepare("SELECT cost_usd_micros, priced FROM usage_events WHERE request_id = ?").bind(e.request_id).first();
    expect(row).toEqual({ cost_usd_micros: 0, priced: 0 });
  });

  it("acks and logs invalid messages instead of retrying them, and still stores the valid ones", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const good = event();
    const { batch, messages } = batchOf([{ request_id: "req_bad", tenant_id: 3 }, "not an object", good]);
    await consumeUsageBatch(batch, env);
    expect(messages.map((m) => [m.acked, m.retried])).toEqual([
      [true, null],
      [true, null],
      [true, null],
    ]);
    expect(log).toHaveBeenCalledTimes(2);
    expect(String(log.mock.calls[0]![0])).toContain("req_bad");
    const count = await db().prepare("SELECT COUNT(*) AS n FROM usage_events").first<{ n: number }>();
    expect(count?.n).toBe(1);
    log.mockRestore();
  });

  it("retries every valid message with backoff when D1 fails, and acks none of them", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const failing = {
      ...env,
      BILLING_DB: new Proxy(env.BILLING_DB, {
        get(target, prop, receiver) {
          if (prop === "batch") return () => Promise.reject(new Error("D1_ERROR: database is locked"));
          const v = Reflect.get(target, prop, receiver);
          return typeof v === "function" ? v.bind(target) : v;
        },
      }),
    } as BillingEnv;
    const { batch, messages } = batchOf([event(), event(), { nope: true }], 3);
    await consumeUsageBatch(batch, failing);
    expect(messages.map((m) => [m.acked, m.retried])).toEqual([
      [false, { delaySeconds: 8 }],
      [false, { delaySeconds: 8 }],
      [true, null],
    ]);
    const count = await db().prepare("SELECT COUNT(*) AS n FROM usage_events").first<{ n: number }>();
    expect(count?.n).toBe(0);
    log.mockRestore();
  });
});
