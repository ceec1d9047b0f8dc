import { MAX_TOKENS_LIMIT } from "../model-output";

/**
 * Whether `ChatCompletionRequestSchema` accepts `raw` unchanged, decided without zod for the
 * common shape of a chat request (the gateway validates every chat request, and zod's object and
 * union machinery was a visible part of its JavaScript per request): plain string messages of the
 * system/developer/user/assistant roles and the usual scalar options. True only for bodies the
 * schema accepts, and whose parse would equal the body as given (the schema has no transforms or
 * defaults there); false means "ask zod", which decides, and words the error, for everything else
 * (tools, content parts, any other field, any bad value). chat-check.test.ts compares both.
 */
export function handChecksChatRequest(raw: unknown): boolean {
  if (!isPlainObject(raw)) return false;
  let stream: unknown;
  let streamOptions: unknown;
  for (const key in raw) {
    if (!Object.prototype.hasOwnProperty.call(raw, key)) return false;
    const v = raw[key];
    switch (key) {
      case "model":
        if (!(typeof v === "string" && v.length >= 1 && v.length <= 256)) return false;
        break;
      case "messages":
        if (!messagesOk(v)) return false;
        break;
      case "stream":
        if (!(v === null || typeof v === "boolean")) return false;
        stream = v;
        break;
      case "stream_options":
        if (!streamOptionsOk(v)) return false;
        streamOptions = v;
        break;
      case "max_tokens":
      case "max_completion_tokens":
        if (!(v === null || (Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= MAX_TOKENS_LIMIT))) return false;
        break;
      case "n":
        if (!(v === null || (Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= 128))) return false;
        break;
      case "seed":
        if (!(v === null || Number.isSafeInteger(v))) return false;
        break;
      case "temperature":
        if (!(v === null || inRange(v, 0, 2))) return false;
        break;
      case "top_p":
        if (!(v === null || inRange(v, 0, 1))) return false;
        break;
      case "presence_penalty":
      case "frequency_penalty":
        if (!(v === null || inRange(v, -2, 2))) return false;
        break;
      case "user":
        if (typeof v !== "string") return false;
        break;
      default:
        return false;
    }
  }
  if (raw["model"] === undefined || raw["messages"] === undefined) return false;
  // The schema's refinement: `stream_options` only with `stream: true`.
  if (streamOptions !== undefined && streamOptions !== null && stream !== true) return false;
  return true;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const inRange = (v: unknown, min: number, max: number): boolean => typeof v === "number" && v >= min && v <= max;

const ROLES_WITH_TEXT = new Set(["system", "developer", "user", "assistant"]);

function messagesOk(v: unknown): boolean {
  if (!Array.isArray(v) || v.length < 1) return false;
  for (const m of v) {
    if (!isPlainObject(m)) return false;
    let role: unknown;
    let hasContent = false;
    for (const key in m) {
      if (!Object.prototype.hasOwnProperty.call(m, key)) return false;
      const x = m[key];
      if (key === "role") role = x;
      else if (key === "content") {
        if (typeof x !== "string") return false;
        hasContent = true;
      } else if (key === "name") {
        if (!(typeof x === "string" && x.length >= 1)) return false;
      } else return false;
    }
    if (typeof role !== "string" || !ROLES_WITH_TEXT.has(role)) return false;
    if (!hasContent && role !== "assistant") return false;
  }
  return true;
}

function streamOptionsOk(v: unknown): boolean {
  if (v === null) return true;
  if (!isPlainObject(v)) return false;
  for (const key in v) {
    if (!Object.prototype.hasOwnProperty.call(v, key)) return false;
    if (key !== "include_usage" && key !== "include_obfuscation") return false;
    if (typeof v[key] !== "boolean") return false;
  }
  return true;
}
