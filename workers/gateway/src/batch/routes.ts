import { GATEWAY_HEADERS } from "../../../shared/src/proxy/headers";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError, requireScope, type Scope } from "../../../shared/src";
import { apiKeyAuth } from "../middleware/api-key";
import type { GatewayBindings } from "../types";
import { documentFilesAndBatches } from "./docs";
import { errorMessage, log } from "../../../shared/src/log";

/** Where the caller's principal token travels to tail (tail's api/router.ts `PRINCIPAL_HEADER`). */
const PRINCIPAL_HEADER = GATEWAY_HEADERS.principal;
const FORWARDED = ["content-type", "content-length"];

/**
 * OpenAI's Files and Batch APIs (`/v1/files…`, `/v1/batches…`) and the seed's inline `POST
 * /v1/batch`: authenticated and scope-checked (`batch`) here, then forwarded to tail, which owns
 * files (R2 + D1) and batches (one coordinator per batch). An upload's body is not read here: it
 * streams to tail and on into R2, where its size limit is enforced as it arrives.
 */
export function registerFilesAndBatches(app: OpenAPIHono<GatewayBindings>): void {
  documentFilesAndBatches(app);
  const paths = ["/v1/files", "/v1/files/*", "/v1/batches", "/v1/batches/*", "/v1/batch"];
  for (const path of paths) app.use(path, apiKeyAuth());
  const forward = tailApiForwarder("batch", "batch service");
  app.post("/v1/files", forward);
  app.get("/v1/files", forward);
  app.get("/v1/files/:id", forward);
  app.delete("/v1/files/:id", forward);
  app.get("/v1/files/:id/content", forward);
  app.post("/v1/batches", forward);
  app.get("/v1/batches", forward);
  app.get("/v1/batches/:id", forward);
  app.post("/v1/batches/:id/cancel", forward);
  app.post("/v1/batch", forward);
}

/**
 * A route handler that forwards the request as sent to tail's `TailApiService` with the caller's
 * principal token, after checking `scope`: files and batches here, response runs
 * (responses/routes.ts). `service` names tail's part in the 503 when it cannot be reached.
 */
export function tailApiForwarder(scope: Scope, service: string): (c: Context<GatewayBindings>) => Promise<Response> {
  return (c) => forward(c, scope, service);
}

async function forward(c: Context<GatewayBindings>, scope: Scope, service: string): Promise<Response> {
  const principal = c.get("principal");
  requireScope(principal, scope);
  const incoming = c.req.raw;
  const headers = new Headers({ [PRINCIPAL_HEADER]: principal.token, "x-request-id": c.get("requestId") });
  for (const name of FORWARDED) {
    const value = incoming.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  const url = new URL(incoming.url);
  const hasBody = incoming.method === "POST";
  let answer: Response;
  try {
    answer = await c.env.TAIL_API.fetch(
      new Request(`https://tail.internal${url.pathname}${url.search}`, { method: incoming.method, headers, body: hasBody ? incoming.body : null }),
    );
  } catch (err) {
    log.error("gateway", "tail unreachable", { requestId: c.get("requestId"), op: service, message: errorMessage(err) });
    throw new ApiError({
      code: "service_unavailable",
      message: `The gateway could not reach its ${service}. Retry the request.`,
      headers: { "retry-after": "1" },
    });
  }
  const out = new Headers();
  for (const name of ["content-type", "content-length", "content-disposition", "cache-control", "retry-after"]) {
    const value = answer.headers.get(name);
    if (value !== null) out.set(name, value);
  }
  return new Response(answer.body, { status: answer.status, headers: out });
}
