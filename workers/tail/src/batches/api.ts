import { ApiError, hasScope, parseOrThrow, type Scope } from "../../../shared/src";
import type { Caller } from "../api/router";
import { R2StreamWriter } from "../files/r2-writer";
import { fileKey, getFile, insertFile, listPage, newFileId, pageOf } from "../files/store";
import { maxFileBytes } from "../files/upload";
import { BatchCreateSchema, InlineBatchSchema, newBatchId, TERMINAL, type BatchObject } from "./model";

/** The batch's coordinator (one Durable Object per batch, named by its id). */
export function coordinatorOf(env: Pick<TailEnv, "BATCH_COORDINATOR">, batchId: string) {
  return env.BATCH_COORDINATOR.get(env.BATCH_COORDINATOR.idFromName(batchId));
}

/** `POST /v1/batches`: checks the input file is the tenant's batch file, then hands the batch to its coordinator (which validates its lines). */
export async function createBatch(env: TailEnv, caller: Caller, raw: unknown): Promise<BatchObject> {
  const input = parseOrThrow(BatchCreateSchema, raw);
  // Each line runs as the key through the endpoint's own route, which needs its scope: refused now, not line by line later.
  const scope: Scope = input.endpoint === "/v1/embeddings" ? "embeddings" : "chat";
  if (!hasScope(caller, scope)) {
    throw new ApiError({
      code: "permission_denied",
      param: "endpoint",
      message: `This API key does not have the '${scope}' scope that ${input.endpoint} needs.`,
    });
  }
  const file = await getFile(env.TAIL_DB, caller.tenantId, input.input_file_id);
  if (!file) throw new ApiError({ code: "not_found", param: "input_file_id", message: `No such file: '${input.input_file_id}'.` });
  if (file.purpose !== "batch") {
    throw new ApiError({ code: "invalid_request", param: "input_file_id", message: `The file '${file.id}' has purpose '${file.purpose}', not 'batch'.` });
  }
  const id = newBatchId();
  return coordinatorOf(env, id).create({
    id,
    tenantId: caller.tenantId,
    keyId: caller.keyId,
    models: caller.models ?? null,
    endpoint: input.endpoint,
    inputFileId: file.id,
    metadata: input.metadata ?? null,
  });
}

/**
 * `POST /v1/batch` (the seed's inline form): the requests become a JSONL input file (purpose
 * `batch`, like an upload), then it is an ordinary batch — validated, run and answered the same way.
 */
export async function createInlineBatch(env: TailEnv, caller: Caller, raw: unknown): Promise<BatchObject> {
  const input = parseOrThrow(InlineBatchSchema, raw);
  const fileId = newFileId();
  const writer = new R2StreamWriter(env.FILES, fileKey(caller.tenantId, fileId), {
    limit: maxFileBytes(env),
    put: { httpMetadata: { contentType: "application/jsonl" } },
  });
  const encoder = new TextEncoder();
  for (const request of input.requests) await writer.write(encoder.encode(JSON.stringify(request) + "\n"));
  const bytes = await writer.close();
  await insertFile(env.TAIL_DB, {
    id: fileId,
    tenantId: caller.tenantId,
    keyId: caller.keyId,
    bytes,
    filename: "batch_inline.jsonl",
    purpose: "batch",
    createdAt: Math.floor(Date.now() / 1000),
  }).run();
  return createBatch(env, caller, { input_file_id: fileId, endpoint: input.endpoint, completion_window: input.completion_window, metadata: input.metadata });
}

interface BatchRow {
  id: string;
  tenant_id: string;
  created_at: number;
  status: string;
  object: string;
}

async function ownRow(env: TailEnv, tenantId: string, id: string): Promise<BatchRow | null> {
  return env.TAIL_DB.prepare("SELECT id, tenant_id, created_at, status, object FROM batches WHERE id = ?1 AND tenant_id = ?2")
    .bind(id, tenantId)
    .first<BatchRow>();
}

/** The batch as its coordinator has it now (counts included); null for another tenant's or an unknown id. */
export async function getBatch(env: TailEnv, tenantId: string, id: string): Promise<BatchObject | null> {
  const row = await ownRow(env, tenantId, id);
  if (!row) return null;
  if (TERMINAL.includes(row.status as BatchObject["status"])) return JSON.parse(row.object) as BatchObject;
  return (await coordinatorOf(env, id).get()) ?? (JSON.parse(row.object) as BatchObject);
}

/** `GET /v1/batches`: newest first, cursor `after`; unfinished batches are read from their coordinators for live counts. */
export async function listBatches(env: TailEnv, tenantId: string, query: { after?: string | undefined; limit: number }) {
  const { rows, hasMore } = await pageOf<BatchRow>(env.TAIL_DB, "batches", tenantId, { ...query, order: "desc" });
  const data = await Promise.all(
    rows.map(async (row) =>
      TERMINAL.includes(row.status as BatchObject["status"])
        ? (JSON.parse(row.object) as BatchObject)
        : ((await coordinatorOf(env, row.id).get()) ?? (JSON.parse(row.object) as BatchObject)),
    ),
  );
  return listPage(data, hasMore);
}

export async function cancelBatch(env: TailEnv, tenantId: string, id: string): Promise<BatchObject> {
  const row = await ownRow(env, tenantId, id);
  if (!row) throw new ApiError({ code: "not_found", param: "batch_id", message: `No such batch: '${id.slice(0, 128)}'.` });
  const result = await coordinatorOf(env, id).cancel();
  if (!result.ok) throw new ApiError({ code: "conflict", message: `Cannot cancel a batch with status '${result.status}'.` });
  return result.batch;
}
