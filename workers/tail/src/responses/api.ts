import { ApiError, newId, parseOrThrow } from "../../../shared/src";
import { checkUpstreamUrl, upstreamPolicy } from "../../../shared/src/ssrf";
import type { Caller } from "../api/router";
import { inputItemsOf } from "./items";
import { AgenticCreateSchema, ResponsesCreateSchema, runLimits, type CreateRequest, type Surface } from "./request";
import { z } from "zod";

/**
 * `/v1/responses…` and `/v1/agentic…` as tail serves them (the gateway authenticated the caller and
 * checked the `chat` scope): validation here, then the run's own `AgentRun` object does the rest.
 */
const RESPONSE_ID = /^resp_[A-Za-z0-9]{1,64}$/;

const notFound = (id: string) => new ApiError({ code: "not_found", param: "response_id", message: `No response with id '${id.slice(0, 128)}' found.` });

const runOf = (env: TailEnv, id: string) => env.AGENT_RUN.get(env.AGENT_RUN.idFromName(id));

const RetrieveQuery = z
  .object({
    stream: z.enum(["true", "false"]).optional(),
    starting_after: z.coerce.number().int().min(-1).max(1_000_000).optional(),
    include: z.unknown().optional(),
  })
  .strict();
const InputItemsQuery = z
  .object({
    order: z.enum(["asc", "desc"]).optional(),
    after: z.string().max(128).optional(),
    limit: z.coerce.number().int().min(1).max(100).optional(),
    include: z.unknown().optional(),
  })
  .strict();

export async function createResponse(env: TailEnv, caller: Caller, surface: Surface, body: unknown): Promise<Response> {
  const request: CreateRequest = parseOrThrow(surface === "agentic" ? AgenticCreateSchema : ResponsesCreateSchema, body);
  if (request.background && request.store === false) {
    throw new ApiError({
      code: "invalid_request",
      param: "store",
      message: "A background response must be stored: 'store' cannot be false with 'background: true'.",
    });
  }
  // Every server-side tool URL passes the SSRF guard before anything runs (and again on every hop).
  const policy = upstreamPolicy(env);
  (request.tools ?? []).forEach((tool, i) => {
    const field = tool.type === "mcp" ? "server_url" : tool.type === "webhook" ? "url" : null;
    if (field === null) return;
    const check = checkUpstreamUrl(tool.type === "mcp" ? tool.server_url : tool.type === "webhook" ? tool.url : "", policy);
    if (!check.ok) throw new ApiError({ code: "invalid_request", param: `tools[${i}].${field}`, message: `The tool's URL ${check.reason}.` });
  });
  let history: string | null = null;
  if (request.previous_response_id) {
    const previous = RESPONSE_ID.test(request.previous_response_id) ? await runOf(env, request.previous_response_id).conversation(caller.tenantId) : null;
    if (!previous) {
      throw new ApiError({
        code: "not_found",
        param: "previous_response_id",
        message: `Previous response with id '${request.previous_response_id.slice(0, 128)}' not found.`,
      });
    }
    if (!previous.finished) {
      throw new ApiError({ code: "invalid_request", param: "previous_response_id", message: "The previous response is still in progress." });
    }
    history = previous.items;
  }
  const id = newId("resp", 24);
  return runOf(env, id).create(
    {
      record: { id, tenantId: caller.tenantId, keyId: caller.keyId, surface, request, limits: runLimits(request), input: inputItemsOf(request.input) },
      history,
    },
    { stream: request.stream === true, background: request.background === true },
  );
}

/** `GET|DELETE …/{id}`, `POST …/{id}/cancel`, `GET …/{id}/input_items`; another tenant's id is a 404. */
export async function responseRoute(env: TailEnv, caller: Caller, method: string, id: string, action: string | undefined, url: URL): Promise<Response | null> {
  if (!RESPONSE_ID.test(id)) throw notFound(id);
  const run = runOf(env, id);
  const query = Object.fromEntries(url.searchParams);
  let answer: Response | null;
  if (action === undefined && method === "GET") {
    const q = parseOrThrow(RetrieveQuery, query);
    answer = await run.retrieve(caller.tenantId, { stream: q.stream === "true", startingAfter: q.starting_after ?? -1 });
  } else if (action === undefined && method === "DELETE") answer = await run.remove(caller.tenantId);
  else if (action === "cancel" && method === "POST") answer = await run.cancel(caller.tenantId, caller.requestId);
  else if (action === "input_items" && method === "GET") {
    const q = parseOrThrow(InputItemsQuery, query);
    answer = await run.inputItems(caller.tenantId, { order: q.order ?? "desc", after: q.after ?? null, limit: q.limit ?? 20 });
  } else return null;
  if (!answer) throw notFound(id);
  return answer;
}
