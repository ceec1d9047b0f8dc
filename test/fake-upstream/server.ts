import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ERRORS, defaultFixture, renderEmbeddings, renderEvents, renderJson, type FixtureName } from "./wire.mjs";
import { answerNative, geminiModelOf } from "./anthropic-and-google";
import type { ToolUseKnob } from "./anthropic";
import { writeAnswer, type FaultKnobs } from "./faults";
import { loadSchemas, requestFields, type SchemaName } from "./schemas";
import { promptTexts, registerSecret } from "../support/log-scan";

/**
 * A fake OpenAI for system tests: a Node HTTP server speaking OpenAI's chat, completions and
 * embeddings wire formats (wire.mjs, from recorded fixtures), which records every request and
 * misbehaves on demand. It also speaks Anthropic's and Gemini's APIs (anthropic.ts, google.ts),
 * with the same knobs (faults.ts).
 *
 * It is strict like the real APIs: under `url` (api.openai.com's `/v1`) a request with a top-level
 * field OpenAI's API does not define (read from the installed `openai` SDK, schemas.ts) gets
 * OpenAI's 400 "Unrecognized request argument supplied: …", and `stream_options` without
 * `stream: true` its 400 too. Under `compatUrl` it is an OpenAI-compatible server (vLLM, Ollama,
 * OpenRouter) that takes vendor extensions such as `top_k`. Knobs and recordings are keyed by the upstream model name a test uses,
 * so tests never race on shared state: give each test its own model name.
 *
 *   const up = await startFakeUpstream();
 *   up.on("m-429", { error: { status: 429, headers: { "retry-after": "7" } } });
 *   const gate = up.hold("m-stream", 2);   // send 2 events, then wait for gate.release()
 *   up.requests("m-stream")[0].headers.authorization
 */
export interface Behaviour extends FaultKnobs {
  /** Anthropic: the tool a tool_use answer calls and its input, instead of the recorded `get_weather` (a tool the request offers). */
  toolUse?: ToolUseKnob;
  /** Anthropic: the model's context window in the fake's tokens; a longer prompt is refused "prompt is too long" (400). */
  contextTokens?: number;
  /** Which canned answer (default: by request — tools → chat-tools, JSON mode → chat-json, else chat-text). */
  fixture?: FixtureName;
  /** Answer with this error (body defaults to the vendor's recorded error for the status: OpenAI's, Anthropic's or Gemini's by the request's API). */
  error?: { status: number; body?: unknown; headers?: Record<string, string> };
  /** Streams: repeat the content chunks this many times (a long answer). */
  repeat?: number;
  /**
   * Non-streamed chat: answer with a completion of about this many bytes (its content one long
   * string), written in 1 MiB chunks as the reader takes them; `declareLength` sends its
   * `content-length`, otherwise it goes chunked.
   */
  hugeJson?: { bytes: number; declareLength?: boolean };
  /**
   * Streams: after the first event, start a content event and send `bytes` of its text in
   * `chunkBytes` pieces as the reader takes them, never ending it (the connection stays open).
   */
  endlessEvent?: { bytes: number; chunkBytes: number };
}

export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  /** Resolves when the response ended: `completed`, or `aborted` if the client went away first. */
  outcome: Promise<"completed" | "aborted">;
}

export interface Gate {
  /** Resolves once the held number of events has been written. */
  reached: Promise<void>;
  release(): void;
}

export interface FakeUpstream {
  /** Base URL to configure as a provider's `base_url` (`http://127.0.0.1:<port>/v1`): strict like api.openai.com. */
  url: string;
  /** The same fake as an OpenAI-compatible server that accepts vendor extension fields (`…/compat/v1`). */
  compatUrl: string;
  /** The only key the fake accepts (`Authorization: Bearer <key>`); others get OpenAI's 401. */
  apiKey: string;
  on(model: string, behaviour: Behaviour): void;
  hold(model: string, afterEvents: number): Gate;
  requests(model: string): Recorded[];
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const OPERATIONS: Record<string, { operation: "chat" | "completions" | "embeddings"; schema: SchemaName }> = {
  "/v1/chat/completions": { operation: "chat", schema: "openaiChat" },
  "/v1/completions": { operation: "completions", schema: "openaiCompletions" },
  "/v1/embeddings": { operation: "embeddings", schema: "openaiEmbeddings" },
};
const COMPAT_PREFIX = "/compat";

/** OpenAI's 400 for what its API refuses before generating (its own wording), or null. */
function openaiRefusal(schema: SchemaName, body: Record<string, unknown>): unknown {
  const fields = requestFields(schema);
  const unknown = Object.keys(body).filter((k) => !fields.has(k));
  if (unknown.length > 0) {
    const message = `Unrecognized request argument${unknown.length > 1 ? "s" : ""} supplied: ${unknown.join(", ")}`;
    return { error: { message, type: "invalid_request_error", param: null, code: null } };
  }
  const options = body["stream_options"];
  if (options !== undefined && options !== null && body["stream"] !== true) {
    return {
      error: {
        message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        type: "invalid_request_error",
        param: "stream_options",
        code: null,
      },
    };
  }
  return null;
}

export async function startFakeUpstream(options: { apiKey?: string } = {}): Promise<FakeUpstream> {
  const apiKey = options.apiKey ?? "sk-fake-upstream-provider-key-0123456789";
  loadSchemas();
  registerSecret(apiKey);
  const behaviours = new Map<string, Behaviour>();
  const gates = new Map<string, { reached: () => void; released: Promise<void> }>();
  const recorded = new Map<string, Recorded[]>();
  const sockets = new Set<import("node:net").Socket>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      return send(res, 400, {
        error: { message: "We could not parse the JSON body of your request.", type: "invalid_request_error", param: null, code: null },
      });
    }
    const model = typeof body["model"] === "string" ? (body["model"] as string) : (geminiModelOf(req.url) ?? "");
    // What a user wrote reached the upstream: no Worker may have logged it (the run's log scan).
    for (const prompt of promptTexts(body)) registerSecret(prompt);
    let settle!: (o: "completed" | "aborted") => void;
    const outcome = new Promise<"completed" | "aborted">((r) => (settle = r));
    res.on("close", () => settle(res.writableFinished ? "completed" : "aborted"));
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
    const list = recorded.get(model) ?? [];
    list.push({ method: req.method ?? "", path: req.url ?? "", headers, body, outcome });
    recorded.set(model, list);

