import type { OpenAPIHono } from "@hono/zod-openapi";
import {
  ChatCompletionRequestSchema,
  ChatCompletionSchema,
  CompletionRequestSchema,
  CompletionSchema,
  EmbeddingListSchema,
  EmbeddingRequestSchema,
  completionAsk,
  estimateChatPromptTokens,
  estimateInputTokens,
} from "../../../shared/src/openai";
import { EXAMPLES } from "../docs/examples";
import type { GatewayBindings } from "../types";
import { proxiedRoute } from "./docs";
import { proxyOperation } from "./proxy";
import type { OpenAISurface } from "./surface";

/** `POST <prefix>/chat/completions`, `/completions`, `/embeddings`: validated here, proxied through tail. */
export function registerOperations(app: OpenAPIHono<GatewayBindings>, s: OpenAISurface): void {
  const p = s.prefix;
  app.openAPIRegistry.registerPath(
    proxiedRoute(
      s,
      `${p}/chat/completions`,
      "Create a chat completion (streamed or not)",
      ChatCompletionRequestSchema,
      ChatCompletionSchema,
      true,
      EXAMPLES.chat,
    ),
  );
  app.post(`${p}/chat/completions`, (c) =>
    proxyOperation(c, {
      ...s.perRequest?.(c),
      operation: "chat",
      scope: "chat",
      schema: ChatCompletionRequestSchema,
      estimate: (body) => ({ promptTokens: estimateChatPromptTokens(body), completion: completionAsk(body) }),
    }),
  );

  app.openAPIRegistry.registerPath(
    proxiedRoute(
      s,
      `${p}/completions`,
      "Create a text completion (legacy; streamed or not)",
      CompletionRequestSchema,
      CompletionSchema,
      true,
      EXAMPLES.completions,
    ),
  );
  app.post(`${p}/completions`, (c) =>
    proxyOperation(c, {
      ...s.perRequest?.(c),
      operation: "completions",
      scope: "chat",
      schema: CompletionRequestSchema,
      estimate: (body) => ({
        promptTokens: estimateInputTokens(body.prompt) + (typeof body.suffix === "string" ? estimateInputTokens(body.suffix) : 0),
        completion: completionAsk({ max_tokens: body.max_tokens, n: body.n, best_of: body.best_of }),
      }),
    }),
  );

  app.openAPIRegistry.registerPath(
    proxiedRoute(s, `${p}/embeddings`, "Create embeddings (float or base64)", EmbeddingRequestSchema, EmbeddingListSchema, false, EXAMPLES.embeddings),
  );
  app.post(`${p}/embeddings`, (c) =>
    proxyOperation(c, {
      ...s.perRequest?.(c),
      operation: "embeddings",
      scope: "embeddings",
      schema: EmbeddingRequestSchema,
      estimate: (body) => ({ promptTokens: estimateInputTokens(body.input), completion: { maxPerChoice: 0, choices: 1 } }),
    }),
  );
}
