import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../../shared/src";
import type { GatewayBindings } from "../types";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "./json-depth";

/** Documented default for `MAX_BODY_BYTES`: 4 MiB, enough for long conversations with a few inline images. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

function maxBytes(env: { MAX_BODY_BYTES?: string }): number {
  const n = Number(env.MAX_BODY_BYTES);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_MAX_BODY_BYTES;
}

function tooLarge(limit: number): ApiError {
  return new ApiError({ code: "payload_too_large", message: `The request body exceeds the limit of ${limit} bytes.` });
}

/**
 * Reads a JSON request body once, the way OpenAI's API answers bad bodies:
 * 415 when the content type is not JSON, 413 when it is larger than `MAX_BODY_BYTES` (checked on
 * `content-length` before reading, and on the bytes actually read, for chunked bodies), 400
 * `invalid_request` when it nests deeper than `MAX_JSON_DEPTH` (before it is parsed), 400
 * `invalid_json` when it does not parse, 400 `invalid_request` when it is not a JSON object.
 */
export async function readJsonBody(request: Request, env: { MAX_BODY_BYTES?: string }): Promise<Record<string, unknown>> {
  return (await readJsonRequest(request, env)).value;
}

/** `readJsonBody`, with the text as it arrived (to pass on unchanged instead of re-serialising it). */
export async function readJsonRequest(request: Request, env: { MAX_BODY_BYTES?: string }): Promise<{ text: string; value: Record<string, unknown> }> {
  const type = request.headers.get("content-type");
  if (!type || !JSON_TYPE.test(type)) {
    throw new ApiError({
      code: "unsupported_media_type",
      message: `Unsupported content type ${type ? `'${type.split(";")[0]}'` : "(none)"}: send the body as JSON with 'Content-Type: application/json'.`,
    });
  }
  const text = await readBoundedText(request, env);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof SyntaxError ? ` (${err.message})` : "";
    throw new ApiError({ code: "invalid_json", message: `We could not parse the JSON body of your request${detail}. Send valid JSON.` });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ApiError({ code: "invalid_request", message: "The request body must be a JSON object." });
  }
  return { text, value: value as Record<string, unknown> };
}

/**
 * The body as text within `MAX_BODY_BYTES` (413 otherwise) and `MAX_JSON_DEPTH` (400 otherwise),
 * before anything parses it.
 */
async function readBoundedText(request: Request, env: { MAX_BODY_BYTES?: string }): Promise<string> {
  const limit = maxBytes(env);
  const length = request.headers.get("content-length");
  const declared = length === null ? NaN : Number(length);
  if (declared > limit) throw tooLarge(limit);

  // A declared length within the limit is read natively in one go (what the SDKs send); a chunked
  // body is counted as it arrives and refused as soon as it passes the limit.
  const text = Number.isInteger(declared) ? await request.text() : await readText(request, limit);
  if (text.length > limit) throw tooLarge(limit);
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new ApiError({ code: "invalid_request", message: `The request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.` });
  }
  return text;
}

/**
 * The same bounds for routes whose body hono's validator parses (the management API): the body is
 * read here, within `MAX_BODY_BYTES` and `MAX_JSON_DEPTH`, and the request the route sees carries
 * the text that was read (as hono's own `bodyLimit` does). Mounted after the route's credential
 * check, so an unauthenticated caller never makes the gateway read a body.
 */
export function boundedBody(): MiddlewareHandler<GatewayBindings> {
  return async (c, next) => {
    if (c.req.raw.body) c.req.raw = new Request(c.req.raw, { body: await readBoundedText(c.req.raw, c.env) });
    await next();
  };
}

/**
 * The body as text, refusing it as soon as more than `limit` bytes arrived. Not shared with
 * `readBoundedBytes` (upstream answers): that one cancels an over-size body up front, which for a
 * client's request closes the connection before the client can read our 413.
 */
async function readText(request: Request, limit: number): Promise<string> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}
