import { newId } from "../../../shared/src";
import type { TokenUsage } from "../../../shared/src/token-usage";
import type { CreateRequest, InputItem, RunLimits, Surface, ToolSpec } from "./request";

/**
 * The Responses API's items and response object (node_modules/openai/resources/responses/
 * responses.d.ts is the contract), and how a run's items become the chat messages of its next
 * model step.
 */

export interface OutputText {
  type: "output_text";
  text: string;
  annotations: never[];
  logprobs: never[];
}
export interface MessageItem {
  type: "message";
  id: string;
  role: "user" | "assistant" | "system" | "developer";
  status: "in_progress" | "completed" | "incomplete";
  content: ({ type: "input_text"; text: string } | OutputText | { type: "refusal"; refusal: string })[];
}
export interface FunctionCallItem {
  type: "function_call";
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: "in_progress" | "completed" | "incomplete";
}
export interface FunctionCallOutputItem {
  type: "function_call_output";
  id: string;
  call_id: string;
  output: string;
  status: "in_progress" | "completed" | "incomplete";
}
export interface McpToolInfo {
  name: string;
  description: string | null;
  input_schema: unknown;
  annotations: unknown;
}
export interface McpListToolsItem {
  type: "mcp_list_tools";
  id: string;
  server_label: string;
  tools: McpToolInfo[];
  error: string | null;
}
export interface McpCallItem {
  type: "mcp_call";
  id: string;
  server_label: string;
  name: string;
  arguments: string;
  output: string | null;
  error: string | null;
  status: "in_progress" | "completed" | "failed";
  approval_request_id: string | null;
}
export interface McpApprovalRequestItem {
  type: "mcp_approval_request";
  id: string;
  server_label: string;
  name: string;
  arguments: string;
}
export interface McpApprovalResponseItem {
  type: "mcp_approval_response";
  id: string;
  approval_request_id: string;
  approve: boolean;
  reason: string | null;
}
export type Item = MessageItem | FunctionCallItem | FunctionCallOutputItem | McpListToolsItem | McpCallItem | McpApprovalRequestItem | McpApprovalResponseItem;

export type ResponseStatus = "queued" | "in_progress" | "completed" | "incomplete" | "failed" | "cancelled";
export const TERMINAL: ReadonlySet<ResponseStatus> = new Set(["completed", "incomplete", "failed", "cancelled"]);
export type IncompleteReason = "max_output_tokens" | "max_steps" | "max_tool_calls" | "timeout" | "budget" | "loop_detected";

/** Input items as stored (and listed by `input_items`): every item has an id, strings become a user message. */
export function inputItemsOf(input: CreateRequest["input"]): Item[] {
  if (typeof input === "string")
    return [{ type: "message", id: newId("msg"), role: "user", status: "completed", content: [{ type: "input_text", text: input }] }];
  return input.map((item: InputItem): Item => {
    switch (item.type) {
      case "function_call":
        return { type: "function_call", id: item.id ?? newId("fc"), call_id: item.call_id, name: item.name, arguments: item.arguments, status: "completed" };
      case "function_call_output":
        return { type: "function_call_output", id: item.id ?? newId("fco"), call_id: item.call_id, output: item.output, status: "completed" };
      case "mcp_approval_response":
        return {
          type: "mcp_approval_response",
          id: item.id ?? newId("mcpr"),
          approval_request_id: item.approval_request_id,
          approve: item.approve,
          reason: item.reason ?? null,
        };
      default: {
        const content: MessageItem["content"] =
          typeof item.content === "string"
            ? [item.role === "assistant" ? outputText(item.content) : { type: "input_text", text: item.content }]
            : item.content.map((p) => (p.type === "output_text" ? outputText(p.text) : p));
        return { type: "message", id: item.id ?? newId("msg"), role: item.role, status: "completed", content };
      }
    }
  });
}

export const outputText = (text: string): OutputText => ({ type: "output_text", text, annotations: [], logprobs: [] });

/** What one run holds, persisted in its Durable Object. */
export interface RunRecord {
  id: string;
  tenantId: string;
  keyId: string;
  surface: Surface;
  createdAt: number;
  completedAt: number | null;
  status: ResponseStatus;
  error: { code: string; message: string } | null;
  incomplete: IncompleteReason | null;
  request: CreateRequest;
  limits: RunLimits;
  /** The conversation before this response (from `previous_response_id`). */
  history: Item[];
  input: Item[];
  output: Item[];
  usage: TokenUsage;
  costUsd: number;
}

