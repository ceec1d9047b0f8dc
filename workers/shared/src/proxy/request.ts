import { z } from "zod";
import { PrincipalTokenSchema } from "../contracts/principal";
import { FORWARDED_HEADERS, PROXY_OPERATION_NAMES } from "./operations";

/**
 * What the gateway asks tail, and tail model-proxy, to do: one row of the operations table
 * (operations.ts) for a verified principal. The body is the client's request (validated by the
 * gateway with the row's schema) with the client's model name; model-proxy resolves it to provider
 * targets and answers with a Response in the operation's dialect (JSON or SSE), or an OpenAI-shaped
 * error Response. The type is this schema's; it crosses the bindings as HTTP (contracts/proxy-http.ts),
 * which model-proxy decodes and checks against this schema.
 */
export const ProxyRequestSchema = z.object({
  /** Signed principal token; tail and model-proxy verify it before acting for the tenant. */
  principalToken: PrincipalTokenSchema,
  requestId: z.string().min(1).max(128),
  operation: z.enum(PROXY_OPERATION_NAMES),
  /** The client's body; its members are read by name where needed (the gateway validated it). */
  body: z.looseObject({ model: z.string().min(1).max(256) }).transform((body): Record<string, unknown> => body),
  /** Client request headers the upstream must see, allow-listed per operation (`forwardHeaders`). Never auth. */
  headers: z
    .record(
      z.string().refine((name) => FORWARDED_HEADERS.has(name), "Not a forwarded header."),
      z.string().max(1024),
    )
    .optional(),
});

export type ProxyRequest = z.infer<typeof ProxyRequestSchema>;
