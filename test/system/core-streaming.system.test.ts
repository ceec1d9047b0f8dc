import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES } from "../fake-upstream/wire.mjs";
import { startCoreStack } from "../fake-upstream/stack";
import { eventually } from "../support/wait";
import { uniqueModel } from "../support/names";
import { d1, usageRow } from "../support/stores";
import type { FakeUpstream } from "../fake-upstream/server";
import { droppableGatewayClient } from "../support/dropped-connection";
import type { Stack } from "../support/stack";
import { clientFor } from "../support/clients";

let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, upstream, close } = await startCoreStack());
});
afterAll(() => close?.());

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;
const ask = [{ role: "user" as const, content: "What is the capital of France?" }];

async function collect(stream: AsyncIterable<Chunk>): Promise<Chunk[]> {
  const out: Chunk[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

/** The fixture's chunks as the upstream sends them with `stream_options` (usage:null on each, then the usage chunk). */
const withUsage = (name: keyof typeof FIXTURES) => {
  const f = FIXTURES[name];
  const first = f.chunks[0] as Record<string, unknown>;
  return [
    ...f.chunks.map((c) => ({ ...c, usage: null })),
    {
      id: first["id"],
      object: first["object"],
      created: first["created"],
      model: first["model"],
      service_tier: first["service_tier"],
      system_fingerprint: first["system_fingerprint"],
      choices: [],
      usage: f.usage,
    },
  ];
};

describe("streamed chat", () => {
  it("delivers the upstream's chunks unchanged and hides the usage chunk the gateway asked for", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("stream-text");
    const { data: stream, response } = await client.chat.completions.create({ model: `fake/${model}`, messages: ask, stream: true }).withResponse();
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const chunks = await collect(stream);
    expect(chunks).toEqual(FIXTURES["chat-text"].chunks);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("The capital of France is Paris.");
    // The upstream was asked for usage (the gateway meters every stream)…
    expect(upstream.requests(model)[0]!.body["stream_options"]).toEqual({ include_usage: true });
    // …and the event carries the upstream's exact counts.
    const row = await usageRow(stack, response.headers.get("x-request-id")!);
    const usage = FIXTURES["chat-text"].usage as { prompt_tokens: number; completion_tokens: number };
    expect(row).toMatchObject({
      stream: 1,
      aborted: 0,
      upstream_error: 0,
      status: 200,
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
      tags: "{}",
    });
    expect(row["ttfb_ms"]).not.toBeNull();
  });

  it("delivers the usage chunk when the client asked for it", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("stream-usage");
    const chunks = await collect(
      await client.chat.completions.create({ model: `fake/${model}`, messages: ask, stream: true, stream_options: { include_usage: true } }),
    );
    expect(chunks).toEqual(withUsage("chat-text"));
    expect(chunks.at(-1)!.usage).toEqual(FIXTURES["chat-text"].usage);
  });

  it("keeps the client's other stream options", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("stream-obfuscation");
    const chunks = await collect(
      await client.chat.completions.create({ model: `fake/${model}`, messages: ask, stream: true, stream_options: { include_obfuscation: false } }),
    );
    expect(upstream.requests(model)[0]!.body["stream_options"]).toEqual({ include_obfuscation: false, include_usage: true });
    expect(chunks.some((c) => "obfuscation" in c)).toBe(false);
  });

  it("streams tool-call deltas that the SDK assembles into the upstream's tool calls", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("stream-tools");
    const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: {} } } }];
    const runner = client.chat.completions.stream({ model: `fake/${model}`, messages: ask, tools });
    const chunks: Chunk[] = [];
    runner.on("chunk", (c) => chunks.push(c));
    const final = await runner.finalChatCompletion();
    expect(chunks).toEqual(FIXTURES["chat-tools"].chunks);
    const expected = (FIXTURES["chat-tools"].completion as { choices: { message: { tool_calls: unknown[] } }[] }).choices[0]!.message.tool_calls;
    expect(final.choices[0]!.message.tool_calls).toEqual(expected);
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
  });

  it("streams JSON mode", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("stream-json");
    const chunks = await collect(
      await client.chat.completions.create({ model: `fake/${model}`, messages: ask, stream: true, response_format: { type: "json_object" } }),
    );
    expect(JSON.parse(chunks.map((c) => c.choices[0]?.delta.content ?? "").join(""))).toEqual({ city: "Paris", country: "France", population: 2102650 });
  });

  it("gets the first chunk to the client before the upstream has finished", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("stream-first-chunk");
    const gate = upstream.hold(model, 2);
    const stream = await client.chat.completions.create({ model: `fake/${model}`, messages: ask, stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    await gate.reached;
    // The upstream is now waiting for the test: these chunks can only have come through unbuffered.
    const first = await iterator.next();
    const second = await iterator.next();
    expect([first.value, second.value]).toEqual(FIXTURES["chat-text"].chunks.slice(0, 2));
    gate.release();
    const rest: Chunk[] = [];
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) rest.push(r.value);
    expect(rest).toEqual(FIXTURES["chat-text"].chunks.slice(2));
  });

  it("records the usage of a stream the client aborted", async () => {
    const { client, tenant } = await clientFor(stack);
    const model = uniqueModel("stream-abort");
    // A long answer, token by token: the client leaves while the upstream is still generating.
    upstream.on(model, { intervalMs: 25, repeat: 200 });
    const { data: stream, response } = await client.chat.completions.create({ model: `fake/${model}`, messages: ask, stream: true }).withResponse();
    const requestId = response.headers.get("x-request-id")!;
    let received = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) received++;
      if (received === 3) break; // leaving the loop aborts the request
    }
    // Billing gets the request's usage, estimated from what the upstream had generated.
    const row = await usageRow(stack, requestId);
    expect(row).toMatchObject({ tenant_id: tenant.id, stream: 1, aborted: 1, upstream_error: 0, status: 200, provider: "fake", model });
    expect(row["completion_tokens"]).toBeGreaterThanOrEqual(3);
    expect(row["completion_tokens"]).toBeLessThan(7 * 200);
    expect(row["prompt_tokens"]).toBeGreaterThan(0);
    expect(JSON.parse(String(row["tags"]))).toEqual({ usage: "estimated" });
    // (That model-proxy then stops the upstream call is shown in dispatcher.test.ts: locally,
    // workerd's outbound fetches pass through a Node proxy that keeps reading the fake upstream.)
  });

  it("records the usage of a stream abandoned while the upstream was silent (a model still thinking)", async () => {
    const { apiKey, tenant } = await clientFor(stack);
    const { client, dropConnection } = droppableGatewayClient(stack, apiKey);
    const model = uniqueModel("stream-abort-silent");
    const gate = upstream.hold(model, 3); // role chunk + 2 words, then silence
    const { data: stream, response } = await client.chat.completions.create({ model: `fake/${model}`, messages: ask, stream: true }).withResponse();
    const iterator = stream[Symbol.asyncIterator]();
    const got: Chunk[] = [];
    for (let i = 0; i < 3; i++) got.push((await iterator.next()).value as Chunk);
    await gate.reached;
    // Everything the upstream sent has reached the client: no byte is on its way when it leaves.
    expect(got).toEqual(FIXTURES["chat-text"].chunks.slice(0, 3));
    dropConnection();
    await expect(iterator.next()).rejects.toThrow();
    // The event arrives while the upstream is still held: the gateway did not wait for it.
    const row = await usageRow(stack, response.headers.get("x-request-id")!);
    expect(row).toMatchObject({ tenant_id: tenant.id, aborted: 1, upstream_error: 0, stream: 1, status: 200 });
    expect(row["completion_tokens"]).toBeGreaterThanOrEqual(2);
    gate.release();
  });
});

