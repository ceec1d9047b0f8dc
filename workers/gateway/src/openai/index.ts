import type { OpenAPIHono } from "@hono/zod-openapi";
import { apiKeyAuth } from "../middleware/api-key";
import type { GatewayBindings } from "../types";
import { registerModels } from "./models";
import { registerOperations } from "./operations";

/** The OpenAI-compatible core: chat, completions, embeddings and models, behind API-key auth. */
export function registerOpenAI(app: OpenAPIHono<GatewayBindings>): void {
  for (const path of ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models", "/v1/models/*"]) app.use(path, apiKeyAuth());
  registerOperations(app);
  registerModels(app);
}
