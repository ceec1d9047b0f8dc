import type { OpenAPIHono } from "@hono/zod-openapi";
import { apiKeyAuth } from "../middleware/api-key";
import type { GatewayBindings } from "../types";
import { registerModels } from "./models";
import { OPENAI_OPERATIONS, registerOperations } from "./operations";
import { OPENAI_SURFACE, type OpenAISurface } from "./surface";

/**
 * The OpenAI-compatible core: chat, completions, embeddings and models, behind API-key auth, on a
 * surface (`/v1`, or `/v1/langchain`: langchain/index.ts).
 */
export function registerOpenAI(app: OpenAPIHono<GatewayBindings>, surface: OpenAISurface = OPENAI_SURFACE): void {
  for (const path of [...OPENAI_OPERATIONS.map(([, op]) => op.path), "/models", "/models/*"]) app.use(`${surface.prefix}${path}`, apiKeyAuth());
  registerOperations(app, surface);
  registerModels(app, surface);
}
