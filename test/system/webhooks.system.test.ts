import { InvalidWebhookSignatureError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CreatedWebhookEndpoint, EmittedTenantEvent, WebhookEndpoint } from "../../workers/shared/src/contracts/webhooks";
import type { Result } from "../../workers/shared/src/result";
import { newWebhookSecret, signWebhook } from "../../workers/shared/src/webhooks/signature";
import { startCoreStack } from "../fake-upstream/stack";
import type { FakeUpstream } from "../fake-upstream/server";
import { advanceBatchClock, batchReaching, chatLines, jsonl, resultLines, uploadBatchFile } from "../support/batches";
import { clientFor, openaiClient } from "../support/clients";
import { expectError } from "../support/errors";
import { gatewayFetch } from "../support/fetch";
import { uniqueModel } from "../support/names";
import type { Stack } from "../support/stack";
import { dumpAllStores } from "../support/stores";
import { tenantWithKey } from "../support/tenants";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver";

/**
 * Tenant webhooks end to end: registration through the gateway (`/v1/webhooks`), endpoints owned by
 * tail, secrets sealed by the secrets Worker, deliveries through the `webhooks` Queue to a receiver
 * on loopback, verified with the `openai` SDK's `webhooks.unwrap` exactly as a tenant's server would;
 * batches (run against the fake upstream) send their terminal events through it.
 */
let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
const receivers: WebhookReceiver[] = [];
beforeAll(async () => {
  ({ stack, upstream, close } = await startCoreStack());
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await close?.();
});

const sdk = () => openaiClient(stack, "sk-unused");
const writer = () => tenantWithKey(stack, { scopes: ["chat", "webhooks:write"] });

async function register(apiKey: string, body: Record<string, unknown>): Promise<CreatedWebhookEndpoint> {
  const res = await gatewayFetch(stack, "/v1/webhooks", { key: apiKey, body });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return JSON.parse(text) as CreatedWebhookEndpoint;
}

async function receiver(statuses?: number[]): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver(statuses);
  receivers.push(r);
  return r;
}

/**
 * Emits a tenant event the way another Worker does: billing's `TENANT_EVENTS` binding (tail's
 * `TenantEvents` entrypoint), for event types and cases no batch produces here.
 */
async function emit(input: { tenant_id: string; type: string; data: { id: string }; dedupe_key?: string }): Promise<EmittedTenantEvent> {
  const env = (await stack.harness.getWorker("billing").getEnv()) as { TENANT_EVENTS: { emit(i: unknown): Promise<Result<EmittedTenantEvent>> } };
  const res = await env.TENANT_EVENTS.emit(input);
  if (!res.ok) throw new Error(res.error.message);
  return res.value;
}

const headersOf = (h: Record<string, string | string[] | undefined>) =>
  Object.fromEntries(Object.entries(h).flatMap(([k, v]) => (typeof v === "string" ? [[k, v]] : [])));

describe("signing (Standard Webhooks, as the openai SDK verifies it)", () => {
  const body = JSON.stringify({
    id: "evt_0123456789abcdef0123456789abcdef",
    object: "event",
    type: "batch.completed",
    created_at: 1765000000,
    data: { id: "batch_1" },
  });
  const id = "evt_0123456789abcdef0123456789abcdef";

  it("verifies with webhooks.unwrap and yields OpenAI's batch event", async () => {
    const secret = newWebhookSecret();
    const { headers } = await signWebhook({ secret, id, body, timestamp: Date.now() / 1000 });
    expect(await sdk().webhooks.unwrap(body, headers, secret)).toEqual({
      id,
      object: "event",
      type: "batch.completed",
      created_at: 1765000000,
      data: { id: "batch_1" },
    });
  });

  it("is rejected for a tampered body, another secret, or a timestamp older than the SDK's 5 minutes", async () => {
    const secret = newWebhookSecret();
    const fresh = await signWebhook({ secret, id, body, timestamp: Date.now() / 1000 });
    await expect(sdk().webhooks.unwrap(body.replace("batch_1", "batch_2"), fresh.headers, secret)).rejects.toThrow(InvalidWebhookSignatureError);
    await expect(sdk().webhooks.unwrap(body, fresh.headers, newWebhookSecret())).rejects.toThrow(/does not match/);
    const stale = await signWebhook({ secret, id, body, timestamp: Date.now() / 1000 - 301 });
    await expect(sdk().webhooks.unwrap(body, stale.headers, secret)).rejects.toThrow(/too old/);
  });
});

