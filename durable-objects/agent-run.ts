import { DurableObject } from "cloudflare:workers";
import { ResponseRun, type RunStart } from "../workers/tail/src/responses/engine";
import { RemoteTools } from "../workers/tail/src/responses/tools";
import { keepAliveMs } from "../workers/tail/src/responses/events";
import { d1RunIndex, inFlightView, type AgentRunInFlight } from "../workers/tail/src/responses/in-flight";
import { testClockAllowed } from "../workers/shared/src/test-clock";

/**
 * One instance per response (named by its `resp_…` id), for `/v1/responses` and `/v1/agentic`: the
 * run's state, its items, its event log (sequence numbers) and the alarm for its timeout and its
 * retention. The logic is workers/tail/src/responses/engine.ts; this class only exposes it over
 * RPC, scoped to the tenant that created the run (any other tenant gets `null`: a 404). Hosted by tail.
 */
export class AgentRun extends DurableObject<TailEnv> {
  readonly #run: ResponseRun;

  constructor(ctx: DurableObjectState, env: TailEnv) {
    super(ctx, env);
    this.#run = new ResponseRun({
      storage: ctx.storage,
      gateway: { run: async (input) => env.GATEWAY_AGENT.run(input) },
      tools: new RemoteTools(env),
      now: () => Date.now(),
      keepAliveMs: keepAliveMs(env),
      index: d1RunIndex(env.TAIL_DB, (p) => ctx.waitUntil(p)),
    });
    void ctx.blockConcurrencyWhile(async () => {
      await this.#run.load();
      // A run the object was restarted in the middle of continues from its persisted state.
      this.#run.resume();
    });
  }

  async create(start: RunStart, mode: { stream: boolean; background: boolean }): Promise<Response> {
    return this.#run.create(start, mode);
  }

  async retrieve(tenantId: string, query: { stream: boolean; startingAfter: number }): Promise<Response | null> {
    return this.#run.owns(tenantId) ? this.#run.retrieve(query) : null;
  }

  async cancel(tenantId: string, requestId?: string): Promise<Response | null> {
    return this.#run.owns(tenantId) ? this.#run.cancel(requestId) : null;
  }

  async inputItems(tenantId: string, query: { order: "asc" | "desc"; after: string | null; limit: number }): Promise<Response | null> {
    return this.#run.owns(tenantId) ? this.#run.inputItems(query) : null;
  }

  async remove(tenantId: string): Promise<Response | null> {
    return this.#run.owns(tenantId) ? this.#run.delete() : null;
  }

  async conversation(tenantId: string): Promise<{ items: string; finished: boolean } | null> {
    return this.#run.owns(tenantId) ? this.#run.conversation() : null;
  }

  /** The run as the console's "agent runs in flight" lists it; null once it ended (or for another tenant). */
  async inFlight(tenantId: string): Promise<AgentRunInFlight | null> {
    const run = this.#run.record;
    return run && this.#run.owns(tenantId) ? inFlightView(run) : null;
  }

  /** Test stack only: restarts the object (its in-memory state is gone; storage and the alarm stay). */
  async restart(): Promise<{ ok: boolean }> {
    if (!testClockAllowed(this.env)) return { ok: false };
    this.ctx.abort("restarted by a test");
    return { ok: true };
  }

  override async alarm(): Promise<void> {
    return this.#run.alarm();
  }
}
