import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker-provider.js";
import { ApiError } from "../../../shared/src";
import { hostAllowed } from "../../../shared/src/contracts/http-fetch";
import { checkUpstreamUrl, guardedFetch, upstreamPolicy, type UpstreamPolicy } from "../../../shared/src/ssrf";
import { signWebhook } from "../../../shared/src/webhooks/signature";
import { WebhookRegistry } from "../webhooks/registry";
import { HttpFetchAllowlists } from "./fetch-allowlist";
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
  /** The built-in `http_fetch`: GET of the URL in the call's arguments, on the tenant's allow-list. */
  httpFetch(tenantId: string, args: string, timeoutMs: number): Promise<ToolResult>;
}

/** The function the model sees for the built-in `http_fetch` tool. */
export const HTTP_FETCH_FUNCTION = {
  description:
    "Fetch a web page or API response with an HTTP GET. Returns JSON with the final url, status, content_type and body (text, cut at 32 KiB). Only hosts on the operator's allow-list can be fetched.",
  parameters: {
    type: "object",
    properties: { url: { type: "string", description: "The absolute https URL to fetch." } },
    required: ["url"],
    additionalProperties: false,
  },
};

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

/** Redirects of an `http_fetch` re-checked against the allow-list (guardedFetch re-checks the SSRF guard). */
class NotAllowListed extends Error {}

export class RemoteTools implements ServerTools {
  readonly #policy: UpstreamPolicy;
  readonly #env: ToolsEnv;
  readonly #fetch: (url: string, init: RequestInit) => Promise<Response>;

  /** `fetcher`: how a checked hop of an `http_fetch` goes out (the runtime's `fetch`; unit tests give a fake site). */
  constructor(env: ToolsEnv, fetcher: (url: string, init: RequestInit) => Promise<Response> = (u, i) => fetch(u, i)) {
    this.#policy = upstreamPolicy(env);
    this.#env = env;
    this.#fetch = fetcher;
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

  /**
   * GETs the URL the model asked for when its host is on the tenant's allow-list — checked again on
   * every redirect hop, as the SSRF guard is (guardedFetch) —, within the run's tool timeout, reading
   * at most MAX_TOOL_OUTPUT_BYTES. The answer is handed to the model as data: a JSON object with the
   * final URL, status, content type and body text. Anything refused is the tool's error, which the
   * model sees (never a failed run).
   */
  async httpFetch(tenantId: string, args: string, timeoutMs: number): Promise<ToolResult> {
    let target: string;
    try {
      const value: unknown = JSON.parse(args || "{}");
      const url = value !== null && typeof value === "object" ? (value as { url?: unknown }).url : undefined;
      if (typeof url !== "string" || url.length === 0 || url.length > 2_048)
        return { error: "The tool's arguments must be a JSON object with 'url' (a string of at most 2048 characters)." };
      target = url;
    } catch {
      return { error: "The tool's arguments are not valid JSON." };
    }
    const first = checkUpstreamUrl(target, this.#policy);
    if (!first.ok) return { error: `The URL ${first.reason}.` };
    try {
      const { domains } = await new HttpFetchAllowlists(this.#env.TAIL_DB).get(tenantId);
      const allowListed = (url: string) => {
        const host = new URL(url).hostname;
        if (!hostAllowed(host, domains)) throw new NotAllowListed(`The host '${host.slice(0, 253)}' is not on this tenant's http_fetch allow-list.`);
      };
      allowListed(first.url.href);
      let finalUrl = first.url.href;
      const response = await guardedFetch(
        first.url.href,
        {
          method: "GET",
          headers: { accept: "text/*, application/json, */*;q=0.5", "user-agent": "llm-gateway-http-fetch/1" },
          signal: AbortSignal.timeout(timeoutMs),
        },
        this.#policy,
        (url, init) => {
          allowListed(url);
          finalUrl = url;
          return this.#fetch(url, init);
        },
      );
      const body = await readCapped(response, MAX_TOOL_OUTPUT_BYTES);
      return { output: JSON.stringify({ url: finalUrl, status: response.status, content_type: response.headers.get("content-type"), body }) };
    } catch (err) {
      if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError"))
        return { error: `The fetch did not finish within ${timeoutMs} ms.` };
      return { error: messageOf(err) };
    }
  }
}
