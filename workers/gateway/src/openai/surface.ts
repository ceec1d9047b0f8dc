import type { Context } from "hono";
import type { Correlation } from "../../../shared/src/contracts/langchain";
import type { GatewayBindings } from "../types";

/**
 * Where the OpenAI routes (chat/completions, completions, embeddings, models) are mounted: the
 * OpenAI API at `/v1`, and again at `/v1/langchain` for LangChain clients. The routes, auth,
 * scopes, limits, routing and errors are the same code; a surface only adds what happens per
 * request (`perRequest`) and what the OpenAPI document says.
 */
export interface OpenAISurface {
  /** Path prefix of the routes: `/v1` or `/v1/langchain`. */
  prefix: string;
  /** OpenAPI tags of the routes. */
  tags: string[];
  /** Added to each route's OpenAPI description. */
  note?: string;
  /** Header parameters the OpenAPI document lists (read by `perRequest`, never validated into a refusal). */
  headers?: import("zod").ZodObject;
  /** What the proxied operations add for one request. */
  perRequest?: (c: Context<GatewayBindings>) => { alwaysReturnUsage: boolean; correlation: Correlation | null };
}

export const OPENAI_SURFACE: OpenAISurface = { prefix: "/v1", tags: ["openai"] };
