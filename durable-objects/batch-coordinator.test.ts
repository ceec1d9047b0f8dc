import {
  abortAllDurableObjects,
  applyD1Migrations,
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { BatchLineOutcome, BatchLineRequest } from "../workers/shared/src/contracts/batch-line";
import { consumeChunks, consumeDeadLetters, type ConsumerEnv, type LineRunner } from "../workers/tail/src/batches/consumer";
import { lineRequestId, newBatchId, type BatchObject, type ChunkMessage } from "../workers/tail/src/batches/model";
import { fileKey, newFileId } from "../workers/tail/src/files/store";
import { tokenUsage } from "../workers/shared/src/token-usage";

const env = workerEnv as unknown as TailEnv & { TEST_MIGRATIONS: Parameters<typeof applyD1Migrations>[1] };
const TENANT = "ten_unit";

beforeAll(async () => {
  await applyD1Migrations(env.TAIL_DB, env.TEST_MIGRATIONS);
});

const stubOf = (batchId: string) => env.BATCH_COORDINATOR.get(env.BATCH_COORDINATOR.idFromName(batchId));

/** A batch of `count` chat lines, validated and in progress; returns its id and the one chunk message covering all lines. */
async function batchInProgress(count: number): Promise<{ batchId: string; chunk: ChunkMessage }> {
  const fileId = newFileId();
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      custom_id: `c-${i + 1}`,
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: "fake/m", messages: [{ role: "user", content: `q${i + 1}` }] },
    }),
  );
  const content = lines.join("\n") + "\n";
  await env.FILES.put(fileKey(TENANT, fileId), content);
  const batchId = newBatchId();
  const stub = stubOf(batchId);
  await stub.create({ id: batchId, tenantId: TENANT, keyId: "key_unit", models: null, endpoint: "/v1/chat/completions", inputFileId: fileId, metadata: null });
  await runDurableObjectAlarm(stub);
  expect(await stub.get()).toMatchObject({ status: "in_progress", request_counts: { total: count, completed: 0, failed: 0 } });
  return { batchId, chunk: { v: 1, batch_id: batchId, file_id: fileId, first_line: 1, last_line: count, offset: 0, length: content.length - 1 } };
}

/** The consumer's bindings: the real coordinator and R2; sends (deferrals) are recorded. */
function consumerEnv(sent: unknown[] = []): ConsumerEnv {
  return {
    FILES: env.FILES,
    BATCH_REQUESTS: { send: async (body: unknown) => void sent.push(body), sendBatch: async () => {} } as unknown as Queue,
    coordinator: (batchId) => stubOf(batchId),
  };
}

/**
 * A stand-in for the gateway's BatchLineService: answers 200 with the line's custom id, and records
 * each usage event it would send — keyed, as the gateway's are, by the line's derived request id
 * (billing stores one row per id, so `new Set(metered)` is what gets billed).
 */
const LINE_USAGE = tokenUsage({ prompt: 10, completion: 5, cached: 4, cacheWrite: 2, reasoning: 3 });

function fakeGateway(
  hooks: { before?: (input: BatchLineRequest, call: number) => Promise<void> | void; after?: (input: BatchLineRequest, call: number) => void } = {},
) {
  const metered: string[] = [];
  let calls = 0;
  const runner: LineRunner = {
    async run(input): Promise<BatchLineOutcome> {
      const call = ++calls;
      await hooks.before?.(input, call);
      const requestId = lineRequestId(input.batchId, input.line);
      metered.push(requestId);
      hooks.after?.(input, call);
      return { kind: "done", status: 200, requestId, body: JSON.stringify({ echo: input.customId }), usage: LINE_USAGE };
    },
  };
  return { runner, metered, calls: () => calls };
}

async function deliver(chunk: ChunkMessage, runner: LineRunner, attempts = 1, cenv = consumerEnv()) {
  const batch = createMessageBatch<unknown>("batch-requests", [{ id: `m-${attempts}-${Math.random()}`, timestamp: Date.now(), attempts, body: chunk }]);
  const ctx = createExecutionContext();
  await consumeChunks(batch, cenv, runner);
  return getQueueResult(batch, ctx);
}

