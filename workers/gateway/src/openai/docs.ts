import type { RouteConfig } from "@hono/zod-openapi";
import type { z } from "zod";
import { API_KEY_SECURITY, errorResponses, jsonBody, jsonResponse } from "../admin/openapi";
import type { OpenAISurface } from "./surface";

const SSE_NOTE =
  'With `stream: true` the answer is `text/event-stream`: one `data: {chunk}` event per delta, then `data: [DONE]`. A stream that fails mid-way ends with `data: {"error":{…}}` (the SDKs raise it).';

/** An error response entry in OpenAI's error shape. */
function error(description: string) {
  return { description, content: errorResponses(400)[400].content };
}

/**
 * The OpenAPI description of a proxied POST operation. The routes themselves parse the body once
 * with the same schema (proxy.ts), so the document and the validation cannot drift apart.
 */
export function proxiedRoute(
  surface: OpenAISurface,
  path: string,
  summary: string,
  request: z.ZodType,
  response: z.ZodType,
  streams: boolean,
  examples: { request?: unknown; response?: unknown } = {},
): RouteConfig {
  const answer = examples.response === undefined ? {} : { example: examples.response };
  const description = [streams ? SSE_NOTE : null, surface.note ?? null].filter((d) => d !== null).join(" ");
  return {
    method: "post",
    path,
    tags: surface.tags,
    summary,
    description: description || undefined,
    security: API_KEY_SECURITY,
    request: { ...jsonBody(request as never, undefined, examples.request), ...(surface.headers ? { headers: surface.headers } : {}) },
    responses: {
      200: streams
        ? {
            description: "The completion (JSON), or a stream of chunks (SSE)",
            content: { "application/json": { schema: response as never, ...answer }, "text/event-stream": { schema: { type: "string" } } },
          }
        : jsonResponse(response as never, "The result", examples.response),
      ...errorResponses(400, 401, 403, 404),
      413: error("The body exceeds MAX_BODY_BYTES (4 MiB by default)"),
      415: error("The body is not `application/json`"),
      429: error("A rate limit or budget of the key/tenant, or the provider's own rate limit; see `retry-after`"),
      502: error("The provider failed, or rejected the gateway's credentials for it"),
      503: error("A gateway dependency is unavailable; retry"),
      504: error("The provider did not answer in time"),
    },
  } as RouteConfig;
}
