import { z } from "@hono/zod-openapi";
import { ApiError, type Result } from "../../../shared/src";

/** OpenAI's error body, as documented for every admin and key-management route. */
export const ErrorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      param: z.string().nullable(),
      code: z.string().nullable(),
    }),
  })
  .openapi("Error");

const DESCRIPTIONS: Record<number, string> = {
  400: "Invalid input; `error.param` names the offending field",
  401: "Missing or invalid credentials",
  403: "The credentials lack a required permission",
  404: "No such object (or it belongs to another tenant)",
  409: "The object's state does not allow this (revoked key, disabled tenant)",
  500: "Internal error; quote `x-request-id`",
  503: "A dependency is unavailable; retry",
};

/** `responses` entries for the given error statuses, each in OpenAI's error shape. */
export function errorResponses<S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((s) => [s, { description: DESCRIPTIONS[s] ?? "Error", content: { "application/json": { schema: ErrorSchema } } }]),
  ) as Record<S, { description: string; content: { "application/json": { schema: typeof ErrorSchema } } }>;
}

/** A JSON success response entry, with an example answer where one helps the reader. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string, example?: unknown) {
  return { description, content: { "application/json": { schema, ...(example === undefined ? {} : { example }) } } };
}

/** A required JSON request body, with an example request where one helps the reader. */
export function jsonBody<T extends z.ZodType>(schema: T, description?: string, example?: unknown) {
  return { body: { required: true, description, content: { "application/json": { schema, ...(example === undefined ? {} : { example }) } } } };
}

/**
 * A JSON body that may be left out, documented only: @hono/zod-openapi gates a declared zod body's
 * content type (a bodiless POST from some clients became a 415), so the handler reads the body
 * itself (`optionalJson` + `parseOrThrow`) and the document refers to the schema registered under
 * `schemaName` (`app.openAPIRegistry.register`).
 */
export function optionalJsonBodyDoc(schemaName: string, description?: string) {
  return { body: { required: false, description, content: { "application/json": { schema: { $ref: `#/components/schemas/${schemaName}` } } } } };
}

/**
 * An RPC `Result` from another Worker: its value, or its error thrown for the gateway's error
 * handler. Generic over the result as RPC delivers it (each branch intersected with `Disposable`),
 * so the value keeps its type without a cast at the call site.
 */
export function unwrap<R extends Result<unknown>>(result: R): Extract<R, { ok: true }>["value"] {
  if (!result.ok) throw ApiError.from(result.error);
  return result.value;
}

export const ADMIN_SECURITY = [{ AdminToken: [] }];
export const API_KEY_SECURITY = [{ ApiKey: [] }];
