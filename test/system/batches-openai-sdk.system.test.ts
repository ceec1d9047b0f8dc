import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toFile } from "openai";
import type { CompletionUsage } from "openai/resources/completions";
import { FIXTURES } from "../fake-upstream/wire.mjs";
import { startCoreStack } from "../fake-upstream/stack";
import type { FakeUpstream } from "../fake-upstream/server";
import { advanceBatchClock, batchReaching, chatLines, jsonl, resultLines, sendBatchChunk, uploadBatchFile } from "../support/batches";
import { clientFor } from "../support/clients";
import { expectError } from "../support/errors";
import { gatewayFetch } from "../support/fetch";
import { uniqueModel } from "../support/names";
import { sdkFailure } from "../support/openai-sdk";
import type { Stack } from "../support/stack";
import { d1, usageRow } from "../support/stores";
import { adminFetch } from "../support/tenants";
import { costMicros, type Price } from "../../workers/shared/src/pricing";
import { eventually } from "../support/wait";
import { afterPriceChange } from "../support/propagation";
import { BatchListSchema, BatchObjectSchema, FileListSchema, FileObjectSchema } from "../../workers/shared/src/contracts/batches";

/** A GET's JSON answer, as the document describes it (not through the SDK, which adds nothing to it). */
/** A recorded fixture's usage in the SDK's type (the fixtures are OpenAI's wire format; wire.d.mts types them loosely). */
type FixtureUsage = CompletionUsage & { prompt_tokens_details: { cached_tokens: number }; completion_tokens_details: { reasoning_tokens: number } };
function fixtureUsage(name: "chat-reasoning" | "chat-text"): FixtureUsage {
  return FIXTURES[name].completion.usage as FixtureUsage;
}

async function gatewayJson(s: Stack, path: string, key: string): Promise<unknown> {
  const res = await gatewayFetch(s, path, { key });
  expect(res.status).toBe(200);
  return res.json();
}

let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, upstream, close } = await startCoreStack());
});
afterAll(() => close?.());

/** The billing rows of a batch's usage (tagged with its id), once `count` of them are stored. */
async function batchUsage(batchId: string, count: number) {
  const db = await d1(stack, "billing");
  const rows = await eventually(
    async () => {
      const { results } = await db
        .prepare("SELECT request_id, operation, tags, status FROM usage_events WHERE json_extract(tags, '$.batch_id') = ?1 ORDER BY request_id")
        .bind(batchId)
        .all<{ request_id: string; operation: string; tags: string; status: number }>();
      return results.length >= count ? results : null;
    },
    20_000,
    `${count} usage rows of ${batchId}`,
  );
  return rows.map((r) => ({ ...r, tags: JSON.parse(r.tags) as Record<string, string> }));
}