describe("streams that fail", () => {
  it("ends a stream the upstream broke with an error the SDK raises, not a silent truncation", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("stream-broken");
    upstream.on(model, { breakAfter: 3 });
    const { data: stream, response } = await client.chat.completions.create({ model: `fake/${model}`, messages: ask, stream: true }).withResponse();
    const got: Chunk[] = [];
    const err = await (async () => {
      for await (const c of stream) got.push(c);
    })().catch((e: unknown) => e);
    expect(got).toEqual(FIXTURES["chat-text"].chunks.slice(0, 3));
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as APIError).message).toMatch(/provider 'fake'.*broke/);
    const row = await usageRow(stack, response.headers.get("x-request-id")!);
    expect(row).toMatchObject({ upstream_error: 1, aborted: 0, status: 200 });
  });

  it("ends a stream whose event never ends with an error at 1 MiB, metered as an upstream error", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("stream-endless-event");
    // 4 MiB of one event's text in 4 KiB pieces, then silence: the end never comes.
    upstream.on(model, { endlessEvent: { bytes: 4 * 1024 * 1024, chunkBytes: 4 * 1024 } });
    const { data: stream, response } = await client.chat.completions.create({ model: `fake/${model}`, messages: ask, stream: true }).withResponse();
    const got: Chunk[] = [];
    const err = await (async () => {
      for await (const c of stream) got.push(c);
    })().catch((e: unknown) => e);
    expect(got).toHaveLength(1);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as APIError).error).toMatchObject({ code: "upstream_error" });
    expect((err as APIError).message).toMatch(/provider 'fake' grew past 1048576 bytes without ending/);
    // The tap's end also tells model-proxy to stop the upstream (dispatcher.test.ts; locally a
    // Node proxy between workerd and the fake keeps reading, so the fake cannot observe it).
    const row = await usageRow(stack, response.headers.get("x-request-id")!);
    expect(row).toMatchObject({ upstream_error: 1, aborted: 0, stream: 1 });
  });

  it("ends a stream whose upstream went silent with a timeout error", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("stream-stall");
    upstream.on(model, { stallAfter: 2 });
    const stream = await client.chat.completions.create({ model: `quick/${model}`, messages: ask, stream: true });
    const got: Chunk[] = [];
    const err = await (async () => {
      for await (const c of stream) got.push(c);
    })().catch((e: unknown) => e);
    expect(got).toHaveLength(2);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as APIError).error).toMatchObject({ code: "upstream_timeout" });
  });
});

