import { recordings } from "./recordings";
import { requestFields } from "./schemas";

/**
 * The fake upstream's Anthropic Messages API (`POST /v1/messages`, and token counting at
 * `POST /v1/messages/count_tokens`), answering with the recorded
 * wire formats in test/fixtures/anthropic (JSON and SSE, byte for byte). Like the real API it
 * checks what it receives — `x-api-key`, a known `anthropic-version`, no top-level field the API
 * does not define ("<field>: Extra inputs are not permitted", the fields read from the installed
 * `@anthropic-ai/sdk`'s `MessageCreateParamsBase`, its beta one when `anthropic-beta` is sent),
 * `model`, `max_tokens`, alternating `messages` — and answers Anthropic's own error bodies when
 * something is wrong, so a translation bug shows up as the error a real upstream would send.
 *
 * Scenarios are chosen by the model name (the gateway passes the upstream model through):
 *   …-error-400 | …-error-401 | …-error-429 | …-error-529   → that recorded HTTP error
 *   …-midstream-error  → a stream that sends text, then an `overloaded_error` event
 *   …-truncated        → a stream that stops before `message_stop`
 *   …-refusal          → stop_reason `refusal` (JSON and SSE)
 *   …-max-tokens       → stop_reason `max_tokens` (JSON)
 *   …-thinking         → a thinking block then text, usage with cache reads, cache writes and
 *                        thinking tokens (JSON and SSE: message-thinking.json, stream-thinking.sse)
 * Otherwise: a tool_use answer when tools are offered (and tool_choice is not none) — unless the last
 * turn is the tool's result and the tool is not forced (tool_choice `auto`): then, like a model,
 * it answers the result with text — else text. The tool_use answer calls the recorded `get_weather`
 * unless the test's `toolUse` knob names another tool (one of those offered) and its input: the
 * recorded answer with that block's name and input replaced (JSON and SSE). With the
 * `contextTokens` knob, a prompt longer than that (by `fakeTokenCount`) is refused as the real API
 * refuses one past the model's context: 400 "prompt is too long: N tokens > M maximum".
 *
 * Token counting is checked the same way against `MessageCountTokensParams` (no `max_tokens`,
 * `stream` or sampling fields: "Extra inputs are not permitted") and answers `{"input_tokens": n}`
 * with n from `fakeTokenCount` — a rule of its own (one token per word, 3 per message), so a test
 * can tell the upstream's count from the gateway's estimate.
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
  system?: unknown;
  stream?: boolean;
  tools?: unknown[];
  tool_choice?: { type?: string };
}

/**
 * The API versions Anthropic serves. The SDK types the newest; 2026-10-21 removed the sampling
 * fields `temperature`, `top_p` and `top_k` (400 on that version), which 2023-06-01 still takes
 * (Anthropic's versioning notes / SDK 1.0.0 migration guide).
 */
const VERSION_EXTRA_FIELDS: Record<string, readonly string[]> = {
  "2023-06-01": ["temperature", "top_p", "top_k"],
  "2026-10-21": [],
};

/** Anthropic's error for a status (its recorded body where the fixtures have one). */
export function anthropicStatusError(status: number): Response {
  const name = {
    400: "error-400-invalid-request.json",
    401: "error-401-authentication.json",
    429: "error-429-rate-limit.json",
    529: "error-529-overloaded.json",
  }[status];
  if (name) return recorded(name);
  const type = { 403: "permission_error", 404: "not_found_error", 413: "request_too_large", 500: "api_error" }[status] ?? "api_error";
  return anthropicError(status, type, type === "api_error" ? "Internal server error" : type.replace(/_/g, " "));
}

/** The fake's token count of a counting request: one per whitespace-separated word of every text, 3 per message. */
export function fakeTokenCount(body: { system?: unknown; messages?: { content?: unknown }[] }): number {
  const words = (value: unknown): number => {
    if (typeof value === "string") return value.split(/\s+/).filter(Boolean).length;
    if (Array.isArray(value)) return value.reduce((n: number, block: { text?: unknown }) => n + words(block?.text), 0);
    return 0;
  };
  return words(body.system) + (body.messages ?? []).reduce((n, m) => n + 3 + words(m.content), 0);
}

