import { GATEWAY_HEADERS } from "../proxy/headers";
import { PROXY_OPERATIONS } from "../proxy/operations";
import { fail, ok, type Result } from "../result";
import { validationError } from "../validation";
import { isProxyEnvelope, ProxyRequestSchema, type ProxyOperation, type ProxyRequest } from "./proxy";

/**
 * The same `ProxyRequest` (contracts/proxy.ts), carried as an HTTP request over the service binding
 * (gateway → tail → model-proxy: `env.TAIL.fetch()`, `env.MODEL_PROXY.fetch()`) instead of as the
 * argument of an RPC method.
 *
 * Why HTTP: in this runtime a service-binding `fetch()` hop costs less than an RPC method that
 * returns a Response (bench: three bare Workers chained by `fetch()` answer ~0.3 ms sooner at p50
 * than the same three chained by RPC), and the body travels as the client's own JSON text, which
 * tail never parses. Streams go the same way: cancelling a streamed answer's reader (the gateway's
 * SSE pump does when the client leaves or the upstream goes silent) cancels the response across
 * both hops and closes the upstream connection, which a `ReadableStream` returned over RPC does not
 * carry back (workerd#7298) — the reason streams once needed an RPC "client link".
 *
 * Wire format: `POST https://proxy.internal/<operation>`, the body as `application/json`, the
 * principal token and request id in headers, and each allow-listed client header under
 * `x-gateway-forward-<name>`. Tail reads only the envelope (never the body); model-proxy decodes
 * the whole request and checks it against `ProxyRequestSchema` like an RPC argument.
 */
export const PROXY_HTTP_HEADERS = {
  principalToken: GATEWAY_HEADERS.principalToken,
  requestId: "x-request-id",
  forwardedPrefix: GATEWAY_HEADERS.forwardedPrefix,
} as const;

const ORIGIN = "https://proxy.internal";

/** What tail needs to decide, without reading the body. */
export interface ProxyEnvelope {
  operation: ProxyOperation;
  principalToken: string;
  requestId: string;
}

const EnvelopeSchema = ProxyRequestSchema.pick({ principalToken: true, requestId: true, operation: true });

/**
 * Encodes a ProxyRequest whose body is `bodyText` (the client's JSON, as sent); `traceparent` (the
 * gateway's span, W3C) travels as the standard header: tail passes the request on untouched and
 * model-proxy parents its attempt spans on it.
 */
export function proxyHttpRequest(req: Omit<ProxyRequest, "body">, bodyText: string, traceparent?: string): Request {
  const headers = new Headers({
    "content-type": "application/json",
    [PROXY_HTTP_HEADERS.principalToken]: req.principalToken,
    [PROXY_HTTP_HEADERS.requestId]: req.requestId,
  });
  if (traceparent) headers.set("traceparent", traceparent);
  for (const [name, value] of Object.entries(req.headers ?? {})) headers.set(PROXY_HTTP_HEADERS.forwardedPrefix + name, value);
  return new Request(`${ORIGIN}/${req.operation}`, { method: "POST", headers, body: bodyText });
}

/** The path without its slash: read off `https://proxy.internal/<operation>` as sent, the URL parser for anything else. */
function operationOf(url: string): string {
  const tail = url.startsWith(ORIGIN_SLASH) ? url.slice(ORIGIN_SLASH.length) : "";
  return tail in PROXY_OPERATIONS ? tail : new URL(url).pathname.slice(1);
}
const ORIGIN_SLASH = `${ORIGIN}/`;

/** The operation, token and request id of an encoded ProxyRequest; 400 naming what is wrong. */
export function proxyEnvelopeOf(request: Request): Result<ProxyEnvelope> {
  if (request.method !== "POST") return fail({ code: "method_not_allowed", message: "A proxied request is a POST." });
  const envelope = {
    operation: operationOf(request.url),
    principalToken: request.headers.get(PROXY_HTTP_HEADERS.principalToken) ?? undefined,
    requestId: request.headers.get(PROXY_HTTP_HEADERS.requestId) ?? undefined,
  };
  if (isProxyEnvelope(envelope)) return ok({ operation: envelope.operation, principalToken: envelope.principalToken, requestId: envelope.requestId });
  const parsed = EnvelopeSchema.safeParse(envelope);
  return parsed.success ? ok(parsed.data as ProxyEnvelope) : fail(validationError(parsed.error));
}

/**
 * Decodes an encoded ProxyRequest into the plain object an RPC caller would have sent, for the
 * callee's own `ProxyRequestSchema` check. 400 when the envelope or the JSON body is malformed.
 */
export async function proxyRequestOf(request: Request): Promise<Result<ProxyRequest>> {
  const envelope = proxyEnvelopeOf(request);
  if (!envelope.ok) return envelope;
  let body: unknown;
  try {
    body = JSON.parse(await request.text());
  } catch {
    return fail({ code: "invalid_json", message: "The proxied request's body is not valid JSON." });
  }
  let headers: Record<string, string> | undefined;
  for (const [name, value] of request.headers) {
    if (name.startsWith(PROXY_HTTP_HEADERS.forwardedPrefix)) (headers ??= {})[name.slice(PROXY_HTTP_HEADERS.forwardedPrefix.length)] = value;
  }
  return ok({ ...envelope.value, body: body as Record<string, unknown>, ...(headers ? { headers } : {}) });
}
