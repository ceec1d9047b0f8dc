import type { Hono } from "hono";
import { AgentStepRequestSchema, agentStepRequestId, type AgentStepOutcome } from "../../../shared/src/contracts/agent-step";
import { runInternalCall } from "../batch/line-call";
import type { GatewayBindings } from "../types";

const errorBody = (message: string, code: string, type: string) => JSON.stringify({ error: { message, type, param: null, code } });

/**
 * Runs one model step of a Responses/agentic run through the gateway's own app — the same route,
 * validation, model check, limits and budget reservation, routing/fallbacks (model-proxy) and
 * metering as an interactive `POST /v1/chat/completions` — as the key that created the run,
 * re-authenticated by id (cached like a batch key's). The step's request id derives from the
 * response id and step number, so a step run again after a restart is billed once, and its usage
 * event is tagged `response_id` (usage/event.ts). Interactive priority: a client is waiting.
 */
export class AgentSteps {
  readonly #app: Hono<GatewayBindings>;
  readonly #env: GatewayEnv;
  readonly #ctx: ExecutionContext;

  constructor(app: Hono<GatewayBindings>, env: GatewayEnv, ctx: ExecutionContext) {
    this.#app = app;
    this.#env = env;
    this.#ctx = ctx;
  }

  async run(input: unknown): Promise<AgentStepOutcome> {
    const parsed = AgentStepRequestSchema.safeParse(input);
    if (!parsed.success)
      return { status: 400, requestId: "", body: errorBody("The step is malformed.", "invalid_request", "invalid_request_error"), costUsd: null };
    const step = parsed.data;
    const requestId = agentStepRequestId(step.responseId, step.step);
    const run = await runInternalCall(this.#app, this.#env, this.#ctx, {
      keyId: step.keyId,
      tenantId: step.tenantId,
      path: "/v1/chat/completions",
      body: step.body,
      call: { requestId, responseId: step.responseId },
    });
    if (!run.ok) {
      // Auth unreachable is the gateway's outage (503, the run may retry the step), not a bad key.
      const unavailable = run.status >= 500;
      const body = unavailable
        ? errorBody("The gateway could not authenticate the run's key right now.", "service_unavailable", "api_error")
        : errorBody(run.error.message, run.error.code, "authentication_error");
      return { status: unavailable ? 503 : run.status, requestId, body, costUsd: null };
    }
    const { response } = run;
    return {
      status: response.status,
      requestId: response.headers.get("x-request-id") ?? requestId,
      body: await response.text(),
      costUsd: response.headers.get("x-gateway-cost-usd"),
    };
  }
}