    const b = behaviours.get(model) ?? {};
    const hold = async () => {
      const gate = gates.get(model);
      gate?.reached();
      await gate?.released;
    };
    // Anthropic's and Gemini's wire formats (anthropic.ts, google.ts).
    if (await answerNative(req, res, text, b, hold)) return;

    let path = (req.url ?? "").split("?")[0]!;
    const strict = !path.startsWith(`${COMPAT_PREFIX}/`);
    if (!strict) path = path.slice(COMPAT_PREFIX.length);
    const route = OPERATIONS[path];
    if (req.method !== "POST" || !route) {
      return send(res, 404, { error: { message: `Invalid URL (${req.method} ${path})`, type: "invalid_request_error", param: null, code: null } });
    }
    const { operation } = route;
    if (req.headers.authorization !== `Bearer ${apiKey}`) return send(res, 401, ERRORS["401"]);
    const refusal = strict ? openaiRefusal(route.schema, body) : null;
    if (refusal) return send(res, 400, refusal);

    if (b.hang) return; // never answer; the socket is destroyed when the client gives up
    if (b.delayMs) await sleep(b.delayMs);
    if (b.error) {
      const fallback = (ERRORS as Record<string, unknown>)[String(b.error.status)] ?? ERRORS["500"];
      return send(res, b.error.status, b.error.body ?? fallback, b.error.headers);
    }
    const json = (text: string) => writeAnswer(res, 200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }, [text], b, hold);
    if (operation === "embeddings") return json(renderEmbeddings(body));
    const fixture = b.fixture ?? defaultFixture(operation, body);
    if (body["stream"] !== true && b.hugeJson) return sendHugeJson(res, model, b.hugeJson);
    if (body["stream"] !== true) return json(renderJson(fixture));

    let events = renderEvents(fixture, body);
    if (b.repeat && b.repeat > 1) {
      // First chunk (role), then the content chunks `repeat` times, then the rest (finish, usage, [DONE]).
      const content = events.slice(1, -3);
      events = [events[0]!, ...Array.from({ length: b.repeat }, () => content).flat(), ...events.slice(-3)];
    }
    const sseHeaders = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-request-id": `req_up_${recorded.size}` };
    if (b.endlessEvent) {
      // The first event, then one that never ends.
      const endless = b.endlessEvent;
      return writeAnswer(res, 200, sseHeaders, events.slice(0, 2), { stallAfter: 1 }, hold).then(() => sendEndlessEvent(res, model, endless));
    }
    await writeAnswer(res, 200, sseHeaders, events, b, hold);
  }

  const server = createServer((req, res) => {
    req.socket.setNoDelay(true);
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { error: { message: String(err), type: "server_error", param: null, code: null } });
      else res.destroy();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    compatUrl: `http://127.0.0.1:${port}${COMPAT_PREFIX}/v1`,
    apiKey,
    on: (model, behaviour) => void behaviours.set(model, behaviour),
    hold(model, afterEvents) {
      let reached!: () => void;
      let release!: () => void;
      const reachedP = new Promise<void>((r) => (reached = r));
      const released = new Promise<void>((r) => (release = r));
      gates.set(model, { reached, released });
      behaviours.set(model, { ...behaviours.get(model), holdAfter: afterEvents });
      return { reached: reachedP, release };
    },
    requests: (model) => recorded.get(model) ?? [],
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const MiB = 1024 * 1024;

/** A chat completion whose content fills `bytes`, written without ever holding it whole. */
async function sendHugeJson(res: ServerResponse, model: string, huge: { bytes: number; declareLength?: boolean }): Promise<void> {
  const head = `{"id":"chatcmpl-huge","object":"chat.completion","created":1,"model":"${model}","choices":[{"index":0,"message":{"role":"assistant","content":"`;
  const tail = `"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`;
  const fill = Math.max(0, huge.bytes - head.length - tail.length);
  res.writeHead(200, { "content-type": "application/json", ...(huge.declareLength ? { "content-length": String(head.length + fill + tail.length) } : {}) });
  const write = (chunk: string | Buffer) => new Promise<void>((resolve) => res.write(chunk, () => resolve()));
  await write(head);
  const block = Buffer.alloc(MiB, "a");
  for (let left = fill; left > 0 && !res.destroyed; left -= block.length) await write(left >= block.length ? block : block.subarray(0, left));
  if (res.destroyed) return;
  await write(tail);
  res.end();
}

/** The start of a chat chunk whose content never ends, written piece by piece; then silence. */
async function sendEndlessEvent(res: ServerResponse, model: string, endless: { bytes: number; chunkBytes: number }): Promise<void> {
  const write = (chunk: string | Buffer) => new Promise<void>((resolve) => res.write(chunk, () => resolve()));
  await write(`data: {"id":"chatcmpl-endless","object":"chat.completion.chunk","created":1,"model":"${model}","choices":[{"index":0,"delta":{"content":"`);
  const piece = Buffer.alloc(endless.chunkBytes, "a");
  for (let sent = 0; sent < endless.bytes && !res.destroyed; sent += piece.length) await write(piece);
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}
