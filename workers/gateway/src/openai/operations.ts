import type { OpenAPIHono } from "@hono/zod-openapi";
import { PROXY_OPERATIONS, type ProxiedOperation, type ProxyOperation } from "../../../shared/src/proxy/operations";
import { EXAMPLES } from "../docs/examples";
import type { GatewayBindings } from "../types";
import { proxiedRoute } from "./docs";
import { proxyOperation } from "./proxy";
import type { OpenAISurface } from "./surface";

/** The OpenAI surface's rows of the operations table (shared/src/proxy/operations.ts). */
export const OPENAI_OPERATIONS = (Object.entries(PROXY_OPERATIONS) as [ProxyOperation, ProxiedOperation][]).filter(([, op]) => op.surface === "openai");

/** The documented examples (optional for a row). */
const OPERATION_EXAMPLES: Partial<Record<ProxyOperation, { request?: unknown; response?: unknown }>> = {
  chat: EXAMPLES.chat,
  completions: EXAMPLES.completions,
  embeddings: EXAMPLES.embeddings,
};

/**
 * `POST <prefix><path>` for each OpenAI row of the operations table (chat/completions, completions,
 * embeddings, …): documented from the row, validated here with its schema, proxied through tail.
 */
export function registerOperations(app: OpenAPIHono<GatewayBindings>, s: OpenAISurface): void {
  for (const [name, op] of OPENAI_OPERATIONS) {
    const path = `${s.prefix}${op.path}`;
    if (op.response) {
      app.openAPIRegistry.registerPath(proxiedRoute(s, path, op.summary, op.schema, op.response, op.transport.stream, OPERATION_EXAMPLES[name]));
    }
    app.post(path, (c) => proxyOperation(c, { ...s.perRequest?.(c), operation: name }));
  }
}
