import type OpenAI from "openai";
import type { Batch } from "openai/resources/batches";
import { toFile } from "openai";
import type { AdvanceClockResult } from "../../workers/shared/src/test-clock";
import type { Stack } from "./stack";
import { eventually } from "./wait";

/**
 * Batches in system tests: input files built from requests, waiting for a batch to reach a status
 * (polling `batches.retrieve`, the SDK call a user makes), reading result files, and the parts of
 * tail a test cannot reach through the gateway (a coordinator's test clock, the batch Queue).
 */

export interface BatchLine {
  custom_id: string;
  method: string;
  url: string;
  body: Record<string, unknown>;
}

/** Chat lines `custom_id` = `<prefix>-<i>` for model `model`. */
export function chatLines(model: string, count: number, prefix = "req"): BatchLine[] {
  return Array.from({ length: count }, (_, i) => ({
    custom_id: `${prefix}-${i + 1}`,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model, messages: [{ role: "user", content: `question ${i + 1}` }] },
  }));
}

export const jsonl = (lines: readonly unknown[]): string => lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n";

/** `files.create` of a JSONL batch input file. */
export async function uploadBatchFile(client: OpenAI, content: string, name = "input.jsonl") {
  return client.files.create({ file: await toFile(Buffer.from(content), name), purpose: "batch" });
}

const TERMINAL = ["completed", "failed", "expired", "cancelled"];

/** Polls `batches.retrieve` until the batch is in `status` (or any terminal status when omitted). */
export async function batchReaching(client: OpenAI, id: string, status?: Batch["status"], timeoutMs = 30_000): Promise<Batch> {
  return eventually(
    async () => {
      const batch = await client.batches.retrieve(id);
      return (status ? batch.status === status : TERMINAL.includes(batch.status)) ? batch : null;
    },
    timeoutMs,
    `batch ${id} ${status ?? "finished"}`,
  );
}

export interface ResultLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: Record<string, unknown> } | null;
  error: { code: string; message: string } | null;
}

/** A result file's lines (`files.content`), in file order. */
export async function resultLines(client: OpenAI, fileId: string | null | undefined): Promise<ResultLine[]> {
  if (!fileId) return [];
  const text = await (await client.files.content(fileId)).text();
  return text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as ResultLine);
}

interface CoordinatorStub {
  advanceClock(ms: number): Promise<AdvanceClockResult>;
}

/** Moves a batch's own clock forward (its completion window; the test stack's test clock). */
export async function advanceBatchClock(stack: Pick<Stack, "harness">, batchId: string, ms: number): Promise<void> {
  const env = (await stack.harness.getWorker("tail").getEnv()) as {
    BATCH_COORDINATOR: { idFromName(name: string): unknown; get(id: unknown): CoordinatorStub };
  };
  const result = await env.BATCH_COORDINATOR.get(env.BATCH_COORDINATOR.idFromName(batchId)).advanceClock(ms);
  if (!result.ok) throw new Error(`the batch's clock did not move: ${result.message}`);
}

/** Puts a message on the `batch-requests` Queue, as the coordinator does (a test re-delivers a chunk with it). */
export async function sendBatchChunk(stack: Pick<Stack, "harness">, body: unknown): Promise<void> {
  const env = (await stack.harness.getWorker("tail").getEnv()) as {
    BATCH_REQUESTS: { send(body: unknown, options?: { contentType?: string }): Promise<void> };
  };
  await env.BATCH_REQUESTS.send(body, { contentType: "json" });
}