/** OpenAI's response object for a run. */
export function responseObject(run: RunRecord): Record<string, unknown> {
  const r = run.request;
  const u = run.usage;
  const format = r.text?.format ?? { type: "text" };
  return {
    id: run.id,
    object: "response",
    created_at: Math.floor(run.createdAt / 1000),
    status: run.status,
    background: r.background ?? false,
    completed_at: run.completedAt === null ? null : Math.floor(run.completedAt / 1000),
    error: run.error,
    incomplete_details: run.incomplete ? { reason: run.incomplete } : null,
    instructions: r.instructions ?? null,
    max_output_tokens: r.max_output_tokens ?? null,
    max_tool_calls: r.max_tool_calls ?? null,
    model: r.model,
    output: run.output,
    parallel_tool_calls: r.parallel_tool_calls ?? true,
    previous_response_id: r.previous_response_id ?? null,
    store: r.store ?? true,
    temperature: r.temperature ?? 1,
    text: { format },
    tool_choice: r.tool_choice ?? "auto",
    tools: (r.tools ?? []).map(publicTool),
    top_p: r.top_p ?? 1,
    truncation: r.truncation ?? "disabled",
    usage: {
      input_tokens: u.promptTokens,
      input_tokens_details: { cached_tokens: u.cachedTokens },
      output_tokens: u.completionTokens,
      output_tokens_details: { reasoning_tokens: u.reasoningTokens },
      total_tokens: u.totalTokens,
    },
    metadata: r.metadata ?? {},
    ...(run.surface === "agentic"
      ? {
          limits: {
            max_steps: run.limits.maxSteps,
            timeout_ms: run.limits.timeoutMs,
            tool_timeout_ms: run.limits.toolTimeoutMs,
            max_total_tokens: run.limits.maxTotalTokens,
            max_cost_usd: run.limits.maxCostUsd,
          },
          cost_usd: Number(run.costUsd.toFixed(6)),
        }
      : {}),
  };
}

/** A tool as the response object echoes it: an MCP server's credential headers are never returned. */
function publicTool(tool: ToolSpec): Record<string, unknown> {
  if (tool.type !== "mcp") return tool;
  const { headers, ...rest } = tool;
  return { ...rest, headers: headers ? Object.fromEntries(Object.keys(headers).map((k) => [k, "<redacted>"])) : null };
}

// ─── Items → chat messages ───────────────────────────────────────────────────────────────────────

interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}
export type ChatMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

/** What the model is told for a call the user denied (`mcp_approval_response` with `approve: false`). */
export const denied = (reason: string | null): string => `Error: the user denied this tool call; it was not made.${reason ? ` Reason: ${reason}` : ""}`;

const textOf = (content: MessageItem["content"]): string => content.map((p) => (p.type === "refusal" ? p.refusal : p.text)).join("");

/**
 * The chat messages of a run's next model step: the instructions, then every item in order. The
 * model's turns (text, function calls, MCP calls) become assistant messages with `tool_calls`;
 * tool results become `tool` messages right after the turn that asked for them. Listings and
 * pending approval requests are not shown to the model; denied approvals are.
 */
export function chatMessages(instructions: string | null | undefined, items: readonly Item[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (instructions) messages.push({ role: "system", content: instructions });
  let turn: { content: string; calls: ChatToolCall[]; results: ChatMessage[] } | null = null;
  const flush = () => {
    if (!turn) return;
    messages.push(
      turn.calls.length > 0 ? { role: "assistant", content: turn.content || null, tool_calls: turn.calls } : { role: "assistant", content: turn.content },
    );
    messages.push(...turn.results);
    turn = null;
  };
  const assistant = () => (turn ??= { content: "", calls: [], results: [] });
  const asked = new Map(items.flatMap((i) => (i.type === "mcp_approval_request" ? [[i.id, i] as const] : [])));
  for (const item of items) {
    switch (item.type) {
      case "message":
        if (item.role === "assistant") {
          const t = assistant();
          if (t.calls.length > 0) {
            flush();
            assistant().content += textOf(item.content);
          } else t.content += textOf(item.content);
        } else {
          flush();
          messages.push({ role: item.role === "user" ? "user" : "system", content: textOf(item.content) });
        }
        break;
      case "function_call":
        assistant().calls.push({ id: item.call_id, type: "function", function: { name: item.name, arguments: item.arguments } });
        break;
      case "function_call_output":
        flush();
        messages.push({ role: "tool", tool_call_id: item.call_id, content: item.output });
        break;
      case "mcp_call": {
        const t = assistant();
        t.calls.push({ id: item.id, type: "function", function: { name: item.name, arguments: item.arguments } });
        t.results.push({ role: "tool", tool_call_id: item.id, content: item.error ? `Error: ${item.error}` : (item.output ?? "") });
        break;
      }
      case "mcp_approval_response": {
        // A denied call is not made; the model is told so, as the call's result (an approved one shows as its mcp_call).
        const request = asked.get(item.approval_request_id);
        if (item.approve || !request) break;
        const t = assistant();
        t.calls.push({ id: request.id, type: "function", function: { name: request.name, arguments: request.arguments } });
        t.results.push({ role: "tool", tool_call_id: request.id, content: denied(item.reason) });
        break;
      }
      default:
        break;
    }
  }
  flush();
  return messages;
}
