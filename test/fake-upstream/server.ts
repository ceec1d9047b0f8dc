import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ERRORS, defaultFixture, renderEmbeddings, renderEvents, renderJson, type FixtureName } from "./wire.mjs";
import { answerNative, geminiModelOf } from "./anthropic-and-google";

/**
 * A fake OpenAI for system tests: a Node HTTP server speaking OpenAI's chat, completions and
 * embeddings wire formats (wire.mjs, from recorded fixtures), which records every request and
 * misbehaves on demand. Knobs and recordings are keyed by the upstream model name a test uses,
 * so tests never race on shared state: give each test its own model name.
 *
 *   const up = await startFakeUpstream();
 *   up.on("m-429", { error: { status: 429, headers: { "retry-after": "7" } } });
 *   const gate = up.hold("m-stream", 2);   // send 2 events, then wait for gate.release()
 *   up.requests("m-stream")[0].headers.authorization
 */
export interface Behaviour {
  /** Which canned answer (default: by request — tools → chat-tools, JSON mode → chat-json, else chat-text). */
  fixture?: FixtureName;
  /** Wait this long before sending response headers. */
  delayMs?: number;
  /** Answer with this error (body defaults to OpenAI's recorded error for the status). */
  error?: { status: number; body?: unknown; headers?: Record<string, string> };
  /** Never answer (the gateway's timeout must fire). */
  hang?: boolean;
  /** Streams: after this many events, stop until the test calls `release()` on the gate. */
  holdAfter?: number;
  /** Streams: after this many events, destroy the connection (a broken stream). */
  breakAfter?: number;
  /** Streams: after this many events, keep the connection open and send nothing more. */
  stallAfter?: number;
  /** Streams: wait this long between events (a model generating tokens). */
  intervalMs?: number;
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
  /** Base URL to configure as a provider's `base_url` (`http://127.0.0.1:<port>/v1`). */
  url: string;
  /** The only key the fake accepts (`Authorization: Bearer <key>`); others get OpenAI's 401. */
  apiKey: string;
  on(model: string, behaviour: Behaviour): void;
  hold(model: string, afterEvents: number): Gate;
  requests(model: string): Recorded[];
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFakeUpstream(options: { apiKey?: string } = {}): Promise<FakeUpstream> {
  const apiKey = options.apiKey ?? "sk-fake-upstream-provider-key-0123456789";
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
      return send(res, 400, { error: { message: "We could not parse the JSON body of your request.", type: "invalid_request_error", param: null, code: null } });
    }
    const model = typeof body["model"] === "string" ? (body["model"] as string) : (geminiModelOf(req.url) ?? "");
    let settle!: (o: "completed" | "aborted") => void;
    const outcome = new Promise<"completed" | "aborted">((r) => (settle = r));
    res.on("close", () => settle(res.writableFinished ? "completed" : "aborted"));
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
    const list = recorded.get(model) ?? [];
    list.push({ method: req.method ?? "", path: req.url ?? "", headers, body, outcome });
    recorded.set(model, list);

    // Anthropic's and Gemini's wire formats (anthropic.ts, google.ts).
    if (await answerNative(req, res, text, behaviours.get(model))) return;

    const path = (req.url ?? "").split("?")[0]!;
    const operation = path === "/v1/chat/completions" ? "chat" : path === "/v1/completions" ? "completions" : path === "/v1/embeddings" ? "embeddings" : null;
    if (req.method !== "POST" || !operation) {
      return send(res, 404, { error: { message: `Invalid URL (${req.method} ${path})`, type: "invalid_request_error", param: null, code: null } });
    }
    if (req.headers.authorization !== `Bearer ${apiKey}`) return send(res, 401, ERRORS["401"]);

    const b = behaviours.get(model) ?? {};
    if (b.hang) return; // never answer; the socket is destroyed when the client gives up
    if (b.delayMs) await sleep(b.delayMs);
    if (b.error) {
      const fallback = (ERRORS as Record<string, unknown>)[String(b.error.status)] ?? ERRORS["500"];
      return send(res, b.error.status, b.error.body ?? fallback, b.error.headers);
    }
    if (operation === "embeddings") return sendText(res, 200, renderEmbeddings(body), "application/json");
    const fixture = b.fixture ?? defaultFixture(operation, body);
    if (body["stream"] !== true && b.hugeJson) return sendHugeJson(res, model, b.hugeJson);
    if (body["stream"] !== true) return sendText(res, 200, renderJson(fixture), "application/json");

    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-request-id": `req_up_${recorded.size}` });
    res.flushHeaders();
    let events = renderEvents(fixture, body);
    if (b.repeat && b.repeat > 1) {
      // First chunk (role), then the content chunks `repeat` times, then the rest (finish, usage, [DONE]).
      const content = events.slice(1, -3);
      events = [events[0]!, ...Array.from({ length: b.repeat }, () => content).flat(), ...events.slice(-3)];
    }
    for (let i = 0; i < events.length; i++) {
      if (b.endlessEvent && i === 1) return sendEndlessEvent(res, model, b.endlessEvent);
      if (b.intervalMs && i > 0) await sleep(b.intervalMs);
      if (i === b.holdAfter) {
        const gate = gates.get(model);
        gate?.reached();
        await gate?.released;
      }
      if (i === b.breakAfter) {
        res.socket?.destroy();
        return;
      }
      if (i === b.stallAfter) return; // silent until the client leaves
      if (res.destroyed) return;
      // Wait until each event is handed to the socket, so "after N events" is exact.
      await new Promise<void>((resolve) => res.write(events[i], () => resolve()));
    }
    res.end();
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
  sendText(res, status, JSON.stringify(body, null, 2), "application/json", headers);
}

function sendText(res: ServerResponse, status: number, text: string, type: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}
