import { z } from "zod";
import { MAX_PRINCIPAL_TOKEN_CHARS, PrincipalTokenSchema } from "../contracts/principal";
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

type Parsed<T> = { success: true; data: T } | { success: false; error: z.ZodError };

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};
const boundedString = (v: unknown, max: number): v is string => typeof v === "string" && v.length >= 1 && v.length <= max;
const isOperation = (v: unknown): v is ProxyRequest["operation"] => typeof v === "string" && (PROXY_OPERATION_NAMES as readonly string[]).includes(v);

/**
 * The envelope part of a proxy request (token, request id, operation) as `ProxyRequestSchema`
 * checks it, without zod when it is well formed: every hop checks it, and zod's object machinery
 * was a visible part of each hop's JavaScript per request. Accepts exactly what the schema's
 * fields accept; anything else goes through zod, for its error.
 */
export function isProxyEnvelope(v: {
  principalToken?: unknown;
  requestId?: unknown;
  operation?: unknown;
}): v is Pick<ProxyRequest, "principalToken" | "requestId" | "operation"> {
  return boundedString(v.principalToken, MAX_PRINCIPAL_TOKEN_CHARS) && boundedString(v.requestId, 128) && isOperation(v.operation);
}

/**
 * `ProxyRequestSchema.safeParse(raw)`, without zod for a well-formed request (what the gateway
 * sends every time): the same output (the known fields only; the body object as given), and for
 * anything the hand check does not accept, zod's own verdict and error.
 */
export function parseProxyRequest(raw: unknown): Parsed<ProxyRequest> {
  if (isPlainObject(raw) && isProxyEnvelope(raw)) {
    const { principalToken, requestId, operation } = raw;
    const body: unknown = (raw as Record<string, unknown>)["body"];
    const headers: unknown = (raw as Record<string, unknown>)["headers"];
    if (isPlainObject(body) && boundedString(body["model"], 256)) {
      if (headers === undefined) return { success: true, data: { principalToken, requestId, operation, body } };
      if (isPlainObject(headers) && Object.entries(headers).every(([k, v]) => FORWARDED_HEADERS.has(k) && typeof v === "string" && v.length <= 1024)) {
        return { success: true, data: { principalToken, requestId, operation, body, headers: headers as Record<string, string> } };
      }
    }
  }
  return ProxyRequestSchema.safeParse(raw);
}