describe("files", () => {
  it("uploads, lists, reads, downloads and deletes a batch file (OpenAI's file object)", async () => {
    const { client } = await clientFor(stack);
    const content = jsonl(chatLines("fake/files-1", 2));
    const file = await uploadBatchFile(client, content, "mine.jsonl");
    expect(file).toEqual({
      id: expect.stringMatching(/^file-[A-Za-z0-9]{24}$/),
      object: "file",
      bytes: Buffer.byteLength(content),
      created_at: expect.any(Number),
      filename: "mine.jsonl",
      purpose: "batch",
      status: "processed",
      expires_at: null,
      status_details: null,
    });
    expect(await client.files.retrieve(file.id)).toEqual(file);
    expect(await (await client.files.content(file.id)).text()).toBe(content);
    const second = await uploadBatchFile(client, content, "second.jsonl");
    const page = await client.files.list();
    expect(page.data.map((f) => f.id).sort()).toEqual([file.id, second.id].sort());
    expect(page.has_more).toBe(false);
    const [newest, oldest] = page.data;
    const after = await client.files.list({ after: newest!.id, limit: 1 });
    expect(after.data).toEqual([oldest]);
    const asc = await client.files.list({ order: "asc", limit: 1 });
    expect(asc.data).toEqual([oldest]);
    expect(asc.has_more).toBe(true);
    expect(await client.files.delete(file.id)).toEqual({ id: file.id, object: "file", deleted: true });
    expect((await sdkFailure(client.files.retrieve(file.id))).status).toBe(404);
    expect((await client.files.list()).data.map((f) => f.id)).toEqual([second.id]);
  });

  it("refuses a purpose other than batch with 400 naming it, and stores nothing", async () => {
    const { client, apiKey } = await clientFor(stack);
    const failure = await sdkFailure(client.files.create({ file: await toFile(Buffer.from("{}\n"), "x.jsonl"), purpose: "fine-tune" }));
    expect(failure.status).toBe(400);
    expect(failure.error).toMatchObject({ param: "purpose", code: "invalid_request", type: "invalid_request_error" });
    expect((await client.files.list()).data).toEqual([]);
    const notMultipart = await gatewayFetch(stack, "/v1/files", { key: apiKey, body: { purpose: "batch" } });
    await expectError(notMultipart, 415, "unsupported_media_type");
  });

  it("needs the batch scope, and a batch needs its endpoint's scope too (its lines run as the key)", async () => {
    const { client } = await clientFor(stack, { scopes: ["chat"] });
    const failure = await sdkFailure(client.files.list());
    expect(failure.status).toBe(403);
    expect(failure.error).toMatchObject({ code: "permission_denied" });
    const batchOnly = (await clientFor(stack, { scopes: ["batch"] })).client;
    const file = await uploadBatchFile(batchOnly, jsonl(chatLines("fake/scoped", 1)));
    const refused = await sdkFailure(batchOnly.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" }));
    expect(refused.status).toBe(403);
    expect(refused.error).toMatchObject({ code: "permission_denied", param: "endpoint" });
    expect((await batchOnly.batches.list()).data).toEqual([]);
  });
});

describe("batches", () => {
  it("runs a file end to end: completed, one output line per successful custom_id, the upstream's rejections in the error file, usage metered once per line", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("batch-ok");
    const rejected = uniqueModel("batch-rejected");
    upstream.on(rejected, { error: { status: 400 } });
    const lines = [...chatLines(`fake/${model}`, 3), ...chatLines(`fake/${rejected}`, 1, "bad")];
    const file = await uploadBatchFile(client, jsonl(lines));
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
      metadata: { run: "one" },
    });
    expect(created).toMatchObject({
      id: expect.stringMatching(/^batch_/),
      object: "batch",
      endpoint: "/v1/chat/completions",
      input_file_id: file.id,
      completion_window: "24h",
      status: "validating",
      output_file_id: null,
      error_file_id: null,
      errors: null,
      metadata: { run: "one" },
      request_counts: { total: 0, completed: 0, failed: 0 },
    });
    expect(created.expires_at).toBe(created.created_at + 86_400);

    const done = await batchReaching(client, created.id, "completed");
    expect(done.request_counts).toEqual({ total: 4, completed: 3, failed: 1 });
    for (const t of ["in_progress_at", "finalizing_at", "completed_at"] as const) expect(done[t]).toEqual(expect.any(Number));
    expect(done.failed_at).toBeNull();

    const output = await resultLines(client, done.output_file_id);
    expect(output.map((l) => l.custom_id)).toEqual(["req-1", "req-2", "req-3"]);
    for (const l of output) {
      expect(l).toEqual({
        id: expect.stringMatching(/^batch_req_/),
        custom_id: l.custom_id,
        response: { status_code: 200, request_id: expect.stringMatching(/^req_/), body: FIXTURES["chat-text"].completion },
        error: null,
      });
    }
    expect(
      upstream
        .requests(model)
        .map((r) => (r.body.messages as { content: string }[])[0]!.content)
        .sort(),
    ).toEqual(["question 1", "question 2", "question 3"]);
    const errors = await resultLines(client, done.error_file_id);
    expect(errors).toEqual([
      {
        id: expect.stringMatching(/^batch_req_/),
        custom_id: "bad-1",
        response: { status_code: 400, request_id: expect.stringMatching(/^req_/), body: { error: expect.objectContaining({ message: expect.any(String) }) } },
        error: null,
      },
    ]);

    const usage = await batchUsage(created.id, 4);
    expect(usage).toHaveLength(4);
    expect(usage.map((u) => u.operation)).toEqual(["batch", "batch", "batch", "batch"]);
    expect(usage.map((u) => u.tags.custom_id).sort()).toEqual(["bad-1", "req-1", "req-2", "req-3"]);
    expect(usage.map((u) => u.request_id).sort()).toEqual([...output, ...errors].map((l) => l.response!.request_id).sort());

    const listed = await client.batches.list();
    expect(listed.data.find((b) => b.id === created.id)).toMatchObject({ status: "completed", request_counts: { total: 4, completed: 3, failed: 1 } });
  });

  it("sums its lines' metered usage exactly into the batch's usage (OpenAI's BatchUsage): cache reads, reasoning, rejected lines add nothing", async () => {
    const { client } = await clientFor(stack);
    const reasoning = uniqueModel("batch-usage-reasoning");
    const text = uniqueModel("batch-usage-text");
    const rejected = uniqueModel("batch-usage-rejected");
    upstream.on(reasoning, { fixture: "chat-reasoning" });
    upstream.on(rejected, { error: { status: 400 } });
    const lines = [...chatLines(`fake/${reasoning}`, 2, "r"), ...chatLines(`fake/${text}`, 3, "t"), ...chatLines(`fake/${rejected}`, 1, "x")];
    const file = await uploadBatchFile(client, jsonl(lines));
    const created = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    expect(created.usage).toEqual({
      input_tokens: 0,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 0,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 0,
    });
    await batchReaching(client, created.id, "completed");
    const done = await client.batches.retrieve(created.id);
    expect(done.request_counts).toEqual({ total: 6, completed: 5, failed: 1 });
    // What the upstream reported for each answer (the recorded fixtures), 2 reasoning answers + 3 text answers.
    const r = fixtureUsage("chat-reasoning");
    const t = fixtureUsage("chat-text");
    expect(done.usage).toEqual({
      input_tokens: 2 * r.prompt_tokens + 3 * t.prompt_tokens,
      input_tokens_details: { cached_tokens: 2 * r.prompt_tokens_details.cached_tokens + 3 * t.prompt_tokens_details.cached_tokens },
      output_tokens: 2 * r.completion_tokens + 3 * t.completion_tokens,
      output_tokens_details: { reasoning_tokens: 2 * r.completion_tokens_details.reasoning_tokens + 3 * t.completion_tokens_details.reasoning_tokens },
      total_tokens: 2 * r.total_tokens + 3 * t.total_tokens,
    });
    expect(done.usage!.input_tokens_details.cached_tokens).toBeGreaterThan(0);
    expect(done.usage!.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    // The same numbers billing stored for the batch's lines (one metered record per line).
    const db = await d1(stack, "billing");
    const billed = await eventually(async () => {
      const row = await db
        .prepare(
          "SELECT COUNT(*) AS n, SUM(prompt_tokens) AS input, SUM(cached_tokens) AS cached, SUM(completion_tokens) AS output, SUM(reasoning_tokens) AS reasoning, SUM(total_tokens) AS total FROM usage_events WHERE json_extract(tags, '$.batch_id') = ?1",
        )
        .bind(created.id)
        .first<{ n: number; input: number; cached: number; output: number; reasoning: number; total: number }>();
      return row && row.n >= 6 ? row : null;
    });
    expect(done.usage).toEqual({
      input_tokens: billed.input,
      input_tokens_details: { cached_tokens: billed.cached },
      output_tokens: billed.output,
      output_tokens_details: { reasoning_tokens: billed.reasoning },
      total_tokens: billed.total,
    });
    expect((await client.batches.list()).data.find((b) => b.id === created.id)?.usage).toEqual(done.usage);
  });

  it("fails an invalid file before any line runs, naming every offending line", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("batch-invalid");
    const [a, b, c] = chatLines(`fake/${model}`, 3);
    const file = await uploadBatchFile(client, jsonl([a, "{not json", { ...b, custom_id: a!.custom_id }, { ...c, url: "/v1/embeddings" }]));
    const created = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    const failed = await batchReaching(client, created.id, "failed");
    expect(failed.errors).toEqual({
      object: "list",
      data: [
        { code: "invalid_json_line", message: expect.any(String), param: null, line: 2 },
        { code: "duplicate_custom_id", message: expect.any(String), param: "custom_id", line: 3 },
        { code: "invalid_url", message: expect.any(String), param: "url", line: 4 },
      ],
    });
    expect(failed.failed_at).toEqual(expect.any(Number));
    expect(upstream.requests(model)).toEqual([]);
  });

  it("cancels mid-run: in-flight lines finish and are the partial output; nothing new starts", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("batch-cancel");
    const gate = upstream.hold(model, 0);
    const file = await uploadBatchFile(client, jsonl(chatLines(`fake/${model}`, 25)));
    const created = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    await gate.reached;
    const cancelling = await client.batches.cancel(created.id);
    expect(cancelling.status).toBe("cancelling");
    expect(cancelling.cancelling_at).toEqual(expect.any(Number));
    const inFlight = upstream.requests(model).length;
    gate.release();
    const cancelled = await batchReaching(client, created.id, "cancelled");
    const output = await resultLines(client, cancelled.output_file_id);
    expect(inFlight).toBeLessThan(25);
    expect(output).toHaveLength(upstream.requests(model).length);
    expect(output.length).toBeLessThan(25);
    expect(new Set(output.map((l) => l.custom_id)).size).toBe(output.length);
    expect(cancelled.request_counts).toEqual({ total: 25, completed: output.length, failed: 0 });
    expect(cancelled.cancelled_at).toEqual(expect.any(Number));
  });

  it("expires at the end of its completion window with partial output and batch_expired error lines", async () => {
    const { client } = await clientFor(stack);
    const quick = uniqueModel("batch-expire-quick");
    const held = uniqueModel("batch-expire-held");
    const gate = upstream.hold(held, 0);
    const file = await uploadBatchFile(client, jsonl([...chatLines(`fake/${quick}`, 10, "quick"), ...chatLines(`fake/${held}`, 5, "held")]));
    const created = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    await gate.reached;
    await eventually(async () => ((await client.batches.retrieve(created.id)).request_counts?.completed === 10 ? true : null));
    await advanceBatchClock(stack, created.id, 24 * 3600 * 1000);
    const expired = await client.batches.retrieve(created.id);
    gate.release();
    expect(expired.status).toBe("expired");
    expect(expired.expired_at).toEqual(expect.any(Number));
    expect(expired.request_counts).toEqual({ total: 15, completed: 10, failed: 5 });
    expect((await resultLines(client, expired.output_file_id)).map((l) => l.custom_id)).toEqual(Array.from({ length: 10 }, (_, i) => `quick-${i + 1}`));
    const errors = await resultLines(client, expired.error_file_id);
    expect(errors.map((l) => [l.custom_id, l.response, l.error?.code])).toEqual(Array.from({ length: 5 }, (_, i) => [`held-${i + 1}`, null, "batch_expired"]));
    // What had completed was metered, and is kept.
    await batchUsage(created.id, 10);
  });

  it("accepts the inline form (POST /v1/batch) and answers through the same files", async () => {
    const { client, apiKey } = await clientFor(stack);
    const model = uniqueModel("batch-inline");
    const res = await gatewayFetch(stack, "/v1/batch", { key: apiKey, body: { endpoint: "/v1/chat/completions", requests: chatLines(`fake/${model}`, 2) } });
    expect(res.status).toBe(200);
    const created = (await res.json()) as { id: string; status: string; input_file_id: string };
    expect(created).toMatchObject({ object: "batch", status: "validating", input_file_id: expect.stringMatching(/^file-/) });
    const done = await batchReaching(client, created.id, "completed");
    expect((await resultLines(client, done.output_file_id)).map((l) => l.custom_id)).toEqual(["req-1", "req-2"]);
  });

  it("runs a chunk delivered more than once exactly once per line: one output line each, usage counted once", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("batch-redelivered");
    const gate = upstream.hold(model, 0);
    const content = jsonl(chatLines(`fake/${model}`, 4));
    const file = await uploadBatchFile(client, content);
    const created = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    await gate.reached;
    // The same chunk again (what the coordinator sent: lines 1–4, their bytes), twice, while the first delivery is in flight.
    const chunk = { v: 1, batch_id: created.id, file_id: file.id, first_line: 1, last_line: 4, offset: 0, length: Buffer.byteLength(content) - 1 };
    await sendBatchChunk(stack, chunk);
    await sendBatchChunk(stack, chunk);
    gate.release();
    const done = await batchReaching(client, created.id, "completed");
    // A later batch's chunk is consumed after the two copies (the local Queue delivers in order, one consumer batch at a time).
    const marker = await client.batches.create({
      input_file_id: (await uploadBatchFile(client, jsonl(chatLines(`fake/${uniqueModel("batch-marker")}`, 1)))).id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    });
    await batchReaching(client, marker.id, "completed");
    expect(done.request_counts).toEqual({ total: 4, completed: 4, failed: 0 });
    expect((await resultLines(client, done.output_file_id)).map((l) => l.custom_id)).toEqual(["req-1", "req-2", "req-3", "req-4"]);
    expect(upstream.requests(model)).toHaveLength(4);
    const usage = await batchUsage(created.id, 4);
    expect(usage.map((u) => u.tags.custom_id).sort()).toEqual(["req-1", "req-2", "req-3", "req-4"]);
  });
});

