import { errorResponse, newId } from "../../../shared/src";
import { ZERO_USAGE, tokenUsage, usageFromOpenAI, type TokenUsage } from "../../../shared/src/token-usage";
import { EventLog } from "./events";
import {
  TERMINAL,
  chatMessages,
  outputText,
  responseObject,
  type FunctionCallItem,
  type IncompleteReason,
  type Item,
  type McpCallItem,
  type McpToolInfo,
  type ResponseStatus,
  type RunRecord,
} from "./items";
import { HTTP_FETCH_TOOL_NAME, LOOP_REPEATS, MAX_EVENTS, MAX_OUTPUT_ITEMS, type McpToolSpec, type WebhookToolSpec } from "./request";
import { HTTP_FETCH_FUNCTION, needsApproval, toolAllowed, type ServerTools } from "./tools";
import { errorMessage, log } from "../../../shared/src/log";

/**
 * One response run, the logic of its `AgentRun` Durable Object: a bounded, resumable tool loop.
 *
 *   start → list the MCP servers' tools → answer approvals → model step ⇄ server-side tool calls → end
 *
 * Each model step is a chat completion run through the gateway's own request path
 * (`GATEWAY_AGENT`, contracts/agent-step.ts). Function tools end the response with `function_call`
 * items (the client runs them and continues with `previous_response_id`); MCP and webhook tools
 * run here, each output cut to MAX_TOOL_OUTPUT_BYTES and given to the model as a tool result.
 *
 * Everything that happens is an event in the log (events.ts) and a change of the persisted state
 * written in the same turn of the object, so after a restart the run continues from the last
 * state its events describe: a model step that was in flight runs again under the same request
 * id (billed once), a tool call that was announced is called again and then completed.
 */

type PendingCall =
  | { kind: "mcp"; outputIndex: number; item: McpCallItem; announced: boolean }
  | { kind: "webhook" | "http_fetch"; callId: string; name: string; arguments: string };

type ToolOwner = { kind: "function" } | { kind: "mcp"; server: McpToolSpec } | { kind: "webhook"; tool: WebhookToolSpec } | { kind: "http_fetch" };

interface RunState extends RunRecord {
  phase: "start" | "model" | "tools" | "done";
  pending: PendingCall[];
  /** Client-side calls (functions, approval requests) were emitted: the response completes once the server-side ones ran. */
  endAfterTools: boolean;
  steps: number;
  toolCalls: number;
  /** How often each (tool, arguments) was called in this run, for `loop_detected`. */
  repeats: Record<string, number>;
  deadline: number;
  expiresAt: number | null;
  /** The first model step's error, when it failed before anything was produced (a synchronous create answers it as is). */
  firstError: { status: number; body: string } | null;
  inProgressSent: boolean;
  /**
   * `truncation: "auto"`: how many leading conversation items (history, input, output in order) the
   * model steps no longer see, after the upstream refused the prompt as too long for its context.
   */
  truncated?: number;
}

/** Stored responses are kept this long, then deleted by the object's alarm; `store: false` ones only long enough to be read. */
const RETENTION_MS = 30 * 86_400_000;
const UNSTORED_RETENTION_MS = 60_000;
const DELTA_CHARS = 512;
const STATE_KEY = "state";

export interface RunDeps {
  storage: DurableObjectStorage;
  gateway: { run(input: unknown): Promise<{ status: number; requestId: string; body: string; costUsd: string | null }> };
  tools: ServerTools;
  now(): number;
  /** Idle time of a stream before a `: keep-alive` comment (events.ts). */
  keepAliveMs?: number;
  /** The tenant's index of runs in flight (tail D1 `agent_runs`), told off the reply path. */
  index?: RunIndex;
}

/** Where a run lists itself while it is unfinished (the console's "agent runs in flight"). */
export interface RunIndex {
  started(run: RunRecord): void;
  ended(run: RunRecord): void;
}

export interface RunStart {
  record: Omit<RunRecord, "status" | "completedAt" | "error" | "incomplete" | "output" | "usage" | "costUsd" | "createdAt" | "history">;
  /** The conversation before this response (`previous_response_id`), as that run's `conversation()` gave it: JSON text. */
  history: string | null;
}