describe("clients that leave before the answer", () => {
  /** The usage row of the request the client sent with `x-client-request-id: clientId` (it never saw the gateway's id). */
  async function rowOfClientId(keyId: string, clientId: string): Promise<Record<string, unknown>> {
    const db = await d1(stack, "billing");
    return eventually(
      () => db.prepare("SELECT * FROM usage_events WHERE key_id = ? AND client_request_id = ?").bind(keyId, clientId).first<Record<string, unknown>>(),
      20_000,
      `usage row of ${clientId}`,
    );
  }

  it.each([
    ["a non-streamed request", false],
    ["a stream before its first byte", true],
  ])("%s the client left while the upstream was silent is billed and frees its concurrency slot at once", async (_, stream) => {
    const { apiKey, tenant, key, client: sameKey } = await clientFor(stack, { limits: { max_concurrency: 1 } });
    const { client, dropConnection } = droppableGatewayClient(stack, apiKey);
    const model = uniqueModel(stream ? "stream-left-early" : "json-left-early");
    upstream.on(model, { hang: true }); // a model still thinking: no header, no byte
    const clientId = `left-${model}`;
    const left = client.chat.completions.create({ model: `fake/${model}`, messages: ask, stream }, { headers: { "x-client-request-id": clientId } });
    await eventually(async () => (upstream.requests(model).length === 1 ? true : null), 15_000, "the upstream call");
    dropConnection();
    await expect(left).rejects.toThrow();

    // The abandoned request is metered (its prompt went upstream) and marked as abandoned…
    const row = await rowOfClientId(key.id, clientId);
    expect(row).toMatchObject({ tenant_id: tenant.id, status: 499, aborted: 1, stream: stream ? 1 : 0, completion_tokens: 0 });
    expect(row["prompt_tokens"]).toBeGreaterThan(0);
    expect(JSON.parse(String(row["tags"]))).toEqual({ usage: "estimated" });
    // …and its slot is free: the key (one request at a time) is served again while that upstream call still hangs.
    const next = uniqueModel("after-left");
    const answer = await sameKey.chat.completions.create({ model: `fake/${next}`, messages: ask });
    expect(answer.choices[0]!.message.content).toBe("The capital of France is Paris.");
  });
});