async function outputOf(
  batch: BatchObject,
): Promise<{ custom_id: string; response: { request_id: string; body: { echo: string } } | null; error: { code: string } | null }[]> {
  if (!batch.output_file_id && !batch.error_file_id) return [];
  const read = async (id: string | null) => (id ? ((await (await env.FILES.get(fileKey(TENANT, id)))?.text()) ?? "") : "");
  const text = (await read(batch.output_file_id)) + (await read(batch.error_file_id));
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as never);
}

async function finished(batchId: string): Promise<BatchObject> {
  const batch = await stubOf(batchId).get();
  if (!batch) throw new Error("no batch");
  return batch;
}

const customIds = (n: number) => Array.from({ length: n }, (_, i) => `c-${i + 1}`);

describe("BatchCoordinator and the batch consumer: exactly once", () => {
  it("a consumer that fails once mid-chunk is retried and runs only what was not recorded; usage once per line", async () => {
    const { batchId, chunk } = await batchInProgress(23);
    // Line 15's answer is lost once, after the gateway metered it (the consumer dies mid-chunk).
    let lost = false;
    const gateway = fakeGateway({
      after: (input) => {
        if (input.line === 15 && !lost) {
          lost = true;
          throw new Error("consumer lost its connection");
        }
      },
    });
    const first = await deliver(chunk, gateway.runner, 1);
    expect(first.retryMessages).toHaveLength(1);
    expect(first.explicitAcks).toEqual([]);
    const mid = await finished(batchId);
    expect(mid.status).toBe("in_progress");
    // Waves of 10: lines 1–10 recorded, the wave with line 15 recorded except line 15.
    expect(mid.request_counts).toEqual({ total: 23, completed: 19, failed: 0 });

    const second = await deliver(chunk, gateway.runner, 2);
    expect(second.explicitAcks).toHaveLength(1);
    const done = await finished(batchId);
    expect(done).toMatchObject({ status: "completed", request_counts: { total: 23, completed: 23, failed: 0 } });
    const output = await outputOf(done);
    expect(output.map((l) => l.custom_id)).toEqual(customIds(23));
    expect(output.map((l) => l.response!.body.echo)).toEqual(customIds(23));
    // Line 15 ran twice, under one request id: billed once.
    expect(gateway.calls()).toBe(24);
    expect(new Set(gateway.metered).size).toBe(23);
    expect(new Set(output.map((l) => l.response!.request_id))).toEqual(new Set(gateway.metered));
  });

  it("the same message delivered twice at once: every line recorded once, usage once per line", async () => {
    const { batchId, chunk } = await batchInProgress(12);
    let started = 0;
    let bothStarted!: () => void;
    const barrier = new Promise<void>((r) => (bothStarted = r));
    const gateway = fakeGateway({
      before: async (input) => {
        if (input.line === 1 && ++started === 2) bothStarted();
        if (input.line === 1) await barrier;
      },
    });
    const [a, b] = await Promise.all([deliver(chunk, gateway.runner, 1), deliver(chunk, gateway.runner, 1)]);
    expect([a.explicitAcks.length, b.explicitAcks.length]).toEqual([1, 1]);
    const done = await finished(batchId);
    expect(done).toMatchObject({ status: "completed", request_counts: { total: 12, completed: 12, failed: 0 } });
    expect((await outputOf(done)).map((l) => l.custom_id)).toEqual(customIds(12));
    // Both deliveries ran the first wave; the answers and their usage ids are the line's, once each.
    expect(gateway.calls()).toBeGreaterThan(12);
    expect(new Set(gateway.metered).size).toBe(12);
  });

  it("a coordinator restarted mid-batch continues from storage: no line lost, none twice", async () => {
    const { batchId, chunk } = await batchInProgress(30);
    let stop = false;
    const gateway = fakeGateway({
      before: (input) => {
        if (stop && input.line > 10) throw new Error("stopped for the restart");
      },
      after: (input) => {
        if (input.line === 10) stop = true;
      },
    });
    await deliver(chunk, gateway.runner, 1);
    const before = await finished(batchId);
    expect(before.request_counts).toEqual({ total: 30, completed: 10, failed: 0 });
    const instance = await runInDurableObject(stubOf(batchId), (obj) => obj);

    await abortAllDurableObjects();

    expect(await runInDurableObject(stubOf(batchId), (obj) => obj === instance)).toBe(false);
    expect(await finished(batchId)).toEqual(before);
    // A late answer for an already recorded line (from before the restart) changes nothing.
    await stubOf(batchId).record(1, 30, [{ line: 3, response: { status_code: 200, request_id: "req_late", body: "{}" }, usage: LINE_USAGE }]);
    stop = false;
    await deliver(chunk, gateway.runner, 2);
    const done = await finished(batchId);
    expect(done).toMatchObject({ status: "completed", request_counts: { total: 30, completed: 30, failed: 0 } });
    const output = await outputOf(done);
    expect(output.map((l) => l.custom_id)).toEqual(customIds(30));
    expect(output[2]!.response!.request_id).toBe(lineRequestId(batchId, 3));
    expect(new Set(gateway.metered).size).toBe(30);
    // The batch's usage is each recorded line's once: the late answer and the restart added nothing.
    expect(done.usage).toEqual({
      input_tokens: 300,
      input_tokens_details: { cached_tokens: 120 },
      output_tokens: 150,
      output_tokens_details: { reasoning_tokens: 90 },
      total_tokens: 450,
    });
  });

  it("a chunk that lands in the dead-letter queue becomes error lines and the batch still finishes; a malformed message is dropped", async () => {
    const { batchId, chunk } = await batchInProgress(5);
    const gateway = fakeGateway({
      before: (input) => {
        if (input.line > 2) throw new Error("poison");
      },
    });
    for (let attempt = 1; attempt <= 4; attempt++) expect((await deliver(chunk, gateway.runner, attempt)).retryMessages).toHaveLength(1);
    expect((await finished(batchId)).request_counts).toEqual({ total: 5, completed: 2, failed: 0 });

    const dead = createMessageBatch<unknown>("batch-requests-dlq", [
      { id: "dlq-1", timestamp: Date.now(), attempts: 1, body: chunk },
      { id: "dlq-2", timestamp: Date.now(), attempts: 1, body: { not: "a chunk" } },
    ]);
    const ctx = createExecutionContext();
    await consumeDeadLetters(dead, consumerEnv());
    expect((await getQueueResult(dead, ctx)).explicitAcks.sort()).toEqual(["dlq-1", "dlq-2"]);
    const done = await finished(batchId);
    expect(done).toMatchObject({ status: "completed", request_counts: { total: 5, completed: 2, failed: 3 } });
    const lines = await outputOf(done);
    expect(lines.map((l) => [l.custom_id, l.error?.code ?? null])).toEqual([
      ["c-1", null],
      ["c-2", null],
      ["c-3", "batch_line_failed"],
      ["c-4", "batch_line_failed"],
      ["c-5", "batch_line_failed"],
    ]);
  });

  it("a line the limits refuse at batch priority goes back on the Queue, delayed, without using a retry", async () => {
    const { batchId, chunk } = await batchInProgress(3);
    const sent: unknown[] = [];
    let refuse = true;
    const runner: LineRunner = {
      run: async (input) => (refuse && input.line === 2 ? { kind: "deferred", retryAfterMs: 1500 } : fakeGateway().runner.run(input)),
    };
    const result = await deliver(chunk, runner, 1, consumerEnv(sent));
    expect(result.explicitAcks).toHaveLength(1);
    expect(sent).toEqual([chunk]);
    expect((await finished(batchId)).request_counts).toEqual({ total: 3, completed: 2, failed: 0 });
    refuse = false;
    await deliver(chunk, runner, 1);
    expect(await finished(batchId)).toMatchObject({ status: "completed", request_counts: { total: 3, completed: 3, failed: 0 } });
  });
});
