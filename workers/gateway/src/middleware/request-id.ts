import { GATEWAY_HEADERS } from "../../../shared/src/proxy/headers";
import type { MiddlewareHandler } from "hono";
import { clientRequestIdFrom, newId } from "../../../shared/src";
import type { GatewayBindings } from "../types";
import { internalCallOf } from "../batch/line-call";

/**
 * Gives every request the gateway's own id, echoed in `x-request-id` on every response: the id
 * billing, logs and support know it by. A client's own id (`x-client-request-id`, or an
 * `x-request-id` it sent) is kept beside it and echoed in `x-client-request-id`, OpenAI's
 * convention — never used as the request's identity (shared/ids.ts).
 */
export function requestId(): MiddlewareHandler<GatewayBindings> {
  return async function requestIdMiddleware(c, next) {
    // A batch line's id is derived from its batch and line (batch/line-service.ts), a run step's from
    // its response id and step (responses/step-service.ts): its usage is billed once however often it runs.
    const id = internalCallOf(c.req.raw)?.requestId ?? newId("req");
    const clientId = clientRequestIdFrom(c.req.raw.headers);
    c.set("requestId", id);
    c.set("clientRequestId", clientId);
    await next();
    c.res.headers.set("x-request-id", id);
    // The same id under the gateway's own prefix: what `GET /v1/usage/requests/{id}` takes.
    c.res.headers.set(GATEWAY_HEADERS.requestId, id);
    if (clientId !== null) c.res.headers.set("x-client-request-id", clientId);
  };
}
