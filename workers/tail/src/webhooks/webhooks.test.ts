import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MAX_WEBHOOKS_PER_TENANT, type WebhookDelivery } from "../../../shared/src/contracts/webhooks";
import { webhookSignature } from "../../../shared/src/webhooks/signature";
import { retryDelaySeconds, WebhookDeliverer, type Fetcher } from "./delivery";
import { TenantEventEmitter } from "./emitter";
import { WebhookRegistry } from "./registry";

/**
 * tail's webhook endpoints, emitter and delivery consumer against the real D1 schema, with tail's
 * own config: ALLOW_PRIVATE_UPSTREAMS is not set, as in production. The secrets Worker is a
 * stand-in here (vitest.config.ts); its real envelope is tested in secrets' project and end to end
 * in test/system/webhooks.system.test.ts. No test here sends a request anywhere: receivers are
 * fake fetchers and the Queue a recorder.
 */
const env = workerEnv as unknown as TailEnv & { TEST_MIGRATIONS: D1Migration[] };
const NOW = Date.UTC(2026, 11, 6, 7, 0, 0);
const now = () => NOW;

beforeAll(async () => {
  await applyD1Migrations(env.TAIL_DB, env.TEST_MIGRATIONS);
});
beforeEach(async () => {
  await env.TAIL_DB.prepare("DELETE FROM webhook_endpoints").run();
});

const registry = () => new WebhookRegistry(env, now);

async function register(tenantId: string, input: Record<string, unknown> = {}) {
  const created = await registry().create(tenantId, "key_1", { url: "https://hooks.example.com/in", ...input });
  if (!created.ok) throw new Error(created.error.message);
  return created.value;
}

/** A recording stand-in for the `webhooks` Queue producer. */
function recordingQueue(): { queue: Queue; sent: WebhookDelivery[] } {
  const sent: WebhookDelivery[] = [];
  const queue = {
    send: async (body: WebhookDelivery) => void sent.push(body),
    sendBatch: async (messages: Iterable<MessageSendRequest<WebhookDelivery>>) => void sent.push(...[...messages].map((m) => m.body)),
  } as unknown as Queue;
  return { queue, sent };
}

interface FakeMessage extends Message<unknown> {
  acked: boolean;
  retried: { delaySeconds?: number } | null;
}

function message(body: unknown, attempts: number): FakeMessage {
  const m = {
    id: `msg-${attempts}`,
    timestamp: new Date(NOW),
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
  return m as unknown as FakeMessage;
}

/** A receiver that answers each request with the next status, recording what it got. */
function receiver(statuses: number[]): { fetcher: Fetcher; got: { url: string; init: RequestInit }[] } {
  const got: { url: string; init: RequestInit }[] = [];
  const fetcher: Fetcher = async (url, init) => {
    got.push({ url, init });
    const status = statuses[Math.min(got.length - 1, statuses.length - 1)]!;
    return new Response(status === 302 ? null : "ok", { status, headers: status === 302 ? { location: "http://169.254.169.254/" } : {} });
  };
  return { fetcher, got };
}

describe("registering endpoints", () => {
  it("returns the signing secret once; reads never return it, and D1 holds only its sealed envelope", async () => {
    const created = await register("ten_a", { events: ["batch.completed"], description: "prod" });
    expect(created).toMatchObject({
      object: "webhook_endpoint",
      url: "https://hooks.example.com/in",
      events: ["batch.completed"],
      description: "prod",
      created_at: NOW / 1000,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    const got = await registry().get("ten_a", created.id);
    expect(got).toEqual({
      ok: true,
      value: { id: created.id, object: "webhook_endpoint", url: created.url, events: ["batch.completed"], description: "prod", created_at: NOW / 1000 },
    });
    const listed = await registry().list("ten_a");
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    const row = await env.TAIL_DB.prepare("SELECT * FROM webhook_endpoints WHERE id = ?").bind(created.id).first<Record<string, unknown>>();
    expect(row).toMatchObject({ tenant_id: "ten_a", created_by: "key:key_1", events: '["batch.completed"]', secret_envelope: expect.any(String) });
  });

  it("subscribes to every event type when no events are given", async () => {
    expect(await register("ten_a")).toMatchObject({ events: ["*"], description: null });
  });

  it("refuses private, loopback, metadata and plain-http URLs when private upstreams are not allowed", async () => {
    for (const url of [
      "https://127.0.0.1/hook",
      "https://10.0.0.8/hook",
      "https://169.254.169.254/latest",
      "https://localhost/hook",
      "http://hooks.example.com/in",
      "https://hooks.example.com:8080/in",
    ]) {
      const res = await registry().create("ten_a", "key_1", { url });
      expect(res).toMatchObject({ ok: false, error: { code: "invalid_request", param: "url", message: expect.stringContaining("The webhook URL") } });
    }
    expect(await registry().list("ten_a")).toEqual({ ok: true, value: { object: "list", data: [] } });
  });

  it("bounds what a tenant controls: URL length, description, event names, repeats, and the number of endpoints", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ url: `https://hooks.example.com/${"a".repeat(2048)}` }, "url"],
      [{ url: "https://hooks.example.com/in", description: "d".repeat(513) }, "description"],
      [{ url: "https://hooks.example.com/in", events: ["batch.exploded"] }, "events[0]"],
      [{ url: "https://hooks.example.com/in", events: ["batch.failed", "batch.failed"] }, "events"],
      [{ url: "https://hooks.example.com/in", events: [] }, "events"],
      [{ url: "https://hooks.example.com/in", secret: "whsec_mine" }, "secret"],
    ];
    for (const [input, param] of cases) {
      expect(await registry().create("ten_a", "key_1", input)).toMatchObject({ ok: false, error: { code: "invalid_request", param } });
    }
    for (let i = 0; i < MAX_WEBHOOKS_PER_TENANT; i++) await register("ten_a");
    expect(await registry().create("ten_a", "key_1", { url: "https://hooks.example.com/in" })).toMatchObject({
      ok: false,
      error: { code: "conflict", message: expect.stringContaining(`${MAX_WEBHOOKS_PER_TENANT} webhook endpoints`) },
    });
    // Another tenant is not limited by this one's endpoints.
    expect((await registry().create("ten_b", "key_1", { url: "https://hooks.example.com/in" })).ok).toBe(true);
  });

  it("keeps tenants apart: another tenant's endpoint is not found, cannot be deleted, and is not listed", async () => {
    const mine = await register("ten_a");
    const notFound = { ok: false, error: { code: "not_found", param: "id" } };
    expect(await registry().get("ten_b", mine.id)).toMatchObject(notFound);
    expect(await registry().delete("ten_b", mine.id)).toMatchObject(notFound);
    expect(await registry().list("ten_b")).toEqual({ ok: true, value: { object: "list", data: [] } });
    expect(await registry().delete("ten_a", mine.id)).toEqual({ ok: true, value: { id: mine.id, object: "webhook_endpoint", deleted: true } });
    expect(await registry().get("ten_a", mine.id)).toMatchObject(notFound);
  });
});

