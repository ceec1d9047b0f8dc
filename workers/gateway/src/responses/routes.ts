import type { OpenAPIHono } from "@hono/zod-openapi";
import { apiKeyAuth } from "../middleware/api-key";
import { tailApiForwarder } from "../batch/routes";
import type { GatewayBindings } from "../types";
import { registerHttpFetchAllowlist } from "./fetch-allowlist";

/**
 * OpenAI's Responses API (`/v1/responses…`) and the same engine with our extensions
 * (`/v1/agentic…`): authenticated and scope-checked (`chat`) here, then forwarded as sent to tail,
 * which validates the request and runs it in one `AgentRun` Durable Object per response. Each model
 * step comes back through the gateway's own app (`AgentStepService`), so routing, limits, budgets
 * and metering apply to every step.
 */
export function registerResponses(app: OpenAPIHono<GatewayBindings>): void {
  const forward = tailApiForwarder("chat", "response service");
  for (const base of ["/v1/responses", "/v1/agentic"]) {
    app.use(base, apiKeyAuth());
    app.use(`${base}/*`, apiKeyAuth());
    app.post(base, forward);
    app.get(`${base}/:id`, forward);
    app.delete(`${base}/:id`, forward);
    app.post(`${base}/:id/cancel`, forward);
    app.get(`${base}/:id/input_items`, forward);
  }
  registerHttpFetchAllowlist(app);
}
