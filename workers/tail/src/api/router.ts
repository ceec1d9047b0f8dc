import { GATEWAY_HEADERS } from "../../../shared/src/proxy/headers";
import { ApiError, errorResponse, hasScope, parseOrThrow, verifyPrincipalToken, type PrincipalClaims } from "../../../shared/src";
import { createBatch, createInlineBatch, cancelBatch, getBatch, listBatches } from "../batches/api";
import { BatchListQuerySchema } from "../batches/model";
import { deleteFile, FileListQuerySchema, fileObject, getFile, listFiles } from "../files/store";
import { uploadFile } from "../files/upload";
import { createResponse, responseRoute } from "../responses/api";
import { errorMessage, log } from "../../../shared/src/log";

/** The header the gateway puts the caller's signed principal token in (its request already authenticated). */
export const PRINCIPAL_HEADER = GATEWAY_HEADERS.principal;

export interface Caller extends PrincipalClaims {
  requestId: string | undefined;
}

const json = (value: unknown, status = 200) => new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });

const notFound = (what: "file" | "batch", id: string) =>
  new ApiError({ code: "not_found", param: what === "file" ? "file_id" : "batch_id", message: `No such ${what}: '${id.slice(0, 128)}'.` });

function queryOf(url: URL): Record<string, string> {
  return Object.fromEntries(url.searchParams);
}

/**
 * Files and batches (`/v1/files…`, `/v1/batches…`, `/v1/batch`) and response runs
 * (`/v1/responses…`, `/v1/agentic…`), as the gateway forwards them to tail's `TailApiService`: the
 * request as the client sent it (an upload's body still streaming) with the caller's principal
 * token. Every operation is scoped to the token's tenant and needs the key's `batch` scope (files,
 * batches) or `chat` scope (responses).
 */
export async function handleApi(env: TailEnv, request: Request): Promise<Response> {
  const requestId = request.headers.get("x-request-id") ?? undefined;
  try {
    const token = request.headers.get(PRINCIPAL_HEADER);
    if (!token) throw new ApiError({ code: "missing_api_key", message: "No principal." });
    const claims = await verifyPrincipalToken(token, env.PRINCIPAL_VERIFY_JWK);
    if (!claims.ok) throw ApiError.from(claims.error);
    const collection = new URL(request.url).pathname.split("/")[2];
    const runs = collection === "responses" || collection === "agentic";
    if (runs && !hasScope(claims.value, "chat")) {
      throw new ApiError({ code: "permission_denied", message: "This API key does not have the 'chat' scope required for responses." });
    }
    if (!runs && !hasScope(claims.value, "batch")) {
      throw new ApiError({ code: "permission_denied", message: "This API key does not have the 'batch' scope required for files and batches." });
    }
    return await route(env, { ...claims.value, requestId }, request);
  } catch (err) {
    if (err instanceof ApiError) return errorResponse(err.toInit(), requestId);
    log.error("tail", "files, batches or responses API failed", { requestId, message: errorMessage(err) });
    return errorResponse({ code: "internal_error", message: "The batch service had an internal error. Quote the request id when reporting it." }, requestId);
  }
}

async function route(env: TailEnv, caller: Caller, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const parts = url.pathname.split("/").filter(Boolean); // ["v1", "files", id?, "content"?]
  const method = request.method;
  const [, collection, id, action] = parts;
  if (parts[0] !== "v1") throw new ApiError({ code: "not_found", message: "Not found." });

  if (collection === "files") {
    if (id === undefined) {
      if (method === "POST") return json(await uploadFile(env, caller, request));
      if (method === "GET") return json(await listFiles(env.TAIL_DB, caller.tenantId, parseOrThrow(FileListQuerySchema, queryOf(url))));
    } else if (parts.length <= 4) {
      const row = await getFile(env.TAIL_DB, caller.tenantId, id);
      if (!row) throw notFound("file", id);
      if (action === undefined && method === "GET") return json(fileObject(row));
      if (action === undefined && method === "DELETE") {
        await deleteFile(env.TAIL_DB, env.FILES, row);
        return json({ id: row.id, object: "file", deleted: true });
      }
      if (action === "content" && method === "GET") {
        const object = await env.FILES.get(row.r2_key);
        if (!object) throw notFound("file", id);
        return new Response(object.body, {
          headers: {
            "content-type": "application/octet-stream",
            "content-length": String(object.size),
            "content-disposition": `attachment; filename="${row.filename.replace(/["\\\r\n]/g, "_")}"`,
          },
        });
      }
    }
  } else if (collection === "batches") {
    if (id === undefined) {
      if (method === "POST") return json(await createBatch(env, caller, await readJson(request)));
      if (method === "GET") return json(await listBatches(env, caller.tenantId, parseOrThrow(BatchListQuerySchema, queryOf(url))));
    } else if (parts.length <= 4) {
      if (action === undefined && method === "GET") return json((await getBatch(env, caller.tenantId, id)) ?? throwNotFound("batch", id));
      if (action === "cancel" && method === "POST") return json(await cancelBatch(env, caller.tenantId, id));
    }
  } else if (collection === "responses" || collection === "agentic") {
    if (id === undefined && method === "POST") return await createResponse(env, caller, collection, await readJson(request));
    if (id !== undefined && parts.length <= 4) {
      const answer = await responseRoute(env, caller, method, id, action, url);
      if (answer) return answer;
    }
  } else if (collection === "batch" && id === undefined && method === "POST") {
    return json(await createInlineBatch(env, caller, await readJson(request)));
  }
  throw new ApiError({ code: "not_found", message: `Unknown route: ${method} ${url.pathname.slice(0, 200)}` });
}

function throwNotFound(what: "file" | "batch", id: string): never {
  throw notFound(what, id);
}

/** JSON bodies of the batch routes: the gateway's request limit (4 MiB) bounds them too. */
const MAX_JSON_BYTES = 4 * 1024 * 1024;

async function readJson(request: Request): Promise<unknown> {
  const declared = Number(request.headers.get("content-length"));
  if (declared > MAX_JSON_BYTES) throw new ApiError({ code: "payload_too_large", message: `The request body is larger than ${MAX_JSON_BYTES} bytes.` });
  const reader = request.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const r = reader ? await reader.read() : { done: true as const, value: undefined };
    if (r.done) break;
    size += r.value.length;
    if (size > MAX_JSON_BYTES) {
      await reader?.cancel().catch(() => {});
      throw new ApiError({ code: "payload_too_large", message: `The request body is larger than ${MAX_JSON_BYTES} bytes.` });
    }
    chunks.push(r.value);
  }
  const text = new TextDecoder().decode(await new Blob(chunks).arrayBuffer());
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError({ code: "invalid_json", message: "The request body is not valid JSON." });
  }
}