describe("emitting events", () => {
  it("queues one delivery per subscribed endpoint of that tenant, with OpenAI's event payload and a stable id", async () => {
    const all = await register("ten_a");
    const completedOnly = await register("ten_a", { events: ["batch.completed"] });
    await register("ten_a", { events: ["batch.failed"] });
    await register("ten_b");
    const { queue, sent } = recordingQueue();
    const emitter = new TenantEventEmitter({ ...env, WEBHOOKS: queue }, now);
    const input = { tenant_id: "ten_a", type: "batch.completed", data: { id: "batch_1" }, dedupe_key: "batch_1" };
    const first = await emitter.emit(input);
    expect(first).toEqual({ ok: true, value: { event_id: expect.stringMatching(/^evt_[0-9a-f]{32}$/), deliveries: 2 } });
    expect(sent.map((d) => d.endpoint_id).sort()).toEqual([all.id, completedOnly.id].sort());
    expect(JSON.parse(sent[0]!.body)).toEqual({
      id: first.ok && first.value.event_id,
      object: "event",
      type: "batch.completed",
      created_at: NOW / 1000,
      data: { id: "batch_1" },
    });
    // The same emitter work done twice (a retried hook) is the same event id: receivers de-duplicate it.
    expect(await emitter.emit(input)).toEqual(first);
    const other = await emitter.emit({ ...input, dedupe_key: "batch_2", data: { id: "batch_2" } });
    expect(other.ok && other.value.event_id).not.toBe(first.ok && first.value.event_id);
  });

  it("refuses unknown event types and queues nothing for a tenant without endpoints", async () => {
    const { queue, sent } = recordingQueue();
    const emitter = new TenantEventEmitter({ ...env, WEBHOOKS: queue }, now);
    expect(await emitter.emit({ tenant_id: "ten_a", type: "batch.exploded", data: { id: "b" } })).toMatchObject({ ok: false, error: { param: "type" } });
    expect(await emitter.emit({ tenant_id: "ten_z", type: "batch.failed", data: { id: "b" } })).toMatchObject({ ok: true, value: { deliveries: 0 } });
    expect(sent).toEqual([]);
  });
});

