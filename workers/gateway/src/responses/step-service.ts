import type { Hono } from "hono";
import { AgentStepRequestSchema, agentStepRequestId, type AgentStepOutcome } from "../../../shared/src/contracts/agent-step";
import { principalOf } from "../batch/line-service";
import { registerInternalCall } from "../batch/line-call";
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
    const principal = await principalOf(this.#env, step.keyId);
    if (!principal.ok || principal.value.tenantId !== step.tenantId) {
      const message = principal.ok ? "The run's key does not belong to its tenant." : principal.error.message;
      const code = principal.ok ? "invalid_api_key" : principal.error.code;
      return { status: 401, requestId, body: errorBody(message, code, "authentication_error"), costUsd: null };
    }
    const request = new Request("https://gateway.internal/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: step.body,
    });
    registerInternalCall(request, { principal: principal.value, requestId, responseId: step.responseId });
    const response = await this.#app.fetch(request, this.#env, this.#ctx);
    return {
      status: response.status,
      requestId: response.headers.get("x-request-id") ?? requestId,
      body: await response.text(),
      costUsd: response.headers.get("x-gateway-cost-usd"),
    };
  }
}
