import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import {
  BatchCreateSchema,
  BatchListSchema,
  BatchObjectSchema,
  DeletedFileSchema,
  FileListSchema,
  FileObjectSchema,
  InlineBatchSchema,
} from "../../../shared/src/contracts/batches";
import { API_KEY_SECURITY, errorResponses, jsonBody, jsonResponse } from "../admin/openapi";
import type { GatewayBindings } from "../types";

/**
 * The OpenAPI entries of `/v1/files`, `/v1/batches` and `/v1/batch`. Documented only: the routes
 * forward to tail unread (an upload streams on into R2, so no zod gate may read it first), and tail
 * validates with the same schemas (shared/src/contracts/batches.ts) these entries show.
 */
const tags = ["batches"];
const security = API_KEY_SECURITY;
const SCOPE = "Needs the `batch` scope.";

const FileId = z.object({ file_id: z.string().max(128).meta({ example: "file-3hVbq9pC1Wm0YfL2xN7aKd0Q" }) });
const BatchId = z.object({ batch_id: z.string().max(128).meta({ example: "batch_3hVbq9pC1Wm0YfL2xN7aKd0Q" }) });
const Cursor = {
  after: z.string().max(128).optional().describe("The id of the last object of the previous page."),
};
const FileListQuery = z.object({
  ...Cursor,
  limit: z.number().int().min(1).max(10_000).optional().describe("Default 10,000."),
  order: z.enum(["asc", "desc"]).optional().describe("By `created_at`; default `desc`."),
  purpose: z.string().max(64).optional(),
});
const BatchListQuery = z.object({ ...Cursor, limit: z.number().int().min(1).max(100).optional().describe("Default 20.") });
const Upload = z.object({
  file: z.string().meta({ format: "binary" }).describe("The JSONL file: one request per line, `{custom_id, method, url, body}`."),
  purpose: z.literal("batch").describe("Only `batch` is supported (anything else: 400 naming `purpose`)."),
});

const LIMITS =
  "A batch's lines are checked before any runs — valid JSON, a unique `custom_id` (≤ 512 characters), `method` POST, `url` the batch's " +
  "`endpoint`, a `body` with a `model` the key may use and no `stream`, ≤ 1 MiB per line, ≤ 50,000 lines — and a batch with any bad line " +
  "ends `failed` naming every offending line (1-based) in `errors.data`. Lines run as the key that created the batch, through the same " +
  "path as interactive requests, at batch priority (80% of each limit). `usage` sums every answered line's metered usage.";

export function documentFilesAndBatches(app: OpenAPIHono<GatewayBindings>): void {
  const r = app.openAPIRegistry;
  r.registerPath({
    method: "post",
    path: "/v1/files",
    tags,
    security,
    summary: "Upload a batch input file (multipart)",
    description: `${SCOPE} Streamed into storage as it arrives; at most 100 MB (413 beyond).`,
    request: { body: { required: true, content: { "multipart/form-data": { schema: Upload } } } },
    responses: { 200: jsonResponse(FileObjectSchema, "The file"), ...errorResponses(400, 401, 403, 503) },
  });
  r.registerPath({
    method: "get",
    path: "/v1/files",
    tags,
    security,
    summary: "List your tenant's files",
    description: SCOPE,
    request: { query: FileListQuery },
    responses: { 200: jsonResponse(FileListSchema, "A page of files"), ...errorResponses(400, 401, 403, 503) },
  });
  r.registerPath({
    method: "get",
    path: "/v1/files/{file_id}",
    tags,
    security,
    summary: "Retrieve a file",
    description: SCOPE,
    request: { params: FileId },
    responses: { 200: jsonResponse(FileObjectSchema, "The file"), ...errorResponses(401, 403, 404, 503) },
  });
  r.registerPath({
    method: "delete",
    path: "/v1/files/{file_id}",
    tags,
    security,
    summary: "Delete a file",
    description: SCOPE,
    request: { params: FileId },
    responses: { 200: jsonResponse(DeletedFileSchema, "Deleted"), ...errorResponses(401, 403, 404, 503) },
  });
  r.registerPath({
    method: "get",
    path: "/v1/files/{file_id}/content",
    tags,
    security,
    summary: "Download a file's bytes (input, output or error file)",
    description: `${SCOPE} Output and error files are JSONL, one \`{id, custom_id, response: {status_code, request_id, body}, error}\` per line, in line order.`,
    request: { params: FileId },
    responses: {
      200: { description: "The file's bytes", content: { "application/octet-stream": { schema: z.string().meta({ format: "binary" }) } } },
      ...errorResponses(401, 403, 404, 503),
    },
  });
  r.registerPath({
    method: "post",
    path: "/v1/batches",
    tags,
    security,
    summary: "Create a batch from an uploaded file",
    description: `${SCOPE} The key also needs the endpoint's scope (\`chat\` or \`embeddings\`). Answers the batch in \`validating\`. ${LIMITS}`,
    request: jsonBody(BatchCreateSchema, undefined, {
      input_file_id: "file-3hVbq9pC1Wm0YfL2xN7aKd0Q",
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    }),
    responses: { 200: jsonResponse(BatchObjectSchema, "The batch"), ...errorResponses(400, 401, 403, 404, 503) },
  });
  r.registerPath({
    method: "get",
    path: "/v1/batches",
    tags,
    security,
    summary: "List your tenant's batches, newest first",
    description: SCOPE,
    request: { query: BatchListQuery },
    responses: { 200: jsonResponse(BatchListSchema, "A page of batches"), ...errorResponses(400, 401, 403, 503) },
  });
  r.registerPath({
    method: "get",
    path: "/v1/batches/{batch_id}",
    tags,
    security,
    summary: "Retrieve a batch (status, request counts, usage, result files)",
    description: SCOPE,
    request: { params: BatchId },
    responses: { 200: jsonResponse(BatchObjectSchema, "The batch"), ...errorResponses(401, 403, 404, 503) },
  });
  r.registerPath({
    method: "post",
    path: "/v1/batches/{batch_id}/cancel",
    tags,
    security,
    summary: "Cancel a batch: no new lines start; lines in flight finish and are kept",
    description: `${SCOPE} \`cancelling\`, then \`cancelled\` with the partial output. A finished batch: 409.`,
    request: { params: BatchId },
    responses: { 200: jsonResponse(BatchObjectSchema, "The batch"), ...errorResponses(401, 403, 404, 409, 503) },
  });
  r.registerPath({
    method: "post",
    path: "/v1/batch",
    tags,
    security,
    summary: "Create a batch inline (the requests in the body instead of a file)",
    description: `${SCOPE} The requests become an input file (purpose \`batch\`), then it is an ordinary batch: the same object, files and limits. ${LIMITS}`,
    request: jsonBody(InlineBatchSchema, undefined, {
      endpoint: "/v1/chat/completions",
      requests: [
        { custom_id: "q1", method: "POST", url: "/v1/chat/completions", body: { model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "Hi" }] } },
      ],
    }),
    responses: { 200: jsonResponse(BatchObjectSchema, "The batch"), ...errorResponses(400, 401, 403, 503) },
  });
}