describe("/v1/webhooks", () => {
  it("registers an endpoint and shows its secret once: reads and stores never reveal it", async () => {
    const { apiKey } = await writer();
    const created = await register(apiKey, { url: "https://hooks.example.com/openai", events: ["batch.completed", "batch.failed"], description: "prod" });
    expect(created).toEqual({
      id: expect.stringMatching(/^wh_[0-9A-Za-z]{22}$/),
      object: "webhook_endpoint",
      url: "https://hooks.example.com/openai",
      events: ["batch.completed", "batch.failed"],
      description: "prod",
      created_at: expect.any(Number),
      secret: expect.stringMatching(/^whsec_/),
    });
    const { secret, ...view } = created;
    const got = await gatewayFetch(stack, `/v1/webhooks/${created.id}`, { key: apiKey });
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual(view);
    const listed = await gatewayFetch(stack, "/v1/webhooks", { key: apiKey });
    expect(await listed.json()).toEqual({ object: "list", data: [view] });
    expect(await dumpAllStores(stack)).not.toContain(secret.slice("whsec_".length));
    expect(JSON.stringify(stack.harness.getLogs())).not.toContain(secret.slice("whsec_".length));
  });

  it("needs webhooks:write to register or delete (not a default scope) and webhooks:read or write to read", async () => {
    const { tenant, apiKey } = await writer();
    const created = await register(apiKey, { url: "https://hooks.example.com/in" });
    const defaults = await tenantWithKey(stack);
    expect(defaults.key.scopes).toContain("webhooks:read");
    expect(defaults.key.scopes).not.toContain("webhooks:write");
    const chatOnly = await tenantWithKey(stack, { scopes: ["chat"] });
    expect(
      (
        await expectError(
          await gatewayFetch(stack, "/v1/webhooks", { key: defaults.apiKey, body: { url: "https://hooks.example.com/x" } }),
          403,
          "permission_denied",
        )
      ).message,
    ).toContain("webhooks:write");
    await expectError(await gatewayFetch(stack, "/v1/webhooks", { key: chatOnly.apiKey }), 403, "permission_denied");
    // A reader of the same tenant sees it; it cannot delete it.
    const reader = await gatewayFetch(stack, "/admin/tenants/" + tenant.id + "/keys", { admin: true, body: { scopes: ["webhooks:read"] } });
    const readerKey = ((await reader.json()) as { key: string }).key;
    expect(((await (await gatewayFetch(stack, "/v1/webhooks", { key: readerKey })).json()) as { data: WebhookEndpoint[] }).data.map((e) => e.id)).toEqual([
      created.id,
    ]);
    await expectError(await gatewayFetch(stack, `/v1/webhooks/${created.id}`, { key: readerKey, method: "DELETE" }), 403, "permission_denied");
  });

  it("refuses bad input with OpenAI's error naming the param", async () => {
    const { apiKey } = await writer();
    const cases: [Record<string, unknown>, string][] = [
      [{}, "url"],
      [{ url: "not a url" }, "url"],
      [{ url: "https://169.254.169.254/latest/meta-data" }, "url"],
      [{ url: "https://hooks.example.com/in", events: ["fine_tuning.job.succeeded"] }, "events[0]"],
      [{ url: "https://hooks.example.com/in", extra: true }, "extra"],
    ];
    for (const [body, param] of cases) {
      expect((await expectError(await gatewayFetch(stack, "/v1/webhooks", { key: apiKey, body }), 400, "invalid_request")).param).toBe(param);
    }
  });

  it("keeps tenants apart: another tenant's endpoint is a 404 to get and delete, and absent from its list", async () => {
    const a = await writer();
    const b = await writer();
    const created = await register(a.apiKey, { url: "https://hooks.example.com/a" });
    await expectError(await gatewayFetch(stack, `/v1/webhooks/${created.id}`, { key: b.apiKey }), 404, "not_found");
    await expectError(await gatewayFetch(stack, `/v1/webhooks/${created.id}`, { key: b.apiKey, method: "DELETE" }), 404, "not_found");
    expect(await (await gatewayFetch(stack, "/v1/webhooks", { key: b.apiKey })).json()).toEqual({ object: "list", data: [] });
    const deleted = await gatewayFetch(stack, `/v1/webhooks/${created.id}`, { key: a.apiKey, method: "DELETE" });
    expect(await deleted.json()).toEqual({ id: created.id, object: "webhook_endpoint", deleted: true });
    await expectError(await gatewayFetch(stack, `/v1/webhooks/${created.id}`, { key: a.apiKey }), 404, "not_found");
  });

  it("is documented in the OpenAPI document", async () => {
    const doc = (await (await gatewayFetch(stack, "/openapi.json")).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths["/v1/webhooks"] ?? {}).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/v1/webhooks/{id}"] ?? {}).sort()).toEqual(["delete", "get"]);
  });
});

