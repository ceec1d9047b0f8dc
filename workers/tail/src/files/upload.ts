import { ApiError } from "../../../shared/src";
import { boundaryOf, forEachPart, MultipartError } from "./multipart";
import { R2StreamWriter, TooLarge } from "./r2-writer";
import { fileKey, fileObject, getFile, insertFile, newFileId, type FileObject } from "./store";

/**
 * Largest upload: 100 MB (104,857,600 bytes). OpenAI accepts 200 MB batch files, but a Worker's
 * request body is capped at 100 MB on the Free and Pro plans, so a bigger upload could never
 * arrive; the `MAX_FILE_BYTES` var lowers it (tests) and may raise it on plans that allow more.
 * It is enforced on the bytes as they stream into R2, never on a buffered upload.
 */
export const DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024;
/** Purposes a file may be uploaded for; others are refused until the gateway supports them. */
export const UPLOAD_PURPOSES = ["batch"] as const;
const MAX_FILENAME_CHARS = 255;
const MAX_FIELD_BYTES = 256;

export function maxFileBytes(env: { MAX_FILE_BYTES?: string }): number {
  const n = Number(env.MAX_FILE_BYTES);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_FILE_BYTES;
}

async function readField(body: ReadableStream<Uint8Array>, name: string): Promise<string> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    size += r.value.length;
    if (size > MAX_FIELD_BYTES) {
      await reader.cancel().catch(() => {});
      throw new ApiError({ code: "invalid_request", param: name, message: `'${name}' is longer than ${MAX_FIELD_BYTES} bytes.` });
    }
    chunks.push(r.value);
  }
  return new TextDecoder().decode(await new Blob(chunks).arrayBuffer());
}

/** `POST /v1/files`: streams the `file` part into R2 (bounded), then records it. */
export async function uploadFile(
  env: { FILES: R2Bucket; TAIL_DB: D1Database; MAX_FILE_BYTES?: string },
  caller: { tenantId: string; keyId: string },
  request: Request,
): Promise<FileObject> {
  const boundary = boundaryOf(request.headers.get("content-type"));
  if (!boundary || !request.body) {
    throw new ApiError({ code: "unsupported_media_type", message: "Upload a file as multipart/form-data with the fields 'file' and 'purpose'." });
  }
  const id = newFileId();
  const key = fileKey(caller.tenantId, id);
  const limit = maxFileBytes(env);
  let purpose: string | null = null;
  let filename: string | null = null;
  let bytes: number | null = null;
  try {
    await forEachPart(request.body, boundary, async (part) => {
      if (part.name === "file") {
        if (bytes !== null) throw new ApiError({ code: "invalid_request", param: "file", message: "Send exactly one 'file'." });
        filename = (part.filename ?? "file").slice(0, MAX_FILENAME_CHARS);
        const writer = new R2StreamWriter(env.FILES, key, { limit, put: { httpMetadata: { contentType: "application/jsonl" } } });
        await writer.writeAll(part.body);
        bytes = await writer.close();
      } else if (part.name === "purpose") {
        purpose = (await readField(part.body, "purpose")).trim();
      }
    });
  } catch (err) {
    await env.FILES.delete(key).catch(() => {});
    if (err instanceof TooLarge) {
      throw new ApiError({ code: "payload_too_large", param: "file", message: `The file is larger than the maximum of ${err.limit} bytes.` });
    }
    if (err instanceof MultipartError) throw new ApiError({ code: "invalid_request", message: `The multipart body is malformed: ${err.message}` });
    throw err;
  }
  const refuse = async (init: ConstructorParameters<typeof ApiError>[0]): Promise<never> => {
    await env.FILES.delete(key).catch(() => {});
    throw new ApiError(init);
  };
  if (bytes === null || filename === null) return refuse({ code: "invalid_request", param: "file", message: "Missing required parameter: 'file'." });
  if (purpose === null) return refuse({ code: "invalid_request", param: "purpose", message: "Missing required parameter: 'purpose'." });
  if (!(UPLOAD_PURPOSES as readonly string[]).includes(purpose)) {
    return refuse({
      code: "invalid_request",
      param: "purpose",
      message: `Invalid value for 'purpose': '${String(purpose).slice(0, 64)}'. Supported: ${UPLOAD_PURPOSES.join(", ")}.`,
    });
  }
  await insertFile(env.TAIL_DB, {
    id,
    tenantId: caller.tenantId,
    keyId: caller.keyId,
    bytes,
    filename,
    purpose,
    createdAt: Math.floor(Date.now() / 1000),
  }).run();
  const row = await getFile(env.TAIL_DB, caller.tenantId, id);
  if (!row) throw new Error("the file row just written is missing");
  return fileObject(row);
}