describe("OpenAPI", () => {
  it("documents the Files and Batch routes, and the objects they answer match the documented schemas field for field", async () => {
    const doc = (await (await gatewayFetch(stack, "/openapi.json")).json()) as { paths: Record<string, Record<string, unknown>> };
    for (const [path, methods] of [
      ["/v1/files", ["get", "post"]],
      ["/v1/files/{file_id}", ["delete", "get"]],
      ["/v1/files/{file_id}/content", ["get"]],
      ["/v1/batches", ["get", "post"]],
      ["/v1/batches/{batch_id}", ["get"]],
      ["/v1/batches/{batch_id}/cancel", ["post"]],
      ["/v1/batch", ["post"]],
    ] as const) {
      expect(Object.keys(doc.paths[path] ?? {}).sort(), path).toEqual(methods);
    }
    const { client, apiKey } = await clientFor(stack);
    const file = await uploadBatchFile(client, jsonl(chatLines(`fake/${uniqueModel("batch-documented")}`, 1)));
    expect(FileObjectSchema.strict().safeParse(file).error).toBeUndefined();
    expect(FileListSchema.safeParse(await gatewayJson(stack, "/v1/files", apiKey)).error).toBeUndefined();
    const created = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    const done = await batchReaching(client, created.id, "completed");
    for (const batch of [created, done]) expect(BatchObjectSchema.strict().safeParse(batch).error).toBeUndefined();
    expect(BatchListSchema.safeParse(await gatewayJson(stack, "/v1/batches", apiKey)).error).toBeUndefined();
  });
});