/** Validates like Anthropic does before generating (or counting); returns the error response or null. */
function validate(headers: Headers, body: MessagesBody, counting = false): Response | null {
  if (headers.get("x-api-key") !== ANTHROPIC_FAKE_KEY) return recorded("error-401-authentication.json");
  const version = headers.get("anthropic-version");
  if (!version) return anthropicError(400, "invalid_request_error", "anthropic-version: header is required");
  const versionFields = VERSION_EXTRA_FIELDS[version];
  if (!versionFields) return anthropicError(400, "invalid_request_error", `anthropic-version: "${version}" is not a valid version`);
  const beta = headers.has("anthropic-beta");
  const fields = requestFields(counting ? (beta ? "anthropicBetaCountTokens" : "anthropicCountTokens") : beta ? "anthropicBetaMessages" : "anthropicMessages");
  // The sampling fields an older version still takes belong to generation, never to counting.
  const extra = Object.keys(body).find((k) => !fields.has(k) && (counting || !versionFields.includes(k)));
  if (extra) return anthropicError(400, "invalid_request_error", `${extra}: Extra inputs are not permitted`);
  if (typeof body.model !== "string") return anthropicError(400, "invalid_request_error", "model: Field required");
  if (!counting && typeof body.max_tokens !== "number") return anthropicError(400, "invalid_request_error", "max_tokens: Field required");
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

const COUNT_TOKENS_PATH = "/v1/messages/count_tokens";

/** The test's choice of the tool a tool_use answer calls (the fake upstream's `toolUse` knob). */
export interface ToolUseKnob {
  name: string;
  input: Record<string, unknown>;
}

/** Scenario knobs of the Anthropic fake (the fake upstream's `Behaviour` passes them). */
export interface AnthropicKnobs {
  toolUse?: ToolUseKnob;
  /** The model's context window in the fake's tokens (`fakeTokenCount`): a longer prompt gets Anthropic's 400 "prompt is too long". */
  contextTokens?: number;
}

/** The recorded tool_use answer calling `use` instead (only a tool the request offers: a real model cannot call another). */
function toolUseAnswer(body: MessagesBody, stream: boolean, use: ToolUseKnob | undefined): Response {
  const offered = (body.tools ?? []).some((t) => (t as { name?: unknown }).name === use?.name);
  if (!use || !offered) return stream ? sse("stream-tool-use.sse") : Response.json(json("message-tool-use.json"));
  if (!stream) {
    const message = json("message-tool-use.json") as { content: { type: string; name?: string; input?: unknown }[] };
    for (const block of message.content) if (block.type === "tool_use") Object.assign(block, { name: use.name, input: use.input });
    return Response.json(message);
  }
  const recorded = sse("stream-tool-use.sse");
  return new Response(
    recorded.body!.pipeThrough(new TextDecoderStream()).pipeThrough(
      new TransformStream<string, Uint8Array>({
        transform(event, controller) {
          let out = event.replace('"name":"get_weather"', `"name":${JSON.stringify(use.name)}`);
          // The recorded input arrives in three pieces: the one naming `location` carries the whole input, the others nothing.
          out = out.replace(/"partial_json":"(?:[^"\\]|\\.)+"/, (m) =>
            m.includes("location") ? `"partial_json":${JSON.stringify(JSON.stringify(use.input))}` : `"partial_json":""`,
          );
          controller.enqueue(new TextEncoder().encode(out));
        },
      }),
    ),
    { headers: recorded.headers },
  );
}

/** Answers `POST /v1/messages` and `POST /v1/messages/count_tokens`; null for any other request. */
export async function handleAnthropic(request: Request, knobs: AnthropicKnobs = {}): Promise<Response | null> {
  const url = new URL(request.url);
  if (request.method !== "POST" || (url.pathname !== "/v1/messages" && url.pathname !== COUNT_TOKENS_PATH)) return null;
  let body: MessagesBody;
  try {
    body = (await request.json()) as MessagesBody;
  } catch {
    return anthropicError(400, "invalid_request_error", "There was an error parsing the body of your request.");
  }
  const counting = url.pathname === COUNT_TOKENS_PATH;
  const invalid = validate(request.headers, body, counting);
  if (invalid) return invalid;

  const model = String(body.model);
  for (const status of [400, 401, 429, 529]) {
    if (model.endsWith(`-error-${status}`)) return anthropicStatusError(status);
  }
  if (counting) return Response.json({ input_tokens: fakeTokenCount(body) }, { headers: { "request-id": "req_fake_upstream" } });
  const promptTokens = fakeTokenCount(body);
  if (knobs.contextTokens !== undefined && promptTokens > knobs.contextTokens) {
    return anthropicError(400, "invalid_request_error", `prompt is too long: ${promptTokens} tokens > ${knobs.contextTokens} maximum`);
  }
  const stream = body.stream === true;
  if (model.endsWith("-midstream-error")) return sse("stream-error-overloaded.sse");
  if (model.endsWith("-truncated")) return sse("stream-truncated.sse");
  if (model.endsWith("-refusal")) return stream ? sse("stream-refusal.sse") : Response.json(json("message-refusal.json"));
  if (model.endsWith("-max-tokens")) return Response.json(json("message-max-tokens.json"));
  if (model.endsWith("-thinking")) return stream ? sse("stream-thinking.sse") : Response.json(json("message-thinking.json"));

  const last = body.messages?.at(-1)?.content;
  const answersToolResult = Array.isArray(last) && last.some((b: { type?: unknown }) => b?.type === "tool_result");
  const forced = body.tool_choice?.type === "any" || body.tool_choice?.type === "tool";
  const wantsTool = Array.isArray(body.tools) && body.tools.length > 0 && body.tool_choice?.type !== "none" && (!answersToolResult || forced);
  if (wantsTool) return toolUseAnswer(body, stream, knobs.toolUse);
  return stream ? sse("stream-text.sse") : Response.json(json("message-text.json"));
}
