import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker-provider.js";
import { ApiError } from "../../../shared/src";
import { guardedFetch, upstreamPolicy, type UpstreamPolicy } from "../../../shared/src/ssrf";
import { signWebhook } from "../../../shared/src/webhooks/signature";
import { WebhookRegistry } from "../webhooks/registry";
import type { McpToolInfo } from "./items";
import { MAX_TOOL_OUTPUT_BYTES, type McpToolSpec, type WebhookToolSpec } from "./request";

/**
 * Server-side tools of a run: remote MCP servers (Streamable HTTP, `@modelcontextprotocol/sdk`'s
 * client) and webhook tools. Every URL goes through the SSRF guard on every hop; every call has
 * the run's tool timeout; every output is cut to MAX_TOOL_OUTPUT_BYTES and handed to the model as
 * data (a tool result), never as instructions.
 */
export interface ToolResult {
  output?: string;
  error?: string;
}

export interface WebhookCall {
  responseId: string;
  tenantId: string;
  callId: string;
  arguments: string;
}

export interface ServerTools {
  listMcp(server: McpToolSpec, timeoutMs: number): Promise<McpToolInfo[]>;
  callMcp(server: McpToolSpec, name: string, args: string, timeoutMs: number): Promise<ToolResult>;
  callWebhook(tool: WebhookToolSpec, call: WebhookCall, timeoutMs: number): Promise<ToolResult>;
}

/** `allowed_tools` (a list, or `{tool_names}`) admits the tool; absent: every tool. */
export function toolAllowed(server: McpToolSpec, name: string): boolean {
  const allowed = server.allowed_tools;
  if (!allowed) return true;
  const names = Array.isArray(allowed) ? allowed : allowed.tool_names;
  return names === undefined || names.includes(name);
}

/** OpenAI's default is `always`; `{never: {tool_names}}` exempts those tools, `{always: …}` lists the ones that need it. */
export function needsApproval(server: McpToolSpec, name: string): boolean {
  const rule = server.require_approval ?? "always";
  if (rule === "always") return true;
  if (rule === "never") return false;
  if (rule.never?.tool_names?.includes(name)) return false;
  if (rule.always?.tool_names) return rule.always.tool_names.includes(name);
  return rule.never === undefined;
}

/** Cuts text to `max` UTF-8 bytes, saying so. */
export function boundOutput(text: string, max = MAX_TOOL_OUTPUT_BYTES): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= max) return text;
  const cut = new TextDecoder().decode(bytes.slice(0, max)).replace(/\uFFFD$/, "");
  return `${cut}\n[output truncated at ${max} bytes]`;
}

/** At most `max` bytes of a body as text (the rest is cancelled unread), with a note when cut. */
async function readCapped(response: Response, max: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => {});
      break;
    }
  }
  return boundOutput(new TextDecoder().decode(await new Blob(chunks).arrayBuffer()), max);
}

const messageOf = (err: unknown): string => (err instanceof ApiError || err instanceof Error ? err.message.slice(0, 500) : "The tool call failed.");

type ToolsEnv = ConstructorParameters<typeof WebhookRegistry>[0] & { ALLOW_PRIVATE_UPSTREAMS?: string };

export class RemoteTools implements ServerTools {
  readonly #policy: UpstreamPolicy;
  readonly #env: ToolsEnv;

  constructor(env: ToolsEnv) {
    this.#policy = upstreamPolicy(env);
    this.#env = env;
  }

  async #withClient<T>(server: McpToolSpec, timeoutMs: number, use: (client: Client, signal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = AbortSignal.timeout(timeoutMs);
    const policy = this.#policy;
    const transport = new StreamableHTTPClientTransport(new URL(server.server_url), {
      requestInit: { headers: server.headers ?? {} },
      fetch: (input, init) => guardedFetch(String(input instanceof Request ? input.url : input), { ...init, signal }, policy),
    });
    const client = new Client({ name: "llm-gateway", version: "1.0.0" }, { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() });
    try {
      await client.connect(transport, { signal, timeout: timeoutMs });
      return await use(client, signal);
    } finally {
      await client.close().catch(() => {});
    }
  }

  async listMcp(server: McpToolSpec, timeoutMs: number): Promise<McpToolInfo[]> {
    return this.#withClient(server, timeoutMs, async (client, signal) => {
      const listed = await client.listTools(undefined, { signal, timeout: timeoutMs });
      return listed.tools.slice(0, 128).map((t) => ({
        name: t.name,
        description: t.description ? t.description.slice(0, 4_000) : null,
        input_schema: t.inputSchema,
        annotations: t.annotations ?? null,
      }));
    });
  }

  async callMcp(server: McpToolSpec, name: string, args: string, timeoutMs: number): Promise<ToolResult> {
    let parsed: Record<string, unknown>;
    try {
      const value: unknown = JSON.parse(args || "{}");
      if (value === null || typeof value !== "object" || Array.isArray(value)) return { error: "The tool's arguments are not a JSON object." };
      parsed = value as Record<string, unknown>;
    } catch {
      return { error: "The tool's arguments are not valid JSON." };
    }
    try {
      return await this.#withClient(server, timeoutMs, async (client, signal) => {
        const result = await client.callTool({ name, arguments: parsed }, undefined, { signal, timeout: timeoutMs });
        const content = Array.isArray(result.content) ? (result.content as { type: string; text?: string }[]) : [];
        const text = content.map((c) => (c.type === "text" ? (c.text ?? "") : `[${c.type} content]`)).join("\n");
        return result.isError ? { error: boundOutput(text || "The tool reported an error.", 4_000) } : { output: boundOutput(text) };
      });
    } catch (err) {
      return { error: messageOf(err) };
    }
  }

  /**
   * POSTs the call's arguments to the tool's URL, signed in the Standard Webhooks format with the
   * secret of the tenant's webhook endpoint registered for that URL (`POST /v1/webhooks`; the
   * secrets Worker opens it): `webhook-id` is the call id. The answer's body (cut to
   * MAX_TOOL_OUTPUT_BYTES) is the tool's output; a non-2xx status, a timeout or a refused URL is its error.
   */
  async callWebhook(tool: WebhookToolSpec, call: WebhookCall, timeoutMs: number): Promise<ToolResult> {
    try {
      const registry = new WebhookRegistry(this.#env);
      const endpoint = await registry.forUrl(call.tenantId, tool.url);
      if (!endpoint) return { error: "The webhook tool's URL is not a registered webhook endpoint of this tenant (POST /v1/webhooks)." };
      const opened = await this.#env.WEBHOOK_SECRETS.open({ tenant_id: endpoint.tenant_id, endpoint_id: endpoint.id, envelope: endpoint.secret_envelope });
      if (!opened.ok) return { error: "The webhook's signing secret could not be opened." };
      let args: unknown;
      try {
        args = JSON.parse(call.arguments || "{}");
      } catch {
        return { error: "The tool's arguments are not valid JSON." };
      }
      const body = JSON.stringify({ type: "tool.call", response_id: call.responseId, call_id: call.callId, name: tool.name, arguments: args });
      const signed = await signWebhook({ secret: opened.value.secret, id: call.callId, body, timestamp: Date.now() / 1000 });
      const response = await guardedFetch(tool.url, { method: "POST", headers: signed.headers, body, signal: AbortSignal.timeout(timeoutMs) }, this.#policy);
      const text = await readCapped(response, MAX_TOOL_OUTPUT_BYTES);
      return response.ok ? { output: text } : { error: `The webhook answered ${response.status}.` };
    } catch (err) {
      return { error: messageOf(err) };
    }
  }
}