describe("delivery", () => {
  it("delivers a tenant event signed for the SDK, retrying a failing receiver with the same event id", async () => {
    const { tenant, apiKey } = await writer();
    const hook = await receiver([503, 200]);
    const endpoint = await register(apiKey, { url: hook.url, events: ["batch.completed"] });
    const emitted = await emit({ tenant_id: tenant.id, type: "batch.completed", data: { id: "batch_webhook_1" }, dedupe_key: "batch_webhook_1" });
    expect(emitted).toEqual({ event_id: expect.stringMatching(/^evt_/), deliveries: 1 });

    const [failed, accepted] = await hook.waitFor(2);
    expect([failed!.status, accepted!.status]).toEqual([503, 200]);
    expect(accepted!.headers["webhook-id"]).toBe(emitted.event_id);
    expect(failed!.headers["webhook-id"]).toBe(emitted.event_id);
    expect(accepted!.body).toBe(failed!.body);
    const event = await sdk().webhooks.unwrap(accepted!.body, headersOf(accepted!.headers), endpoint.secret);
    expect(event).toEqual({ id: emitted.event_id, object: "event", type: "batch.completed", created_at: expect.any(Number), data: { id: "batch_webhook_1" } });
    // The first attempt was signed validly too; the receiver chose to fail it.
    await expect(sdk().webhooks.unwrap(failed!.body, headersOf(failed!.headers), endpoint.secret)).resolves.toEqual(event);
  });

  it("sends each endpoint only the event types it subscribed to, and nothing to other tenants", async () => {
    const a = await writer();
    const b = await writer();
    const failedOnly = await receiver();
    const everything = await receiver();
    const otherTenant = await receiver();
    await register(a.apiKey, { url: failedOnly.url, events: ["batch.failed"] });
    const all = await register(a.apiKey, { url: everything.url });
    await register(b.apiKey, { url: otherTenant.url });
    await emit({ tenant_id: a.tenant.id, type: "batch.cancelled", data: { id: "batch_c" } });
    const failed = await emit({ tenant_id: a.tenant.id, type: "batch.failed", data: { id: "batch_f" } });
    const [cancelledDelivery, failedDelivery] = await everything.waitFor(2);
    const [onlyFailed] = await failedOnly.waitFor(1);
    const types = [cancelledDelivery!, failedDelivery!].map((d) => (JSON.parse(d.body) as { type: string }).type).sort();
    expect(types).toEqual(["batch.cancelled", "batch.failed"]);
    expect(
      await sdk()
        .webhooks.unwrap(onlyFailed!.body, headersOf(onlyFailed!.headers), all.secret)
        .catch((e: Error) => e),
    ).toBeInstanceOf(InvalidWebhookSignatureError);
    expect(JSON.parse(onlyFailed!.body)).toMatchObject({ id: failed.event_id, type: "batch.failed", data: { id: "batch_f" } });
    expect(failedOnly.received).toHaveLength(1);
    expect(otherTenant.received).toEqual([]);
  });
});