const json = (value: unknown, status = 200) => new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
const sse = (body: ReadableStream<Uint8Array>) =>
  new Response(body, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" } });

export class ResponseRun {
  readonly #deps: RunDeps;
  readonly #log: EventLog;
  #state: RunState | null = null;
  #driving = false;
  #settled: (() => void)[] = [];

  constructor(deps: RunDeps) {
    this.#deps = deps;
    this.#log = new EventLog(deps.storage, deps.keepAliveMs);
  }

  async load(): Promise<void> {
    this.#state = (await this.#deps.storage.get<RunState>(STATE_KEY)) ?? null;
    if (!this.#state) return;
    await this.#log.load();
    if (TERMINAL.has(this.#state.status)) this.#log.end();
  }

  /** The run belongs to this tenant (anything else is answered as if it did not exist). */
  owns(tenantId: string): boolean {
    return this.#state !== null && this.#state.tenantId === tenantId;
  }

  get record(): RunRecord | null {
    return this.#state;
  }

  /** Continues a run the object was restarted in the middle of. */
  resume(): void {
    if (this.#state && !TERMINAL.has(this.#state.status)) void this.#drive();
  }

  async create(start: RunStart, mode: { stream: boolean; background: boolean }): Promise<Response> {
    const now = this.#deps.now();
    const state: RunState = {
      ...start.record,
      history: start.history ? (JSON.parse(start.history) as Item[]) : [],
      createdAt: now,
      completedAt: null,
      status: mode.background ? "queued" : "in_progress",
      error: null,
      incomplete: null,
      output: [],
      usage: { ...ZERO_USAGE },
      costUsd: 0,
      phase: "start",
      pending: [],
      endAfterTools: false,
      steps: 0,
      toolCalls: 0,
      repeats: {},
      deadline: now + start.record.limits.timeoutMs,
      expiresAt: null,
      firstError: null,
      inProgressSent: false,
    };
    this.#state = state;
    this.#log.append({ type: "response.created", response: responseObject(state) });
    if (mode.background) this.#log.append({ type: "response.queued", response: responseObject(state) });
    this.#save();
    this.#deps.index?.started(state);
    await this.#deps.storage.setAlarm(state.deadline);
    const queued = responseObject(state);
    void this.#drive();
    if (mode.stream) return sse(this.#log.stream(-1));
    if (mode.background) return json(queued);
    await this.#untilSettled();
    const done = this.#state;
    if (done.status === "failed" && done.firstError && done.firstError.status < 500) {
      return new Response(done.firstError.body, { status: done.firstError.status, headers: { "content-type": "application/json" } });
    }
    return json(responseObject(done));
  }

  /** `GET …/{id}`: the response object, or (`stream`) its events after `startingAfter`. */
  retrieve(query: { stream: boolean; startingAfter: number }): Response {
    const state = this.#must();
    return query.stream ? sse(this.#log.stream(query.startingAfter)) : json(responseObject(state));
  }

  /** `POST …/{id}/cancel`: only a background run; a finished one is answered as it is. */
  cancel(requestId?: string): Response {
    const state = this.#must();
    if (!state.request.background) {
      return errorResponse({ code: "invalid_request", message: "Only responses created with background=true can be cancelled." }, requestId);
    }
    if (!TERMINAL.has(state.status)) this.#finish("cancelled");
    return json(responseObject(state));
  }

  /** `GET …/{id}/input_items` (OpenAI's list: newest first by default, `after`, `limit` 1–100). */
  inputItems(query: { order: "asc" | "desc"; after: string | null; limit: number }): Response {
    const state = this.#must();
    const items = query.order === "desc" ? [...state.input].reverse() : state.input;
    const start = query.after === null ? 0 : items.findIndex((i) => i.id === query.after) + 1;
    const page = items.slice(start, start + query.limit);
    return json({ object: "list", data: page, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: start + query.limit < items.length });
  }

  /** What a next response continuing this one (`previous_response_id`) starts from. */
  /** As JSON text: items carry JSON schemas (`unknown`), which RPC's types cannot describe. */
  conversation(): { items: string; finished: boolean } {
    const state = this.#must();
    return { items: JSON.stringify([...state.history, ...state.input, ...state.output]), finished: TERMINAL.has(state.status) };
  }

  async delete(): Promise<Response> {
    const state = this.#must();
    if (!TERMINAL.has(state.status)) this.#finish("cancelled");
    const id = state.id;
    await this.#deps.storage.deleteAll();
    await this.#deps.storage.deleteAlarm();
    this.#state = null;
    return json({ id, object: "response", deleted: true });
  }

  /** The object's alarm: the run's timeout while it runs, its deletion once it is kept long enough. */
  async alarm(): Promise<void> {
    const state = this.#state;
    if (!state) return;
    const now = this.#deps.now();
    if (TERMINAL.has(state.status)) {
      if (state.expiresAt !== null && now >= state.expiresAt) {
        await this.#deps.storage.deleteAll();
        this.#state = null;
      } else if (state.expiresAt !== null) await this.#deps.storage.setAlarm(state.expiresAt);
      return;
    }
    if (now >= state.deadline) {
      this.#finish("incomplete", "timeout");
      return;
    }
    await this.#deps.storage.setAlarm(state.deadline);
    this.resume();
  }

  #must(): RunState {
    if (!this.#state) throw new Error("no run");
    return this.#state;
  }

  #untilSettled(): Promise<void> {
    if (this.#state && TERMINAL.has(this.#state.status)) return Promise.resolve();
    return new Promise((resolve) => this.#settled.push(resolve));
  }

  #save(): void {
    if (this.#state) void this.#deps.storage.put(STATE_KEY, this.#state);
  }

  #emit(event: { type: string } & Record<string, unknown>): void {
    this.#log.append(event);
  }

  /** Ends the run: its terminal event (exactly one), the final state, the readers released. */
  #finish(status: Exclude<ResponseStatus, "queued" | "in_progress">, reason?: IncompleteReason, error?: { code: string; message: string }): void {
    const state = this.#must();
    if (TERMINAL.has(state.status)) return;
    state.status = status;
    state.completedAt = this.#deps.now();
    state.phase = "done";
    state.pending = [];
    if (reason) state.incomplete = reason;
    if (error) state.error = error;
    state.expiresAt = state.completedAt + (state.request.store === false ? UNSTORED_RETENTION_MS : RETENTION_MS);
    this.#emit({ type: `response.${status}`, response: responseObject(state) });
    this.#save();
    this.#deps.index?.ended(state);
    void this.#deps.storage.setAlarm(state.expiresAt);
    this.#log.end();
    for (const settle of this.#settled.splice(0)) settle();
  }

  /** True when the run ended (cancelled, timed out) while this turn awaited something. */
  #stopped(): boolean {
    return this.#state === null || TERMINAL.has(this.#state.status);
  }

  async #drive(): Promise<void> {
    if (this.#driving) return;
    this.#driving = true;
    try {
      while (!this.#stopped()) {
        const state = this.#must();
        if (this.#deps.now() >= state.deadline) {
          this.#finish("incomplete", "timeout");
          break;
        }
        if (this.#log.size >= MAX_EVENTS - 50 || state.output.length >= MAX_OUTPUT_ITEMS) {
          this.#finish("failed", undefined, { code: "server_error", message: "The response grew past the gateway's bounds on events or output items." });
          break;
        }
        if (state.phase === "start") await this.#start();
        else if (state.phase === "model") await this.#modelStep();
        else if (state.phase === "tools") await this.#runTools();
        else break;
      }
    } catch (err) {
      log.error("tail", "response run failed", {
        op: "responses",
        tenantId: this.#state?.tenantId,
        keyId: this.#state?.keyId,
        detail: this.#state?.id,
        message: errorMessage(err),
      });
      if (!this.#stopped()) this.#finish("failed", undefined, { code: "server_error", message: "The response run had an internal error." });
    } finally {
      this.#driving = false;
    }
  }

  #addItem(item: Item): number {
    const state = this.#must();
    state.output.push(item);
    return state.output.length - 1;
  }

  /** `in_progress`, then each MCP server's tool listing (reused from the conversation when it has one), then approved calls. */
  async #start(): Promise<void> {
    const state = this.#must();
    if (!state.inProgressSent) {
      state.status = "in_progress";
      state.inProgressSent = true;
      this.#emit({ type: "response.in_progress", response: responseObject(state) });
      this.#save();
    }
    for (const server of this.#mcpServers()) {
      const listed = [...state.history, ...state.output].some((i) => i.type === "mcp_list_tools" && i.server_label === server.server_label);
      if (listed) continue;
      let tools: McpToolInfo[] = [];
      let error: string | null = null;
      try {
        tools = (await this.#deps.tools.listMcp(server, state.limits.toolTimeoutMs)).filter((t) => toolAllowed(server, t.name));
      } catch (err) {
        error = err instanceof Error ? err.message : "The MCP server could not be reached.";
      }
      if (this.#stopped()) return;
      const id = newId("mcpl");
      const index = this.#addItem({ type: "mcp_list_tools", id, server_label: server.server_label, tools: [], error: null });
      this.#emit({ type: "response.output_item.added", output_index: index, item: { ...state.output[index] } });
      this.#emit({ type: "response.mcp_list_tools.in_progress", output_index: index, item_id: id });
      state.output[index] = { type: "mcp_list_tools", id, server_label: server.server_label, tools, error };
      this.#emit({ type: error ? "response.mcp_list_tools.failed" : "response.mcp_list_tools.completed", output_index: index, item_id: id });
      this.#emit({ type: "response.output_item.done", output_index: index, item: state.output[index] });
      if (error) {
        this.#finish("failed", undefined, { code: "server_error", message: `Listing the tools of MCP server '${server.server_label}' failed: ${error}` });
        return;
      }
      this.#save();
    }
    // Approvals answered in this request: an approved call runs now, a denied one is not called.
    const requests = new Map([...state.history, ...state.output].flatMap((i) => (i.type === "mcp_approval_request" ? [[i.id, i] as const] : [])));
    for (const answer of state.input) {
      if (answer.type !== "mcp_approval_response" || !answer.approve) continue;
      const asked = requests.get(answer.approval_request_id);
      if (!asked) continue;
      const item: McpCallItem = {
        type: "mcp_call",
        id: newId("mcp"),
        server_label: asked.server_label,
        name: asked.name,
        arguments: asked.arguments,
        output: null,
        error: null,
        status: "in_progress",
        approval_request_id: asked.id,
      };
      if (this.#countCall(item.name, item.arguments)) return;
      state.pending.push({ kind: "mcp", outputIndex: -1, item, announced: false });
    }
    state.phase = state.pending.length > 0 ? "tools" : "model";
    this.#save();
  }

  #mcpServers(): McpToolSpec[] {
    return (this.#must().request.tools ?? []).filter((t): t is McpToolSpec => t.type === "mcp");
  }

  #webhookTools(): WebhookToolSpec[] {
    return (this.#must().request.tools ?? []).filter((t): t is WebhookToolSpec => t.type === "webhook");
  }

  /** Counts a server-side call; ends the run (and returns true) past `max_tool_calls` or when it repeats. */
  #countCall(name: string, args: string): boolean {
    const state = this.#must();
    if (state.toolCalls + 1 > state.limits.maxToolCalls) {
      this.#finish("incomplete", "max_tool_calls");
      return true;
    }
    const key = `${name}\u0000${args}`;
    const seen = (state.repeats[key] ?? 0) + 1;
    if (seen >= LOOP_REPEATS) {
      this.#finish("incomplete", "loop_detected");
      return true;
    }
    state.repeats[key] = seen;
    state.toolCalls += 1;
    return false;
  }

  /** The chat tools of a step: function tools, webhook tools, the built-in `http_fetch`, the listed MCP tools. */
  #chatTools(): { tools: unknown[]; owner: Map<string, ToolOwner> } {
    const state = this.#must();
    const tools: unknown[] = [];
    const owner = new Map<string, ToolOwner>();
    for (const t of state.request.tools ?? []) {
      if (t.type === "function") {
        owner.set(t.name, { kind: "function" });
        tools.push({
          type: "function",
          function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.parameters ?? { type: "object", properties: {} } },
        });
      } else if (t.type === "webhook") {
        owner.set(t.name, { kind: "webhook", tool: t });
        tools.push({
          type: "function",
          function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.parameters ?? { type: "object", properties: {} } },
        });
      }
    }
    if ((state.request.tools ?? []).some((t) => t.type === "http_fetch") && !owner.has(HTTP_FETCH_TOOL_NAME)) {
      owner.set(HTTP_FETCH_TOOL_NAME, { kind: "http_fetch" });
      tools.push({ type: "function", function: { name: HTTP_FETCH_TOOL_NAME, ...HTTP_FETCH_FUNCTION } });
    }
    const listings = [...state.history, ...state.output].filter((i) => i.type === "mcp_list_tools");
    for (const server of this.#mcpServers()) {
      const listing = listings.filter((l) => l.server_label === server.server_label).at(-1);
      for (const tool of listing?.tools ?? []) {
        if (owner.has(tool.name) || !toolAllowed(server, tool.name)) continue;
        owner.set(tool.name, { kind: "mcp", server });
        tools.push({
          type: "function",
          function: { name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters: tool.input_schema ?? { type: "object" } },
        });
      }
    }
    return { tools, owner };
  }

  #chatBody(tools: unknown[]): Record<string, unknown> {
    const state = this.#must();
    const r = state.request;
    const conversation = [...state.history, ...state.input, ...state.output].slice(state.truncated ?? 0);
    const body: Record<string, unknown> = { model: r.model, messages: chatMessages(r.instructions, conversation) };
    if (tools.length > 0) {
      body["tools"] = tools;
      const choice = r.tool_choice;
      if (choice !== undefined) {
        body["tool_choice"] =
          typeof choice === "string"
            ? choice
            : choice.type === "function"
              ? { type: "function", function: { name: choice.name } }
              : choice.name
                ? { type: "function", function: { name: choice.name } }
                : "required";
      }
      if (r.parallel_tool_calls !== undefined && r.parallel_tool_calls !== null) body["parallel_tool_calls"] = r.parallel_tool_calls;
    }
    if (r.max_output_tokens) body["max_completion_tokens"] = r.max_output_tokens - state.usage.completionTokens;
    if (r.temperature !== undefined && r.temperature !== null) body["temperature"] = r.temperature;
    if (r.top_p !== undefined && r.top_p !== null) body["top_p"] = r.top_p;
    const format = r.text?.format;
    if (format?.type === "json_object") body["response_format"] = { type: "json_object" };
    if (format?.type === "json_schema") {
      body["response_format"] = {
        type: "json_schema",
        json_schema: {
          name: format.name,
          schema: format.schema,
          ...(format.description ? { description: format.description } : {}),
          ...(format.strict != null ? { strict: format.strict } : {}),
        },
      };
    }
    return body;
  }

  async #modelStep(): Promise<void> {
    const state = this.#must();
    const limits = state.limits;
    if (state.steps >= limits.maxSteps) return this.#finish("incomplete", "max_steps");
    if (limits.maxTotalTokens !== null && state.usage.totalTokens >= limits.maxTotalTokens) return this.#finish("incomplete", "budget");
    if (limits.maxCostUsd !== null && state.costUsd >= limits.maxCostUsd) return this.#finish("incomplete", "budget");
    if (state.request.max_output_tokens && state.usage.completionTokens >= state.request.max_output_tokens)
      return this.#finish("incomplete", "max_output_tokens");
    const step = state.steps + 1;
    const { tools, owner } = this.#chatTools();
    const outcome = await this.#deps.gateway.run({
      responseId: state.id,
      tenantId: state.tenantId,
      keyId: state.keyId,
      step,
      body: JSON.stringify(this.#chatBody(tools)),
    });
    if (this.#stopped()) return;
    state.steps = step;
    if (outcome.status !== 200) return this.#stepFailed(outcome);
    let answer: { choices?: { message?: { content?: unknown; refusal?: unknown; tool_calls?: unknown }; finish_reason?: unknown }[]; usage?: unknown };
    try {
      answer = JSON.parse(outcome.body) as typeof answer;
    } catch {
      return this.#finish("failed", undefined, { code: "server_error", message: "The model step's answer was not JSON." });
    }
    const used = usageFromOpenAI(answer.usage) ?? ZERO_USAGE;
    state.usage = addUsage(state.usage, used);
    state.costUsd += Number(outcome.costUsd ?? 0) || 0;
    const choice = answer.choices?.[0];
    const message = choice?.message ?? {};
    const content = typeof message.content === "string" ? message.content : "";
    const calls = Array.isArray(message.tool_calls) ? (message.tool_calls as { id?: unknown; function?: { name?: unknown; arguments?: unknown } }[]) : [];
    if (content) this.#emitMessage(content);
    let clientSide = false;
    for (const call of calls) {
      const name = typeof call.function?.name === "string" ? call.function.name : "";
      const args = typeof call.function?.arguments === "string" ? call.function.arguments : "{}";
      const callId = typeof call.id === "string" ? call.id : newId("call");
      const route = owner.get(name);
      if (!route || route.kind === "function") {
        this.#emitFunctionCall(callId, name, args);
        clientSide = true;
      } else if (route.kind === "webhook" || route.kind === "http_fetch") {
        this.#emitFunctionCall(callId, name, args);
        if (this.#countCall(name, args)) return;
        state.pending.push({ kind: route.kind, callId, name, arguments: args });
      } else if (needsApproval(route.server, name)) {
        const item: Item = { type: "mcp_approval_request", id: newId("mcpr"), server_label: route.server.server_label, name, arguments: args };
        const index = this.#addItem(item);
        this.#emit({ type: "response.output_item.added", output_index: index, item });
        this.#emit({ type: "response.output_item.done", output_index: index, item });
        clientSide = true;
      } else {
        const item: McpCallItem = {
          type: "mcp_call",
          id: newId("mcp"),
          server_label: route.server.server_label,
          name,
          arguments: args,
          output: null,
          error: null,
          status: "in_progress",
          approval_request_id: null,
        };
        if (this.#countCall(name, args)) return;
        state.pending.push({ kind: "mcp", outputIndex: -1, item, announced: false });
      }
    }
    if (choice?.finish_reason === "length") return this.#finish("incomplete", "max_output_tokens");
    if (state.pending.length > 0) {
      state.endAfterTools = clientSide;
      state.phase = "tools";
      this.#save();
      return;
    }
    this.#finish("completed");
  }

  #stepFailed(outcome: { status: number; body: string }): void {
    const state = this.#must();
    let code: string | null = null;
    let message = `The model step failed with status ${outcome.status}.`;
    try {
      const error = (JSON.parse(outcome.body) as { error?: { code?: unknown; message?: unknown } }).error;
      code = typeof error?.code === "string" ? error.code : null;
      if (typeof error?.message === "string") message = error.message.slice(0, 1_000);
    } catch {
      // not an OpenAI error body: the status says it
    }
    if (code === "insufficient_quota") return this.#finish("incomplete", "budget");
    // OpenAI's `truncation: "auto"`: the oldest turns are dropped until the prompt fits, then the step runs again.
    if (code === "context_length_exceeded" && state.request.truncation === "auto" && this.#truncate()) return this.#save();
    if (state.output.every((i) => i.type === "mcp_list_tools")) state.firstError = { status: outcome.status, body: outcome.body };
    this.#finish("failed", undefined, { code: outcome.status === 429 ? "rate_limit_exceeded" : "server_error", message });
  }

  /**
   * Drops the oldest turn the model steps see: everything before the next user message. False when
   * no earlier turn is left to drop (the latest user message alone does not fit: the step fails
   * with the upstream's 400, as with `truncation: "disabled"`).
   */
  #truncate(): boolean {
    const state = this.#must();
    const items = [...state.history, ...state.input, ...state.output];
    const from = state.truncated ?? 0;
    const next = items.findIndex((item, i) => i > from && item.type === "message" && item.role === "user");
    if (next === -1) return false;
    state.truncated = next;
    return true;
  }

  #emitMessage(text: string): void {
    const id = newId("msg");
    const index = this.#addItem({ type: "message", id, role: "assistant", status: "in_progress", content: [] });
    this.#emit({
      type: "response.output_item.added",
      output_index: index,
      item: { type: "message", id, role: "assistant", status: "in_progress", content: [] },
    });
    this.#emit({ type: "response.content_part.added", output_index: index, item_id: id, content_index: 0, part: outputText("") });
    for (let i = 0; i < text.length; i += DELTA_CHARS) {
      this.#emit({
        type: "response.output_text.delta",
        output_index: index,
        item_id: id,
        content_index: 0,
        delta: text.slice(i, i + DELTA_CHARS),
        logprobs: [],
      });
    }
    this.#emit({ type: "response.output_text.done", output_index: index, item_id: id, content_index: 0, text, logprobs: [] });
    this.#emit({ type: "response.content_part.done", output_index: index, item_id: id, content_index: 0, part: outputText(text) });
    const item: Item = { type: "message", id, role: "assistant", status: "completed", content: [outputText(text)] };
    this.#must().output[index] = item;
    this.#emit({ type: "response.output_item.done", output_index: index, item });
  }

  #emitFunctionCall(callId: string, name: string, args: string): void {
    const id = newId("fc");
    const started: FunctionCallItem = { type: "function_call", id, call_id: callId, name, arguments: "", status: "in_progress" };
    const index = this.#addItem(started);
    this.#emit({ type: "response.output_item.added", output_index: index, item: started });
    this.#emit({ type: "response.function_call_arguments.delta", output_index: index, item_id: id, delta: args });
    this.#emit({ type: "response.function_call_arguments.done", output_index: index, item_id: id, name, arguments: args });
    const item: FunctionCallItem = { ...started, arguments: args, status: "completed" };
    this.#must().output[index] = item;
    this.#emit({ type: "response.output_item.done", output_index: index, item });
  }

  async #runTools(): Promise<void> {
    const state = this.#must();
    while (state.pending.length > 0) {
      const call = state.pending[0]!;
      if (call.kind === "mcp") {
        if (!call.announced) {
          call.outputIndex = this.#addItem({ ...call.item });
          this.#emit({ type: "response.output_item.added", output_index: call.outputIndex, item: call.item });
          this.#emit({ type: "response.mcp_call.in_progress", output_index: call.outputIndex, item_id: call.item.id });
          call.announced = true;
          this.#save();
        }
        const server = this.#mcpServers().find((s) => s.server_label === call.item.server_label);
        const result = server
          ? await this.#deps.tools.callMcp(server, call.item.name, call.item.arguments, state.limits.toolTimeoutMs)
          : { error: `No MCP server '${call.item.server_label}' in this request's tools.` };
        if (this.#stopped()) return;
        const done: McpCallItem = { ...call.item, output: result.output ?? null, error: result.error ?? null, status: result.error ? "failed" : "completed" };
        state.output[call.outputIndex] = done;
        this.#emit({ type: result.error ? "response.mcp_call.failed" : "response.mcp_call.completed", output_index: call.outputIndex, item_id: done.id });
        this.#emit({ type: "response.output_item.done", output_index: call.outputIndex, item: done });
      } else {
        const tool = this.#webhookTools().find((t) => t.name === call.name);
        const result =
          call.kind === "http_fetch"
            ? await this.#deps.tools.httpFetch(state.tenantId, call.arguments, state.limits.toolTimeoutMs)
            : tool
              ? await this.#deps.tools.callWebhook(
                  tool,
                  { responseId: state.id, tenantId: state.tenantId, callId: call.callId, arguments: call.arguments },
                  state.limits.toolTimeoutMs,
                )
              : { error: `No webhook tool '${call.name}'.` };
        if (this.#stopped()) return;
        const item: Item = {
          type: "function_call_output",
          id: newId("fco"),
          call_id: call.callId,
          output: result.error ? `Error: ${result.error}` : (result.output ?? ""),
          status: "completed",
        };
        const index = this.#addItem(item);
        this.#emit({ type: "response.output_item.added", output_index: index, item });
        this.#emit({ type: "response.output_item.done", output_index: index, item });
      }
      state.pending.shift();
      this.#save();
    }
    if (state.endAfterTools) return this.#finish("completed");
    state.phase = "model";
    this.#save();
  }
}

function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return tokenUsage({
    prompt: a.promptTokens + b.promptTokens,
    completion: a.completionTokens + b.completionTokens,
    cached: a.cachedTokens + b.cachedTokens,
    cacheWrite: a.cacheWriteTokens + b.cacheWriteTokens,
    reasoning: a.reasoningTokens + b.reasoningTokens,
  });
}
