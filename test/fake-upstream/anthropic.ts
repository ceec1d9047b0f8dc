import { recordings } from "./recordings";

/**
 * The fake upstream's Anthropic Messages API (`POST /v1/messages`), answering with the recorded
 * wire formats in test/fixtures/anthropic (JSON and SSE, byte for byte). Like the real API it
 * checks what it receives — `x-api-key`, `anthropic-version`, `model`, `max_tokens`, alternating
 * `messages` — and answers Anthropic's own error bodies when something is wrong, so a translation
 * bug shows up as the error a real upstream would send.
 *
 * Scenarios are chosen by the model name (the gateway passes the upstream model through):
 *   …-error-400 | …-error-401 | …-error-429 | …-error-529   → that recorded HTTP error
 *   …-midstream-error  → a stream that sends text, then an `overloaded_error` event
 *   …-truncated        → a stream that stops before `message_stop`
 *   …-refusal          → stop_reason `refusal` (JSON and SSE)
 *   …-max-tokens       → stop_reason `max_tokens` (JSON)
 * Otherwise: a tool_use answer when tools are offered (and tool_choice is not none), else text.
 */

const { json, recorded, sse } = recordings("anthropic", {
  boundary: /(?<=\n\n)/,
  headers: { "content-type": "text/event-stream; charset=utf-8", "request-id": "req_fake_upstream" },
});

export const ANTHROPIC_FAKE_KEY = "sk-ant-fake-upstream-key";

function anthropicError(status: number, type: string, message: string): Response {
  return Response.json({ type: "error", error: { type, message }, request_id: "req_fake_upstream" }, { status });
}

interface MessagesBody {
  model?: unknown;
  max_tokens?: unknown;
  messages?: { role?: string; content?: unknown }[];
  stream?: boolean;
  tools?: unknown[];
  tool_choice?: { type?: string };
}

/** Validates like Anthropic does before generating; returns the error response or null. */
function validate(headers: Headers, body: MessagesBody): Response | null {
  if (headers.get("x-api-key") !== ANTHROPIC_FAKE_KEY) return recorded("error-401-authentication.json");
  if (!headers.get("anthropic-version")) return anthropicError(400, "invalid_request_error", "anthropic-version: header is required");
  if (typeof body.model !== "string") return anthropicError(400, "invalid_request_error", "model: Field required");
  if (typeof body.max_tokens !== "number") return anthropicError(400, "invalid_request_error", "max_tokens: Field required");
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return anthropicError(400, "invalid_request_error", "messages: at least one message is required");
  }
  for (let i = 0; i < body.messages.length; i++) {
    const role = body.messages[i]!.role;
    if (role !== "user" && role !== "assistant") {
      return anthropicError(400, "invalid_request_error", `messages.${i}.role: Input should be 'user' or 'assistant'`);
    }
    if (i > 0 && body.messages[i - 1]!.role === role) {
      return recorded("error-400-invalid-request.json");
    }
  }
  return null;
}

/** Answers `POST /v1/messages`; null for any other request. */
export async function handleAnthropic(request: Request): Promise<Response | null> {
  const url = new URL(request.url);
  if (request.method !== "POST" || url.pathname !== "/v1/messages") return null;
  let body: MessagesBody;
  try {
    body = (await request.json()) as MessagesBody;
  } catch {
    return anthropicError(400, "invalid_request_error", "There was an error parsing the body of your request.");
  }
  const invalid = validate(request.headers, body);
  if (invalid) return invalid;

  const model = String(body.model);
  for (const status of ["400", "401", "429", "529"]) {
    if (model.endsWith(`-error-${status}`)) {
      const name = { "400": "error-400-invalid-request.json", "401": "error-401-authentication.json", "429": "error-429-rate-limit.json", "529": "error-529-overloaded.json" }[status]!;
      return recorded(name);
    }
  }
  const stream = body.stream === true;
  if (model.endsWith("-midstream-error")) return sse("stream-error-overloaded.sse");
  if (model.endsWith("-truncated")) return sse("stream-truncated.sse");
  if (model.endsWith("-refusal")) return stream ? sse("stream-refusal.sse") : Response.json(json("message-refusal.json"));
  if (model.endsWith("-max-tokens")) return Response.json(json("message-max-tokens.json"));

  const wantsTool = Array.isArray(body.tools) && body.tools.length > 0 && body.tool_choice?.type !== "none";
  if (wantsTool) return stream ? sse("stream-tool-use.sse") : Response.json(json("message-tool-use.json"));
  return stream ? sse("stream-text.sse") : Response.json(json("message-text.json"));
}