describe("delivering", () => {
  async function queued(tenantId = "ten_a") {
    const endpoint = await register(tenantId);
    const { queue, sent } = recordingQueue();
    await new TenantEventEmitter({ ...env, WEBHOOKS: queue }, now).emit({ tenant_id: tenantId, type: "batch.completed", data: { id: "batch_9" } });
    return { endpoint, delivery: sent[0]! };
  }

  it("retries a failing receiver with exponential backoff and the same webhook-id, then acknowledges its 200", async () => {
    const { endpoint, delivery } = await queued();
    const { fetcher, got } = receiver([500, 503, 200]);
    const deliverer = new WebhookDeliverer(env, fetcher, now);
    const attempts = [message(delivery, 1), message(delivery, 2), message(delivery, 3)];
    for (const m of attempts) await deliverer.deliver(m);
    // tail's wrangler.toml: WEBHOOK_RETRY_BASE_SECONDS = 30.
    expect(attempts.map((m) => [m.acked, m.retried])).toEqual([
      [false, { delaySeconds: 30 }],
      [false, { delaySeconds: 60 }],
      [true, null],
    ]);
    expect(got).toHaveLength(3);
    for (const { url, init } of got) {
      const headers = init.headers as Record<string, string>;
      expect(url).toBe(endpoint.url);
      expect(init).toMatchObject({ method: "POST", redirect: "manual", body: delivery.body });
      expect(headers["webhook-id"]).toBe(delivery.event_id);
      expect(headers["webhook-timestamp"]).toBe(String(NOW / 1000));
      expect(headers["webhook-signature"]).toBe(await webhookSignature(endpoint.secret, delivery.event_id, NOW / 1000, delivery.body));
    }
  });

  it("follows no redirect: a 3xx is a failed attempt, retried, and its location is never requested", async () => {
    const { delivery } = await queued();
    const { fetcher, got } = receiver([302]);
    const m = message(delivery, 1);
    expect(await new WebhookDeliverer(env, fetcher, now).deliver(m)).toEqual({ result: "retry", delaySeconds: 30, reason: "redirect 302 not followed" });
    expect(got.map((g) => g.url)).toEqual(["https://hooks.example.com/in"]);
    expect(m.retried).toEqual({ delaySeconds: 30 });
  });

  it("retries when the receiver cannot be reached", async () => {
    const { delivery } = await queued();
    const m = message(delivery, 4);
    const failing: Fetcher = async () => {
      throw new TypeError("connection refused");
    };
    expect(await new WebhookDeliverer(env, failing, now).deliver(m)).toEqual({
      result: "retry",
      delaySeconds: 240,
      reason: "the endpoint could not be reached",
    });
  });

  it("re-checks the URL at delivery: an endpoint now pointing at a private address is dropped without a request", async () => {
    const { endpoint, delivery } = await queued();
    await env.TAIL_DB.prepare("UPDATE webhook_endpoints SET url = 'http://127.0.0.1:9/hook' WHERE id = ?").bind(endpoint.id).run();
    const { fetcher, got } = receiver([200]);
    const m = message(delivery, 1);
    expect(await new WebhookDeliverer(env, fetcher, now).deliver(m)).toMatchObject({ result: "dropped", reason: expect.stringContaining("must use https") });
    expect(m.acked).toBe(true);
    expect(got).toEqual([]);
  });

  it("drops deliveries of a deleted endpoint and malformed messages without a request", async () => {
    const { endpoint, delivery } = await queued();
    await registry().delete("ten_a", endpoint.id);
    const { fetcher, got } = receiver([200]);
    const deliverer = new WebhookDeliverer(env, fetcher, now);
    const gone = message(delivery, 1);
    expect(await deliverer.deliver(gone)).toEqual({ result: "dropped", reason: "the endpoint was deleted" });
    const junk = message({ endpoint_id: "../x" }, 1);
    expect(await deliverer.deliver(junk)).toEqual({ result: "dropped", reason: "malformed delivery message" });
    expect([gone.acked, junk.acked, got.length]).toEqual([true, true, 0]);
  });

  it("never delivers one tenant's event to another tenant's endpoint, even with a forged message", async () => {
    const { delivery } = await queued("ten_a");
    const { fetcher, got } = receiver([200]);
    const forged = message({ ...delivery, tenant_id: "ten_b" }, 1);
    expect(await new WebhookDeliverer(env, fetcher, now).deliver(forged)).toEqual({ result: "dropped", reason: "the endpoint was deleted" });
    expect(got).toEqual([]);
  });
});

describe("retry schedule", () => {
  it("doubles from the base delay and stops growing at one hour", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((n) => retryDelaySeconds(n, 30))).toEqual([30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600]);
    expect(retryDelaySeconds(1, 1)).toBe(1);
    expect(retryDelaySeconds(500, 30)).toBe(3600);
  });
});
