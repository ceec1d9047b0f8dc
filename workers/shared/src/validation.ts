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

type Issue = z.core.$ZodIssue;

/**
 * A union (`content: string | parts[]`) fails as a whole with "Invalid input" at its own path. The
 * user needs the issue inside the alternative they meant: the branch that got deepest (a bad
 * `content[1].type` rather than "not a string"). When every branch failed on the value's type
 * itself, the union issue stays and its message lists the accepted types.
 */
function innermost(issue: Issue, prefix: PropertyKey[] = []): { issue: Issue; path: PropertyKey[] } {
  const here = [...prefix, ...issue.path];
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return { issue, path: here };
  let best: Issue | undefined;
  for (const branch of issue.errors) {
    const first = branch[0];
    if (!first || (first.code === "invalid_type" && first.path.length === 0)) continue;
    if (!best || first.path.length > best.path.length) best = first;
  }
  return best ? innermost(best, here) : { issue, path: here };
}

function unionTypeMessage(issue: Issue): string | null {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return null;
  const expected = issue.errors.map((b) => (b[0]?.code === "invalid_type" ? b[0].expected : null));
  if (expected.some((e) => e === null)) return null;
  return `expected ${[...new Set(expected)].join(" or ")}`;
}

/** The first zod issue as an OpenAI `invalid_request_error` that names the offending `param`. */
export function validationError(error: z.ZodError): ApiErrorInit {
  const found = innermost(error.issues[0]!);
  const issue = found.issue;
  let path = found.path;
  // Unknown keys are reported on the parent; the param a user must fix is the key itself.
  if (issue.code === "unrecognized_keys" && issue.keys.length > 0) path = [...path, issue.keys[0]!];
  const param = paramPath(path);
  const where = param ? `'${param}'` : "the request body";
  let message: string;
  switch (issue.code) {
    case "invalid_type": {
      // zod drops `input` from issues unless parsing with `reportInput`; its message still says what it got.
      const missing = "input" in issue ? issue.input === undefined : /received undefined$/.test(issue.message);
      message = missing ? `Missing required parameter: ${where}.` : `Invalid type for ${where}: ${issue.message}.`;
      break;
    }
    case "unrecognized_keys":
      message = `Unrecognized request argument supplied: ${where}.`;
      break;
    case "invalid_union": {
      const types = unionTypeMessage(issue);
      message = types ? `Invalid type for ${where}: ${types}.` : `Invalid value for ${where}: ${issue.message}.`;
      break;
    }
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
