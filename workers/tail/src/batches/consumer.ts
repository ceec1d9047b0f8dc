import type { BatchLineOutcome, BatchLineRequest } from "../../../shared/src/contracts/batch-line";
import { tokenUsage } from "../../../shared/src/token-usage";
import { errorMessage, log } from "../../../shared/src/log";
import { ChunkMessageSchema, type ChunkMessage, type LineResult } from "./model";

/** Lines of one chunk run at once (a consumer invocation holds up to `max_batch_size` chunks). */
export const LINE_CONCURRENCY = 10;
/** A chunk the consumer failed on is retried after this (then again, up to the Queue's max_retries, then the DLQ). */
const RETRY_DELAY_SECONDS = 1;

export interface LineRunner {
  run(input: BatchLineRequest): Promise<BatchLineOutcome>;
}

interface Coordinator {
  claim(first: number, last: number): Promise<import("./model").Claim>;
  record(first: number, last: number, results: LineResult[]): Promise<unknown>;
  failChunk(message: ChunkMessage, reason: string): Promise<void>;
}

export interface ConsumerEnv {
  FILES: R2Bucket;
  BATCH_REQUESTS: Queue;
  coordinator(batchId: string): Coordinator;
}

/**
 * The `batch-requests` consumer: each message names a range of lines of a batch's input file. The
 * coordinator says which of them still need a result (a redelivered or retried chunk skips what
 * is recorded); those lines are read from R2 by byte range and run through the gateway's path;
 * results are recorded once. A line the limits refused at batch priority goes back on the Queue
 * (a new message for the same range, delayed), without using up the chunk's retries.
 */
export async function consumeChunks(batch: MessageBatch<unknown>, env: ConsumerEnv, runner: LineRunner): Promise<void> {
  await Promise.all(batch.messages.map((message) => consumeOne(message, env, runner)));
}

async function consumeOne(message: Message<unknown>, env: ConsumerEnv, runner: LineRunner): Promise<void> {
  const parsed = ChunkMessageSchema.safeParse(message.body);
  if (!parsed.success) {
    // Never a valid chunk: retried until it lands in the dead-letter queue, where it is dropped with a log line.
    log.error("tail", "malformed batch chunk message", { op: "batch", detail: `message ${message.id}` });
    message.retry();
    return;
  }
  const chunk = parsed.data;
  try {
    await runChunk(chunk, env, runner);
    message.ack();
  } catch (err) {
    log.error("tail", "batch chunk failed", {
      op: "batch",
      detail: `${chunk.batch_id} from line ${chunk.first_line}`,
      attempts: message.attempts,
      message: errorMessage(err),
    });
    message.retry({ delaySeconds: RETRY_DELAY_SECONDS });
  }
}

/**
 * Runs a chunk in waves of `LINE_CONCURRENCY` lines: before each wave the coordinator says which
 * lines still need a result (none once the batch is cancelling or over, so a cancel stops new
 * lines within one wave), after it the wave's results are recorded. A failure loses at most the
 * wave in flight; the retried message then runs only what is not recorded.
 */
async function runChunk(chunk: ChunkMessage, env: ConsumerEnv, runner: LineRunner): Promise<void> {
  const coordinator = env.coordinator(chunk.batch_id);
  let texts: string[] | null = null;
  for (;;) {
    const claim = await coordinator.claim(chunk.first_line, chunk.last_line);
    if (!claim.run || claim.pending.length === 0) return;
    if (texts === null) {
      const object = await env.FILES.get(claim.inputKey, { range: { offset: chunk.offset, length: chunk.length } });
      if (!object) {
        const error = { code: "file_not_found", message: "The batch's input file was deleted before this request ran." };
        await coordinator.record(
          chunk.first_line,
          chunk.last_line,
          claim.pending.map((p) => ({ line: p.line, error })),
        );
        return;
      }
      texts = (await object.text()).split("\n");
    }
    const lines = texts;
    const wave = claim.pending.slice(0, LINE_CONCURRENCY);
    const results: LineResult[] = [];
    let deferMs = 0;
    let failure: unknown = null;
    await Promise.all(
      wave.map(async (next) => {
        let body: string;
        try {
          body = JSON.stringify((JSON.parse(lines[next.line - chunk.first_line] ?? "") as { body: unknown }).body);
        } catch {
          results.push({ line: next.line, error: { code: "invalid_json_line", message: "This line changed since validation." } });
          return;
        }
        try {
          const outcome = await runner.run({
            batchId: chunk.batch_id,
            tenantId: claim.tenantId,
            keyId: claim.keyId,
            line: next.line,
            customId: next.customId,
            endpoint: claim.endpoint,
            body,
          });
          if (outcome.kind === "deferred") deferMs = Math.max(deferMs, outcome.retryAfterMs);
          else
            results.push({
              line: next.line,
              response: { status_code: outcome.status, request_id: outcome.requestId, body: outcome.body },
              // The gateway's metered record, made consistent again (counts ≥ 0, parts within their totals).
              usage: tokenUsage({
                prompt: outcome.usage.promptTokens,
                completion: outcome.usage.completionTokens,
                cached: outcome.usage.cachedTokens,
                cacheWrite: outcome.usage.cacheWriteTokens,
                reasoning: outcome.usage.reasoningTokens,
              }),
            });
        } catch (err) {
          failure ??= err;
        }
      }),
    );
    // What ran is recorded even when another line failed: the retry then runs only the rest.
    await coordinator.record(chunk.first_line, chunk.last_line, results); // also releases the claim
    if (failure) throw failure;
    if (deferMs > 0) {
      // The limits refused lines at batch priority: the range goes back on the Queue, delayed (not a retry: no DLQ for waiting).
      await env.BATCH_REQUESTS.send(chunk, { contentType: "json", delaySeconds: Math.min(Math.ceil(deferMs / 1000), 60) });
      return;
    }
  }
}

/** The dead-letter queue's consumer: a chunk that kept failing becomes error lines, so its batch still finishes. */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: ConsumerEnv): Promise<void> {
  for (const message of batch.messages) {
    const parsed = ChunkMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      log.error("tail", "dropped a malformed batch chunk message from the dead-letter queue", { op: "batch", detail: `message ${message.id}` });
      message.ack();
      continue;
    }
    try {
      await env.coordinator(parsed.data.batch_id).failChunk(parsed.data, "This request could not be executed: its part of the batch failed repeatedly.");
      message.ack();
    } catch (err) {
      log.error("tail", "dead-lettered batch chunk not recorded", { op: "batch", detail: parsed.data.batch_id, message: errorMessage(err) });
      message.retry();
    }
  }
}
