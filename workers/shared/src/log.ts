/**
 * The one structured logger: one JSON object per line on the console, which Workers Logs
 * (`[observability] enabled` in every wrangler config) keeps and indexes by field. Fields are the
 * request's facts — request id, tenant, key id, model, provider, status, latency, attempts — and
 * never a secret or prompt text:
 *
 * - only the fields of `LogFields` below are written; anything else is dropped (so an object that
 *   happens to hold a prompt, a header map or a token cannot be spread into a line);
 * - every string is scrubbed (defensively: a field should never hold one): API keys (ours
 *   `sk-<env>-…`, vendors' `sk-…`, Google's `AIza…`), webhook secrets, bearer/basic credentials,
 *   JWS/JWT (`eyJ….….…`: principal, admin-context and session tokens), invite tokens, and the value
 *   after `password`/`secret`/`api_key`/`token`/`session`/`cookie` (`=`, `:`, JSON) become
 *   `[redacted]`, and the text is cut to MAX_MESSAGE_CHARS.
 *
 *   log.error("auth", "internal", { requestId, op: "authenticate", message: err.message });
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface LogFields {
  requestId?: string | null | undefined;
  /** The W3C trace the request belongs to (`x-gateway-trace-id`), to find its spans. */
  traceId?: string | null | undefined;
  tenantId?: string | null | undefined;
  keyId?: string | null | undefined;
  userId?: string | null | undefined;
  model?: string | null | undefined;
  provider?: string | null | undefined;
  status?: number | null | undefined;
  latencyMs?: number | null | undefined;
  attempts?: number | null | undefined;
  op?: string | null | undefined;
  code?: string | null | undefined;
  count?: number | null | undefined;
  message?: string | null | undefined;
  /** A short non-secret detail (scrubbed like `message`). */
  detail?: string | number | boolean | null | undefined;
}

const FIELDS: readonly (keyof LogFields)[] = [
  "requestId",
  "traceId",
  "tenantId",
  "keyId",
  "userId",
  "model",
  "provider",
  "status",
  "latencyMs",
  "attempts",
  "op",
  "code",
  "count",
  "message",
  "detail",
];
export const MAX_MESSAGE_CHARS = 1_000;

const SECRETS: RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{8,}/g, // API keys (ours, `sk-<env>-…`, and OpenAI's, Anthropic's `sk-ant-…`, …)
  /\bAIza[0-9A-Za-z_-]{20,}/g, // Google API keys (Gemini)
  /\b(?:whsec|whk)_[A-Za-z0-9+/=_-]{16,}/g, // webhook signing secrets
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, // JWS / JWT (principal, admin-context, session tokens)
  /\binv_[A-Za-z0-9]{20,}/g, // invite tokens
  /(password|passwd|secret|api[_-]?key|token|session|cookie)(["']?\s*[:=]\s*["']?)[^\s"';,}]+/gi, // `password=…`, `"token":"…"`, `gw_session=…`, `cookie: …`
];

/** A string with every secret-looking part replaced, bounded. */
export function scrub(text: string): string {
  let out = text.length > MAX_MESSAGE_CHARS * 2 ? text.slice(0, MAX_MESSAGE_CHARS * 2) : text;
  for (const re of SECRETS)
    out = out.replace(re, (_m, a: unknown, b: unknown) =>
      typeof a === "string" && typeof b === "string" && /[:=]/.test(b) ? `${a}${b}[redacted]` : "[redacted]",
    );
  return out.length > MAX_MESSAGE_CHARS ? `${out.slice(0, MAX_MESSAGE_CHARS)}…` : out;
}

/** The line `log` writes (exported for tests). */
export function logLine(level: LogLevel, service: string, event: string, fields: LogFields = {}): string {
  const line: Record<string, unknown> = { level, service, event: scrub(event) };
  for (const name of FIELDS) {
    const value = fields[name];
    if (value === undefined || value === null) continue;
    line[name] = typeof value === "string" ? scrub(value) : value;
  }
  return JSON.stringify(line);
}

function write(level: LogLevel, service: string, event: string, fields?: LogFields): void {
  const text = logLine(level, service, event, fields);
  if (level === "error") console.error(text);
  else if (level === "warn") console.warn(text);
  else console.log(text);
}

export const log = {
  debug: (service: string, event: string, fields?: LogFields) => write("debug", service, event, fields),
  info: (service: string, event: string, fields?: LogFields) => write("info", service, event, fields),
  warn: (service: string, event: string, fields?: LogFields) => write("warn", service, event, fields),
  error: (service: string, event: string, fields?: LogFields) => write("error", service, event, fields),
};

/** An error's message for a log line (never its stack: stacks can quote arguments). */
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
