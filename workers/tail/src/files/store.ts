import type { z } from "zod";
import { FileListQuerySchema } from "../../../shared/src/contracts/batches";
import { randomBase62 } from "../../../shared/src";

/**
 * Files: bytes in R2 `FILES` under `files/<tenant id>/<file id>`, metadata in D1 `files`. Every read
 * names the tenant, so another tenant's id is simply not found.
 */

/** OpenAI's file object (node_modules/openai/resources/files.d.ts `FileObject`). */
export interface FileObject {
  id: string;
  object: "file";
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: "uploaded" | "processed" | "error";
  expires_at: number | null;
  status_details: null;
}

interface FileRow {
  id: string;
  tenant_id: string;
  key_id: string;
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: "uploaded" | "processed" | "error";
  r2_key: string;
  expires_at: number | null;
}

export const newFileId = (): string => `file-${randomBase62(24)}`;
export const fileKey = (tenantId: string, fileId: string): string => `files/${tenantId}/${fileId}`;

export function fileObject(row: FileRow): FileObject {
  return {
    id: row.id,
    object: "file",
    bytes: row.bytes,
    created_at: row.created_at,
    filename: row.filename,
    purpose: row.purpose,
    status: row.status,
    expires_at: row.expires_at,
    status_details: null,
  };
}

export interface NewFile {
  id: string;
  tenantId: string;
  keyId: string;
  bytes: number;
  filename: string;
  purpose: string;
  createdAt: number;
}

/** The D1 statement that records a file whose bytes are in R2 (idempotent by id: a retried finalisation rewrites it). */
export function insertFile(db: D1Database, f: NewFile): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO files (id, tenant_id, key_id, bytes, created_at, filename, purpose, status, r2_key, expires_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'processed', ?8, NULL)
       ON CONFLICT(id) DO UPDATE SET bytes = excluded.bytes`,
    )
    .bind(f.id, f.tenantId, f.keyId, f.bytes, f.createdAt, f.filename, f.purpose, fileKey(f.tenantId, f.id));
}

export async function getFile(db: D1Database, tenantId: string, id: string): Promise<FileRow | null> {
  return db.prepare("SELECT * FROM files WHERE id = ?1 AND tenant_id = ?2").bind(id, tenantId).first<FileRow>();
}

export async function deleteFile(db: D1Database, bucket: R2Bucket, row: FileRow): Promise<void> {
  await bucket.delete(row.r2_key);
  await db.prepare("DELETE FROM files WHERE id = ?1 AND tenant_id = ?2").bind(row.id, row.tenant_id).run();
}

/** `GET /v1/files` query: OpenAI's cursor pagination (shared/src/contracts/batches.ts). */
export { FileListQuerySchema };
export type FileListQuery = z.infer<typeof FileListQuerySchema>;

export interface ListPage<T> {
  object: "list";
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/**
 * One page of a tenant's rows in `table` (files or batches), ordered by (created_at, id), after the
 * row `after` (a cursor that is not the tenant's own row pages from the start: it reveals nothing).
 */
export async function pageOf<R extends { id: string; created_at: number }>(
  db: D1Database,
  table: "files" | "batches",
  tenantId: string,
  query: { after?: string | undefined; limit: number; order: "asc" | "desc"; purpose?: string | undefined },
): Promise<{ rows: R[]; hasMore: boolean }> {
  const where = ["tenant_id = ?1"];
  const binds: unknown[] = [tenantId];
  if (query.purpose !== undefined && table === "files") {
    binds.push(query.purpose);
    where.push(`purpose = ?${binds.length}`);
  }
  if (query.after !== undefined) {
    const cursor = await db.prepare(`SELECT created_at, id FROM ${table} WHERE id = ?1 AND tenant_id = ?2`).bind(query.after, tenantId).first<R>();
    if (cursor) {
      binds.push(cursor.created_at, cursor.id);
      where.push(`(created_at, id) ${query.order === "desc" ? "<" : ">"} (?${binds.length - 1}, ?${binds.length})`);
    }
  }
  const dir = query.order === "desc" ? "DESC" : "ASC";
  binds.push(query.limit + 1);
  const { results } = await db
    .prepare(`SELECT * FROM ${table} WHERE ${where.join(" AND ")} ORDER BY created_at ${dir}, id ${dir} LIMIT ?${binds.length}`)
    .bind(...binds)
    .all<R>();
  return { rows: results.slice(0, query.limit), hasMore: results.length > query.limit };
}

export function listPage<T extends { id: string }>(data: T[], hasMore: boolean): ListPage<T> {
  return { object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore };
}

export async function listFiles(db: D1Database, tenantId: string, query: FileListQuery): Promise<ListPage<FileObject>> {
  const { rows, hasMore } = await pageOf<FileRow>(db, "files", tenantId, query);
  return listPage(rows.map(fileObject), hasMore);
}
