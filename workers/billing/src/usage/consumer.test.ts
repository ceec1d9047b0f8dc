import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { packUsageEvents, type UsageEvent } from "../../../shared/src/contracts/usage";
import { consumeUsageBatch, MAX_ROWS_PER_WRITE } from "./consumer";
import { sampleUsageEvent } from "../../../shared/src/testing/usage-event";

const env = workerEnv as unknown as BillingEnv & { TEST_MIGRATIONS: D1Migration[] };

const db = () => env.BILLING_DB;

beforeAll(async () => {
  await applyD1Migrations(env.BILLING_DB, env.TEST_MIGRATIONS);
});

beforeEach(async () => {
  await db().batch([
    db().prepare("DELETE FROM usage_events"),
    db().prepare("DELETE FROM usage_monthly"),
    db().prepare("DELETE FROM langchain_requests"),
    db().prepare("DELETE FROM langchain_request_tags"),
    db().prepare("DELETE FROM prices"),
    db().prepare(
      "INSERT INTO prices (model, provider, input_per_mtok_micros, output_per_mtok_micros, cached_input_per_mtok_micros, updated_at) VALUES ('gpt-4o-mini', 'openai', 150000, 600000, 75000, 0)",
    ),
  ]);
});

/** An event priced at 1,000 prompt (200 cached) and 500 completion tokens, on the last second of a month. */
const event = (overrides: Partial<UsageEvent> = {}): UsageEvent =>
  sampleUsageEvent({
    prompt_tokens: 1000,
    completion_tokens: 500,
    cached_tokens: 200,
    total_tokens: 1500,
    started_at: Date.UTC(2026, 10, 30, 23, 59, 59),
    ...overrides,
  });

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

  it("stores a /v1/langchain event's labels once, in the same transaction as its usage row", async () => {
    const correlation = { run_id: "run-1", parent_run_id: "run-0", session_id: "s 1", project: "p", tags: ["a", "b"], metadata: '{"k":1}' };
    const e = event({ correlation });
    const plain = event();
    await consumeUsageBatch(batchOf([e, plain]).batch, env);
    await consumeUsageBatch(batchOf([e]).batch, env);
    const rows = await db().prepare("SELECT * FROM langchain_requests").all();
    expect(rows.results).toEqual([
      {
        request_id: e.request_id,
        tenant_id: "ten_1",
        run_id: "run-1",
        parent_run_id: "run-0",
        session_id: "s 1",
        project: "p",
        metadata: '{"k":1}',
        started_at: e.started_at,
      },
    ]);
    const tags = await db().prepare("SELECT request_id, tag FROM langchain_request_tags ORDER BY tag").all();
    expect(tags.results).toEqual([
      { request_id: e.request_id, tag: "a" },
      { request_id: e.request_id, tag: "b" },
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
    const { results } = await db().prepare("SELECT month, key_id, model, requests, cost_usd_micros FROM usage_monthly ORDER BY month, key_id, model").all();
    expect(results).toEqual([
      { month: "2026-11", key_id: "key_1", model: "fast", requests: 1, cost_usd_micros: 0 },
      { month: "2026-11", key_id: "key_1", model: "gpt-4o-mini-2024-07-18", requests: 2, cost_usd_micros: 870 },
      { month: "2026-11", key_id: "key_2", model: "gpt-4o-mini-2024-07-18", requests: 1, cost_usd_micros: 435 },
      { month: "2026-12", key_id: "key_1", model: "gpt-4o-mini-2024-07-18", requests: 1, cost_usd_micros: 435 },
    ]);
  });

  it("stores the client's own request id beside the gateway's; many rows may share it, and events without it still decode", async () => {
    const a = event({ client_request_id: "client-1" });
    const b = event({ client_request_id: "client-1", tenant_id: "ten_2" });
    const older = event(); // as produced before client_request_id existed: no such member
    await consumeUsageBatch(batchOf([a, b, older]).batch, env);
    const { results } = await db().prepare("SELECT request_id, client_request_id, tenant_id FROM usage_events ORDER BY tenant_id, client_request_id").all();
    expect(results).toEqual([
      { request_id: older.request_id, client_request_id: null, tenant_id: "ten_1" },
      { request_id: a.request_id, client_request_id: "client-1", tenant_id: "ten_1" },
      { request_id: b.request_id, client_request_id: "client-1", tenant_id: "ten_2" },
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

/** A D1 binding whose `batch` fails from the `failFrom`-th call on (1-based), counting calls. */
function failingDb(failFrom: number): { env: BillingEnv; calls: () => number } {
  let calls = 0;
  const proxied = {
    ...env,
    BILLING_DB: new Proxy(env.BILLING_DB, {
      get(target, prop, receiver) {
        if (prop === "batch") {
          return (statements: D1PreparedStatement[]) => {
            calls++;
            return calls >= failFrom ? Promise.reject(new Error("D1_ERROR: database is locked")) : target.batch(statements);
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    }),
  } as BillingEnv;
  return { env: proxied, calls: () => calls };
}

const packOf = (events: UsageEvent[]) => {
  const packs = packUsageEvents(events);
  expect(packs).toHaveLength(1);
  return packs[0]!.pack;
};
const tables = async () => ({
  events: (await db().prepare("SELECT * FROM usage_events ORDER BY request_id").all()).results,
  monthly: (await db().prepare("SELECT * FROM usage_monthly ORDER BY month, key_id, model").all()).results,
});
const countEvents = async () => (await db().prepare("SELECT COUNT(*) AS n FROM usage_events").first<{ n: number }>())?.n;

describe("usage-events consumer: packs of events", () => {
  it("stores every event of a pack as the same row a single-event message makes", async () => {
    const now = 1_767_000_000_000;
    const events = Array.from({ length: 7 }, (_, i) =>
      event({
        request_id: `req_pack_${i}`,
        stream: i % 2 === 0,
        ttfb_ms: i % 2 === 0 ? 3.5 : null,
        upstream_error: i === 3,
        aborted: i === 4,
        tags: { run: `r${i}` },
      }),
    );
    const { batch, messages } = batchOf([packOf(events)]);
    await consumeUsageBatch(batch, env, now);
    expect(messages[0]!.acked).toBe(true);
    const packed = await tables();
    expect(packed.events).toHaveLength(7);

    await db().batch([db().prepare("DELETE FROM usage_events"), db().prepare("DELETE FROM usage_monthly")]);
    await consumeUsageBatch(batchOf(events).batch, env, now);
    expect(await tables()).toEqual(packed);
    expect(packed.events[4]).toMatchObject({
      request_id: "req_pack_4",
      stream: 1,
      aborted: 1,
      ttfb_ms: 3.5,
      tags: '{"run":"r4"}',
      cost_usd_micros: 435,
      received_at: now,
    });
    expect(packed.monthly).toEqual([expect.objectContaining({ requests: 7, cost_usd_micros: 7 * 435, total_tokens: 7 * 1500 })]);
  });

  it("stores the valid events of a pack, logs the invalid ones by request id (never their content) and acks", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const good = [event(), event()];
    const pack = { v: 1, events: [good[0], { ...event({ request_id: "req_bad" }), tenant_id: 42, tags: { secret: "sk-do-not-log" } }, "junk", good[1]] };
    const { batch, messages } = batchOf([pack]);
    await consumeUsageBatch(batch, env);
    expect(messages.map((m) => [m.acked, m.retried])).toEqual([[true, null]]);
    const { results } = await db().prepare("SELECT request_id FROM usage_events ORDER BY request_id").all();
    expect(results).toEqual(good.map((g) => ({ request_id: g.request_id })).sort((a, b) => a.request_id.localeCompare(b.request_id)));
    const logged = log.mock.calls.map((c) => String(c[0]));
    expect(logged).toHaveLength(2);
    expect(JSON.parse(logged[0]!)).toMatchObject({
      requestId: "req_bad",
      detail: expect.stringMatching(/ event 1$/),
      message: "tenant_id: Invalid input: expected string, received number",
    });
    expect(JSON.parse(logged[1]!)).not.toHaveProperty("requestId");
    expect(JSON.parse(logged[1]!)).toMatchObject({ detail: expect.stringMatching(/ event 2$/) });
    expect(logged.join("\n")).not.toContain("sk-do-not-log");
    log.mockRestore();
  });

  it("consumes packs and old single-event messages in the same delivery", async () => {
    const single = event({ key_id: "key_single" });
    const packed = [event(), event({ key_id: "key_2" })];
    const { batch, messages } = batchOf([single, packOf(packed), { request_id: "req_broken" }]);
    await consumeUsageBatch(batch, env);
    expect(messages.every((m) => m.acked && m.retried === null)).toBe(true);
    const { results } = await db().prepare("SELECT key_id, requests FROM usage_monthly ORDER BY key_id").all();
    expect(results).toEqual([
      { key_id: "key_1", requests: 1 },
      { key_id: "key_2", requests: 1 },
      { key_id: "key_single", requests: 1 },
    ]);
  });

  it("acks a message that claims to be a pack but is not one, and an empty pack", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const { batch, messages } = batchOf([{ v: 1, events: "nope" }, { events: [event()] }, { v: 1, events: [] }]);
    await consumeUsageBatch(batch, env);
    expect(messages.map((m) => [m.acked, m.retried])).toEqual([
      [true, null],
      [true, null],
      [true, null],
    ]);
    expect(await countEvents()).toBe(0);
    expect(log).toHaveBeenCalledTimes(2);
    log.mockRestore();
  });

  it("retries a pack of a newer version instead of dropping it, and stores the rest", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const { batch, messages } = batchOf([{ v: 2, events: [event()], extra: "future field" }, packOf([event()])], 2);
    await consumeUsageBatch(batch, env);
    expect(messages.map((m) => [m.acked, m.retried])).toEqual([
      [false, { delaySeconds: 4 }],
      [true, null],
    ]);
    expect(await countEvents()).toBe(1);
    log.mockRestore();
  });

  it("retries a whole pack with backoff when D1 fails", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const failing = failingDb(1);
    const { batch, messages } = batchOf([packOf([event(), event(), event()]), event()], 1);
    await consumeUsageBatch(batch, failing.env);
    expect(messages.map((m) => [m.acked, m.retried])).toEqual([
      [false, { delaySeconds: 2 }],
      [false, { delaySeconds: 2 }],
    ]);
    expect(await countEvents()).toBe(0);
    log.mockRestore();
  });

  it("changes neither usage_events nor usage_monthly when a pack is delivered again (also after a partial write)", async () => {
    const events = [event(), event({ key_id: "key_2" }), event({ started_at: Date.UTC(2026, 11, 2) }), event(), event()];
    const pack = packOf(events);
    await consumeUsageBatch(batchOf([pack]).batch, env, 1);
    const once = await tables();
    expect(once.events).toHaveLength(5);

    const again = batchOf([pack, pack], 2);
    await consumeUsageBatch(again.batch, env, 2);
    expect(again.messages.every((m) => m.acked)).toBe(true);
    expect(await tables()).toEqual(once);

    // A pack whose first delivery stored only some rows: redelivered whole, the rest is added once.
    await db().batch([db().prepare("DELETE FROM usage_events"), db().prepare("DELETE FROM usage_monthly")]);
    await consumeUsageBatch(batchOf([packOf(events.slice(0, 2))]).batch, env, 1);
    await consumeUsageBatch(batchOf([pack]).batch, env, 1);
    expect(await tables()).toEqual(once);
  });

  it("writes a large delivery in bounded transactions, acking what was written and retrying the rest when D1 fails midway", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    // 9 packs of 100 events: more rows than one write holds.
    const packs = Array.from({ length: 9 }, (_, p) => packOf(Array.from({ length: 100 }, (_, i) => event({ request_id: `req_${p}_${i}` }))));
    expect(900).toBeGreaterThan(2 * MAX_ROWS_PER_WRITE);
    const failing = failingDb(2);
    const first = batchOf(packs);
    await consumeUsageBatch(first.batch, failing.env);
    const written = first.messages.filter((m) => m.acked).length;
    expect(written).toBe(MAX_ROWS_PER_WRITE / 100);
    expect(first.messages.slice(written).every((m) => !m.acked && m.retried !== null)).toBe(true);
    expect(await countEvents()).toBe(written * 100);

    const retried = batchOf(packs.slice(written), 2);
    await consumeUsageBatch(retried.batch, env);
    expect(retried.messages.every((m) => m.acked)).toBe(true);
    expect(await countEvents()).toBe(900);
    const rollup = await db().prepare("SELECT requests, cost_usd_micros FROM usage_monthly").first();
    expect(rollup).toEqual({ requests: 900, cost_usd_micros: 900 * 435 });
    log.mockRestore();
  });
});

describe("usage-events consumer: every token kind once, every event once", () => {
  const rollupOf = (keyId: string) =>
    db()
      .prepare(
        `SELECT SUM(requests) AS requests, SUM(prompt_tokens) AS prompt, SUM(cached_tokens) AS cached, SUM(cache_write_tokens) AS cache_write,
                SUM(completion_tokens) AS completion, SUM(reasoning_tokens) AS reasoning, SUM(cost_usd_micros) AS micros
         FROM usage_rollups WHERE width = 60 AND key_id = ?`,
      )
      .bind(keyId)
      .first();

  it("prices cache reads, cache writes and reasoning once each at their own rate, and rolls each kind up", async () => {
    await db()
      .prepare(
        "INSERT INTO prices (model, provider, input_per_mtok_micros, output_per_mtok_micros, cached_input_per_mtok_micros, cache_write_per_mtok_micros, updated_at) VALUES ('claude-test', 'anthropic', 3000000, 15000000, 300000, 3750000, 0)",
      )
      .run();
    // Anthropic-shaped usage, normalised: 21 uncached + 2048 read + 1024 written = 3093 prompt; 212 output of which 200 thinking.
    const e = event({
      key_id: "key_kinds",
      provider: "anthropic",
      model: "claude-test",
      prompt_tokens: 3093,
      cached_tokens: 2048,
      cache_write_tokens: 1024,
      completion_tokens: 212,
      reasoning_tokens: 200,
      total_tokens: 3305,
    });
    await consumeUsageBatch(batchOf([e]).batch, env);
    // 21 × 3 + 2048 × 0.3 + 1024 × 3.75 + 212 × 15 = 63 + 614.4 + 3840 + 3180 = 7697.4 µ$ → 7698 (one rounding up).
    const row = await db().prepare("SELECT * FROM usage_events WHERE request_id = ?").bind(e.request_id).first();
    expect(row).toMatchObject({
      prompt_tokens: 3093,
      cached_tokens: 2048,
      cache_write_tokens: 1024,
      completion_tokens: 212,
      reasoning_tokens: 200,
      cost_usd_micros: 7698,
    });
    expect(await db().prepare("SELECT cache_write_tokens, cost_usd_micros FROM usage_monthly WHERE key_id = 'key_kinds'").first()).toEqual({
      cache_write_tokens: 1024,
      cost_usd_micros: 7698,
    });
    expect(await rollupOf("key_kinds")).toEqual({ requests: 1, prompt: 3093, cached: 2048, cache_write: 1024, completion: 212, reasoning: 200, micros: 7698 });
  });

  it("an event without cache_write_tokens (produced before they existed) is stored with 0", async () => {
    const { cache_write_tokens: _, ...old } = event({ key_id: "key_old" }) as UsageEvent & { cache_write_tokens?: number };
    await consumeUsageBatch(batchOf([old]).batch, env);
    expect(await db().prepare("SELECT cache_write_tokens, cost_usd_micros FROM usage_events WHERE key_id = 'key_old'").first()).toEqual({
      cache_write_tokens: 0,
      cost_usd_micros: 435,
    });
  });

  it("a delivery that fails midway, then is redelivered whole (at least once), counts every event exactly once in events and both rollups", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const events = Array.from({ length: 5 * 100 }, (_, i) =>
      event({ request_id: `req_retry_${i}`, key_id: "key_retry", started_at: Date.UTC(2026, 10, 30, 12) }),
    );
    const packs = Array.from({ length: 5 }, (_, p) => packOf(events.slice(p * 100, p * 100 + 100)));
    const failing = failingDb(2);
    const first = batchOf(packs);
    await consumeUsageBatch(first.batch, failing.env);
    // Some messages were written and acked, the rest are retried: none is lost, none dropped.
    expect(first.messages.some((m) => m.acked)).toBe(true);
    expect(first.messages.every((m) => m.acked !== (m.retried !== null))).toBe(true);
    expect(first.messages.some((m) => m.retried !== null)).toBe(true);

    // The Queue delivers at least once: every message again, acked ones included.
    const again = batchOf(packs, 2);
    await consumeUsageBatch(again.batch, env);
    expect(again.messages.every((m) => m.acked)).toBe(true);

    expect(await db().prepare("SELECT COUNT(*) AS n, SUM(cost_usd_micros) AS micros FROM usage_events WHERE key_id = 'key_retry'").first()).toEqual({
      n: 500,
      micros: 500 * 435,
    });
    expect(await db().prepare("SELECT requests, cost_usd_micros FROM usage_monthly WHERE key_id = 'key_retry'").first()).toEqual({
      requests: 500,
      cost_usd_micros: 500 * 435,
    });
    expect(await rollupOf("key_retry")).toEqual({
      requests: 500,
      prompt: 500 * 1000,
      cached: 500 * 200,
      cache_write: 0,
      completion: 500 * 500,
      reasoning: 0,
      micros: 500 * 435,
    });
    log.mockRestore();
  });
});
