import { DurableObject } from "cloudflare:workers";
import { BatchRun, type CreateBatch } from "../workers/tail/src/batches/coordinator";
import type { BatchObject, BatchStatus, ChunkMessage, Claim, LineResult } from "../workers/tail/src/batches/model";
import type { AdvanceClockResult } from "../workers/shared/src/test-clock";

/**
 * One instance per batch (named by the batch id): its state machine, counts, each line's result
 * recorded once, the output/error files and the completion-window alarm. The logic is
 * workers/tail/src/batches/coordinator.ts; this class only exposes it over RPC. Hosted by tail.
 */
export class BatchCoordinator extends DurableObject<TailEnv> {
  readonly #run: BatchRun;

  constructor(ctx: DurableObjectState, env: TailEnv) {
    super(ctx, env);
    this.#run = new BatchRun(ctx.storage, env);
  }

  /** Liveness probe for /health: answers from inside the object without touching batch state. */
  async ping(): Promise<"pong"> {
    return "pong";
  }

  async create(init: CreateBatch): Promise<BatchObject> {
    return this.#run.create(init);
  }

  async get(): Promise<BatchObject | null> {
    return this.#run.batch;
  }

  async claim(first: number, last: number): Promise<Claim> {
    return this.#run.claim(first, last);
  }

  async record(first: number, last: number, results: LineResult[]): Promise<BatchObject | null> {
    return this.#run.record(first, last, results);
  }

  async failChunk(message: ChunkMessage, reason: string): Promise<void> {
    return this.#run.failChunk(message, reason);
  }

  async cancel(): Promise<{ ok: true; batch: BatchObject } | { ok: false; status: BatchStatus }> {
    return this.#run.cancel();
  }

  /** Test stack only (refused elsewhere, workers/shared/src/test-clock.ts): moves the completion window's clock. */
  async advanceClock(ms: unknown): Promise<AdvanceClockResult> {
    return this.#run.advanceClock(ms);
  }

  override async alarm(): Promise<void> {
    return this.#run.alarm();
  }
}
