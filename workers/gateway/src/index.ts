import { WorkerEntrypoint } from "cloudflare:workers";
import type { AgentStepOutcome } from "../../shared/src/contracts/agent-step";
import type { BatchLineOutcome } from "../../shared/src/contracts/batch-line";
import { createApp } from "./app";
import { BatchLines } from "./batch/line-service";
import { AgentSteps } from "./responses/step-service";

/** The gateway: the only public Worker. */
const app = createApp();

/**
 * tail's batch consumer runs each batch line through here (`run`): the gateway's own app, so a line
 * takes exactly the path an interactive request takes (batch/line-service.ts). Reached only
 * through tail's `GATEWAY_BATCH` service binding; the public fetch below never routes to it.
 */
export class BatchLineService extends WorkerEntrypoint<GatewayEnv> {
  async run(input: unknown): Promise<BatchLineOutcome> {
    return new BatchLines(app, this.env, this.ctx).run(input);
  }
}

/**
 * tail's response runs (`/v1/responses`, `/v1/agentic`) run each model step through here: the
 * gateway's own app, as the run's key (responses/step-service.ts). Reached only through tail's
 * `GATEWAY_AGENT` service binding.
 */
export class AgentStepService extends WorkerEntrypoint<GatewayEnv> {
  async run(input: unknown): Promise<AgentStepOutcome> {
    return new AgentSteps(app, this.env, this.ctx).run(input);
  }
}

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<GatewayEnv>;
