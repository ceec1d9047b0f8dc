import type { z } from "zod";
import { ApiError, type ApiErrorInit } from "./errors";

/** `["messages", 0, "content"]` → `messages[0].content`, the way OpenAI names a `param`. */
export function paramPath(path: readonly PropertyKey[]): string | null {
  if (path.length === 0) return null;
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** The first zod issue as an OpenAI `invalid_request_error` that names the offending `param`. */
export function validationError(error: z.ZodError): ApiErrorInit {
  const issue = error.issues[0]!;
  let path = [...issue.path];
  // Unknown keys are reported on the parent; the param a user must fix is the key itself.
  if (issue.code === "unrecognized_keys" && issue.keys.length > 0) path = [...path, issue.keys[0]!];
  const param = paramPath(path);
  const where = param ? `'${param}'` : "the request body";
  let message: string;
  switch (issue.code) {
    case "invalid_type":
      message =
        issue.input === undefined ? `Missing required parameter: ${where}.` : `Invalid type for ${where}: ${issue.message}.`;
      break;
    case "unrecognized_keys":
      message = `Unrecognized request argument supplied: ${where}.`;
      break;
    default:
      message = `Invalid value for ${where}: ${issue.message}.`;
  }
  return { code: "invalid_request", message, param };
}

/** Parses with a schema or throws the OpenAI-shaped 400. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ApiError(validationError(result.error));
  return result.data;
}