describe("batch pricing", () => {
  it("prices a batch line with its model's batch discount from the price table; an interactive request pays the full price", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("batch-priced");
    const put = await adminFetch(stack, `/admin/prices/${model}`, { method: "PUT", body: { input_per_mtok: 2, output_per_mtok: 8, batch_discount_pct: 50 } });
    expect(put.status).toBe(201);
    expect(await put.json()).toMatchObject({ model, batch_discount_pct: 50 });
    await afterPriceChange(stack);
    const price: Price = {
      model,
      provider: null,
      input_per_mtok_micros: 2_000_000,
      output_per_mtok_micros: 8_000_000,
      cached_input_per_mtok_micros: null,
      batch_discount_pct: 50,
    };

    const { response } = await client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: "question 1" }] }).withResponse();
    const interactive = await usageRow(stack, response.headers.get("x-request-id")!);
    const tokens = { promptTokens: Number(interactive.prompt_tokens), completionTokens: Number(interactive.completion_tokens), cachedTokens: 0 };
    expect(interactive.cost_usd_micros).toBe(costMicros(price, tokens));

    const file = await uploadBatchFile(client, jsonl(chatLines(`fake/${model}`, 1)));
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    await batchReaching(client, batch.id, "completed");
    const [line] = await batchUsage(batch.id, 1);
    const row = await usageRow(stack, line!.request_id);
    expect(row).toMatchObject({ operation: "batch", prompt_tokens: interactive.prompt_tokens, completion_tokens: interactive.completion_tokens });
    expect(row.cost_usd_micros).toBe(costMicros(price, tokens, { batch: true }));
    expect(Number(row.cost_usd_micros)).toBeLessThan(Number(interactive.cost_usd_micros));
  });
});

describe("tenant isolation", () => {
  it("another tenant's files and batches are 404 and absent from its lists", async () => {
    const a = await clientFor(stack);
    const b = await clientFor(stack);
    const model = uniqueModel("batch-tenant");
    const file = await uploadBatchFile(a.client, jsonl(chatLines(`fake/${model}`, 1)));
    const batch = await a.client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    for (const call of [
      () => b.client.files.retrieve(file.id),
      () => b.client.files.content(file.id),
      () => b.client.files.delete(file.id),
      () => b.client.batches.retrieve(batch.id),
      () => b.client.batches.cancel(batch.id),
      () => b.client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" }),
    ]) {
      const failure = await sdkFailure(call());
      expect(failure.status).toBe(404);
      expect(failure.error).toMatchObject({ code: "not_found" });
    }
    expect((await b.client.files.list()).data).toEqual([]);
    expect((await b.client.batches.list()).data).toEqual([]);
    expect((await b.client.files.list({ after: file.id })).data).toEqual([]);
    await batchReaching(a.client, batch.id, "completed");
    expect(await a.client.files.retrieve(file.id)).toMatchObject({ id: file.id });
  });
});