describe("batch events", () => {
  it("a completed batch sends batch.completed, which verifies with the SDK's webhooks.unwrap", async () => {
    const { client, apiKey } = await clientFor(stack, { scopes: ["chat", "batch", "webhooks:write"] });
    const hook = await receiver();
    const endpoint = await register(apiKey, { url: hook.url, events: ["batch.completed", "batch.failed"] });
    const file = await uploadBatchFile(client, jsonl(chatLines(`fake/${uniqueModel("webhook-batch")}`, 2)));
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    const done = await batchReaching(client, batch.id, "completed");
    const [delivery] = await hook.waitFor(1);
    const event = await sdk().webhooks.unwrap(delivery!.body, headersOf(delivery!.headers), endpoint.secret);
    expect(event).toEqual({
      id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      object: "event",
      type: "batch.completed",
      created_at: expect.any(Number),
      data: { id: batch.id },
    });
    expect(event.created_at).toBeGreaterThanOrEqual(done.completed_at!);
    expect(delivery!.headers["webhook-id"]).toBe(event.id);
    expect(hook.received).toHaveLength(1);
  });

  it("a batch that reaches the end of its completion window sends batch.expired (the test clock moves past it), verified with webhooks.unwrap", async () => {
    const { client, apiKey } = await clientFor(stack, { scopes: ["chat", "batch", "webhooks:write"] });
    const hook = await receiver();
    const completions = await receiver();
    const endpoint = await register(apiKey, { url: hook.url, events: ["batch.expired"] });
    await register(apiKey, { url: completions.url, events: ["batch.completed", "batch.cancelled"] });
    const held = uniqueModel("webhook-expire-held");
    const gate = upstream.hold(held, 0);
    const file = await uploadBatchFile(client, jsonl(chatLines(`fake/${held}`, 1, "held")));
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    await gate.reached;
    await advanceBatchClock(stack, batch.id, 24 * 3600 * 1000);
    const expired = await client.batches.retrieve(batch.id);
    gate.release();
    expect(expired.status).toBe("expired");
    const [delivery] = await hook.waitFor(1);
    const event = await sdk().webhooks.unwrap(delivery!.body, headersOf(delivery!.headers), endpoint.secret);
    expect(event).toEqual({
      id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      object: "event",
      type: "batch.expired",
      created_at: expect.any(Number),
      data: { id: batch.id },
    });
    expect(delivery!.headers["webhook-id"]).toBe(event.id);
    // The event names the batch; what the tenant then reads is the expired batch, its unfinished line an error line.
    const errors = await resultLines(client, expired.error_file_id);
    expect(errors.map((l) => [l.custom_id, l.error?.code])).toEqual([["held-1", "batch_expired"]]);
    expect(hook.received).toHaveLength(1);
    expect(completions.received).toEqual([]);
  });

  it("a cancelled batch sends batch.cancelled once its in-flight lines are in, verified with webhooks.unwrap", async () => {
    const { client, apiKey } = await clientFor(stack, { scopes: ["chat", "batch", "webhooks:write"] });
    const hook = await receiver();
    const expiries = await receiver();
    const endpoint = await register(apiKey, { url: hook.url, events: ["batch.cancelled"] });
    await register(apiKey, { url: expiries.url, events: ["batch.expired", "batch.completed"] });
    const model = uniqueModel("webhook-cancel");
    const gate = upstream.hold(model, 0);
    const file = await uploadBatchFile(client, jsonl(chatLines(`fake/${model}`, 25)));
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    await gate.reached;
    expect((await client.batches.cancel(batch.id)).status).toBe("cancelling");
    // Nothing is sent while the batch is only cancelling: its in-flight lines are still held upstream.
    expect(hook.received).toEqual([]);
    gate.release();
    const cancelled = await batchReaching(client, batch.id, "cancelled");
    const [delivery] = await hook.waitFor(1);
    const event = await sdk().webhooks.unwrap(delivery!.body, headersOf(delivery!.headers), endpoint.secret);
    expect(event).toEqual({
      id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      object: "event",
      type: "batch.cancelled",
      created_at: expect.any(Number),
      data: { id: batch.id },
    });
    expect(event.created_at).toBeGreaterThanOrEqual(cancelled.cancelled_at!);
    expect(delivery!.headers["webhook-id"]).toBe(event.id);
    expect(hook.received).toHaveLength(1);
    expect(expiries.received).toEqual([]);
  });

  it("a batch that fails validation sends batch.failed; an endpoint subscribed only to completions gets nothing", async () => {
    const { client, apiKey } = await clientFor(stack, { scopes: ["chat", "batch", "webhooks:write"] });
    const failures = await receiver();
    const completions = await receiver();
    const endpoint = await register(apiKey, { url: failures.url, events: ["batch.failed"] });
    await register(apiKey, { url: completions.url, events: ["batch.completed"] });
    const file = await uploadBatchFile(client, jsonl(["{not json"]));
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    await batchReaching(client, batch.id, "failed");
    const [delivery] = await failures.waitFor(1);
    expect(await sdk().webhooks.unwrap(delivery!.body, headersOf(delivery!.headers), endpoint.secret)).toMatchObject({
      type: "batch.failed",
      data: { id: batch.id },
    });
    expect(completions.received).toEqual([]);
  });
});
