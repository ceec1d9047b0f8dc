import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeUpstream } from "../fake-upstream/server";
import { clientFor } from "../support/clients";
import { MCP_WEATHER, startMcpServer, type TestMcpServer } from "../support/mcp-server";
import { uniqueModel } from "../support/names";
import { responseReaching, responseUsageRows, startResponsesStack } from "../support/responses";
import type { Stack } from "../support/stack";
import { startWebhookReceiver } from "../support/webhook-receiver";
import { WEB_PAGE_TEXT, startWebSite, type WebSite } from "../support/web-site";
import { webhookSignature } from "../../workers/shared/src/webhooks/signature";
import { adminFetch, updateTenant } from "../support/tenants";
import { afterKeyChange, afterPriceChange } from "../support/propagation";

/**
 * Issue 13, "must show": server-side tools of a response run on an Anthropic-type provider — a
 * remote MCP server the test runs (listed and called, with and without approval) — and each limit
 * ending the run `incomplete` with its reason.
 */

let stack: Stack;
let upstream: FakeUpstream;
let mcp: TestMcpServer;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, upstream, close } = await startResponsesStack());
  mcp = await startMcpServer();
});
afterAll(async () => {
  await close?.();
  await mcp?.close();
});

const ANSWER = "Hello! The capital of France is Paris.";
const ARGS = JSON.stringify({ location: "Paris, France", unit: "celsius" });
const mcpTool = (extra: Record<string, unknown> = {}) => ({ type: "mcp" as const, server_label: "weather", server_url: mcp.url, ...extra });

describe("MCP tools", () => {
  it("without approval: tools listed (mcp_list_tools), the model's call made over MCP (mcp_call), its output given back to the model", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("mcp-never");
    const before = mcp.calls.length;
    const response = await client.responses.create({
      model: `claude/${model}`,
      input: "What's the weather in Paris?",
      tools: [mcpTool({ require_approval: "never", headers: { authorization: "Bearer mcp-secret" } })],
    });
    expect(response.status).toBe("completed");
    expect(response.output.map((i) => i.type)).toEqual(["mcp_list_tools", "message", "mcp_call", "message"]);
    expect(response.output[0]).toEqual({
      type: "mcp_list_tools",
      id: expect.stringMatching(/^mcpl_/),
      server_label: "weather",
      error: null,
      tools: [
        expect.objectContaining({ name: "get_weather", description: "Current weather", input_schema: expect.objectContaining({ type: "object" }) }),
        expect.objectContaining({ name: "get_time" }),
      ],
    });
    expect(response.output[2]).toEqual({
      type: "mcp_call",
      id: expect.stringMatching(/^mcp_/),
      server_label: "weather",
      name: "get_weather",
      arguments: ARGS,
      output: MCP_WEATHER,
      error: null,
      status: "completed",
      approval_request_id: null,
    });
    expect(response.output_text).toContain(ANSWER);
    expect(mcp.calls.slice(before)).toEqual([
      { name: "get_weather", arguments: { location: "Paris, France", unit: "celsius" }, authorization: "Bearer mcp-secret" },
    ]);
    // The tool's output reached the model as the tool result; the credential never left in the response.
    const second = upstream.requests(model)[1]!.body["messages"] as { content: { type: string; content?: unknown }[] }[];
    expect(second.at(-1)!.content).toEqual([expect.objectContaining({ type: "tool_result", content: MCP_WEATHER })]);
    expect(JSON.stringify(response)).not.toContain("mcp-secret");
    // Usage: each of the two model steps is one usage row tagged with the response id; the response's usage is their sum.
    const rows = await responseUsageRows(stack, response.id, 2);
    expect(rows.map((r) => r.request_id)).toEqual([`req_${response.id.slice(5)}_s1`, `req_${response.id.slice(5)}_s2`]);
    const sum = (k: "prompt_tokens" | "completion_tokens" | "cached_tokens" | "total_tokens") => rows.reduce((n, r) => n + r[k], 0);
    expect(response.usage).toEqual({
      input_tokens: sum("prompt_tokens"),
      input_tokens_details: { cached_tokens: sum("cached_tokens") },
      output_tokens: sum("completion_tokens"),
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: sum("total_tokens"),
    });
    expect(rows.every((r) => r.total_tokens > 0)).toBe(true);
  });

  it("with approval: the run stops at an mcp_approval_request; the client's approval continues it and the call is made once", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("mcp-approve");
    const before = mcp.calls.length;
    const first = await client.responses.create({ model: `claude/${model}`, input: "What's the weather in Paris?", tools: [mcpTool()] });
    expect(first.status).toBe("completed");
    expect(first.output.map((i) => i.type)).toEqual(["mcp_list_tools", "message", "mcp_approval_request"]);
    const request = first.output[2]!;
    expect(request).toEqual({
      type: "mcp_approval_request",
      id: expect.stringMatching(/^mcpr_/),
      server_label: "weather",
      name: "get_weather",
      arguments: ARGS,
    });
    expect(mcp.calls.length).toBe(before);

    const second = await client.responses.create({
      model: `claude/${model}`,
      previous_response_id: first.id,
      input: [{ type: "mcp_approval_response", approval_request_id: request.type === "mcp_approval_request" ? request.id : "", approve: true }],
      tools: [mcpTool()],
    });
    expect(second.status).toBe("completed");
    expect(second.output.map((i) => i.type)).toEqual(["mcp_call", "message"]);
    expect(second.output[0]).toMatchObject({
      type: "mcp_call",
      name: "get_weather",
      output: MCP_WEATHER,
      status: "completed",
      approval_request_id: request.id,
    });
    expect(second.output_text).toBe(ANSWER);
    expect(mcp.calls.slice(before).map((c) => c.name)).toEqual(["get_weather"]);
  });
  it("denied approval: the call is not made and the model is told it was denied (with the reason) as the call's result", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("mcp-deny");
    const before = mcp.calls.length;
    const first = await client.responses.create({ model: `claude/${model}`, input: "What's the weather in Paris?", tools: [mcpTool()] });
    const request = first.output[2]!;
    expect(request.type).toBe("mcp_approval_request");
    const second = await client.responses.create({
      model: `claude/${model}`,
      previous_response_id: first.id,
      input: [{ type: "mcp_approval_response", approval_request_id: request.id!, approve: false, reason: "not today" }],
      tools: [mcpTool()],
    });
    expect(second.status).toBe("completed");
    expect(second.output.map((i) => i.type)).toEqual(["message"]);
    expect(second.output_text).toBe(ANSWER);
    expect(mcp.calls.length).toBe(before);
    const messages = upstream.requests(model)[1]!.body["messages"] as {
      role: string;
      content: { type: string; id?: string; tool_use_id?: string; content?: unknown }[];
    }[];
    expect(messages.at(-2)).toMatchObject({
      role: "assistant",
      content: [expect.objectContaining({ type: "text" }), { type: "tool_use", id: request.id, name: "get_weather" }],
    });
    expect(messages.at(-1)).toEqual({
      role: "user",
      content: [
        expect.objectContaining({
          type: "tool_result",
          tool_use_id: request.id,
          content: "Error: the user denied this tool call; it was not made. Reason: not today",
        }),
      ],
    });
  });
});

describe("streaming a run with a slow tool", () => {
  it("sends keep-alive comments while the tool runs, then the rest of the lifecycle: contiguous sequence numbers, exactly one terminal event", async () => {
    const { apiKey } = await clientFor(stack);
    const model = uniqueModel("stream-keepalive");
    const gate = mcp.holdNextCall();
    const res = await fetch(`${stack.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: `claude/${model}`, input: "What's the weather in Paris?", stream: true, tools: [mcpTool({ require_approval: "never" })] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const readUntil = async (done: (t: string) => boolean) => {
      while (!done(text)) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += chunk.value;
      }
    };
    await gate.reached;
    // The tool is being called and held: the stream stays open with comments, no event is invented.
    await readUntil(
      (t) => t.includes("response.mcp_call.in_progress") && /\n: keep-alive\n\n[\s\S]*$/.test(t.slice(t.indexOf("response.mcp_call.in_progress"))),
    );
    const held = text;
    gate.release();
    await readUntil(() => false);
    const blocks = text.split("\n\n").filter(Boolean);
    const events = blocks
      .filter((b) => b.startsWith("event: "))
      .map((b) => JSON.parse(b.slice(b.indexOf("data: ") + 6)) as { type: string; sequence_number: number });
    const comments = blocks.filter((b) => b.startsWith(": "));
    expect(comments.length).toBeGreaterThan(0);
    expect(comments.every((c) => c === ": keep-alive")).toBe(true);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.filter((e) => /^response\.(completed|incomplete|failed|cancelled)$/.test(e.type)).map((e) => e.type)).toEqual(["response.completed"]);
    expect(events.at(-1)!.type).toBe("response.completed");
    // Every comment came while the call was held: after its in_progress, before its completion.
    const types = events.map((e) => e.type);
    expect(types.indexOf("response.mcp_call.completed")).toBeGreaterThan(types.indexOf("response.mcp_call.in_progress"));
    expect(held).not.toContain("response.mcp_call.completed");
  });
});

describe("limits end the run incomplete with their reason", () => {
  const forced = (model: string, extra: Record<string, unknown> = {}) => ({
    model: `claude/${model}`,
    input: "What's the weather in Paris?",
    tool_choice: "required" as const,
    tools: [mcpTool({ require_approval: "never" })],
    ...extra,
  });

  it("loop_detected: the same tool with identical arguments again and again", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("limit-loop");
    const response = await client.responses.create(forced(model));
    expect(response.status).toBe("incomplete");
    expect(response.incomplete_details).toEqual({ reason: "loop_detected" });
    expect(response.output.filter((i) => i.type === "mcp_call")).toHaveLength(2);
  });

  it("max_tool_calls", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("limit-calls");
    const response = await client.responses.create(forced(model, { max_tool_calls: 1 }));
    expect(response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_tool_calls" }, max_tool_calls: 1 });
    expect(response.output.filter((i) => i.type === "mcp_call")).toHaveLength(1);
  });

  it("max_output_tokens: the model stopped at its token limit", async () => {
    const { client } = await clientFor(stack);
    const model = `${uniqueModel("limit-out")}-max-tokens`;
    const response = await client.responses.create({ model: `claude/${model}`, input: "Write a long story.", max_output_tokens: 64 });
    expect(response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } });
    expect(upstream.requests(model)[0]!.body["max_tokens"]).toBe(64);
  });

  it("max_steps and budget (max_total_tokens) on /v1/agentic; server caps lower client values", async () => {
    const { apiKey } = await clientFor(stack);
    const post = async (body: Record<string, unknown>) => {
      const res = await fetch(`${stack.url}/v1/agentic`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const steps = await post({ ...forced(uniqueModel("limit-steps")), limits: { max_steps: 1, timeout_ms: 10_000_000 } });
    expect(steps.status).toBe(200);
    expect(steps.body).toMatchObject({ object: "response", status: "incomplete", incomplete_details: { reason: "max_steps" } });
    expect(steps.body["limits"]).toMatchObject({ max_steps: 1, timeout_ms: 900_000 });
    const budget = await post({ ...forced(uniqueModel("limit-budget")), limits: { max_total_tokens: 1 } });
    expect(budget.body).toMatchObject({ status: "incomplete", incomplete_details: { reason: "budget" } });
    expect((budget.body["output"] as { type: string }[]).filter((i) => i.type === "mcp_call")).toHaveLength(1);
  });

  /**
   * A model priced only by its input, $1000 per 1M tokens (1000 µ$ a token), output free: a step's
   * worst case reserved by the gateway is then its prompt estimate × 1000 µ$ (about 4 characters a
   * token, README), and its actual cost the fake's recorded usage (the tool-use answer: 472 input
   * tokens) × 1000 µ$ = $0.472.
   */
  async function inputPricedModel(label: string): Promise<string> {
    const model = uniqueModel(label);
    const res = await adminFetch(stack, `/admin/prices/${model}`, { method: "PUT", body: { input_per_mtok: 1000, output_per_mtok: 0 } });
    expect(res.status).toBe(201);
    await afterPriceChange(stack);
    return model;
  }

  it("budget: a tenant budget that covers the first step but not the next stops the run with 'budget' (the step was refused insufficient_quota)", async () => {
    const { apiKey, tenant } = await clientFor(stack);
    const model = await inputPricedModel("limit-tenant-budget");
    // An 8000-character prompt: each step's estimate is 2000 tokens plus the tools and framing (well
    // under 300), so step 1 reserves under $2.30. Step 2's estimate is larger still, and whether or not
    // step 1 has settled (actual $0.472, or its reservation still held), $2.30 cannot cover both.
    await updateTenant(stack, tenant.id, { budget: { monthly_usd: 2.3 } });
    await afterKeyChange(stack);
    const res = await fetch(`${stack.url}/v1/agentic`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ ...forced(model), input: `${"word ".repeat(1_600)}What's the weather in Paris?` }),
    });
    const body = (await res.json()) as { status: string; incomplete_details: unknown; output: { type: string }[]; usage: { input_tokens: number } };
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ status: "incomplete", incomplete_details: { reason: "budget" } });
    expect(body.output.map((i) => i.type)).toEqual(["mcp_list_tools", "message", "mcp_call"]);
    // One step reached the upstream; the second was refused by the gateway before it.
    expect(upstream.requests(model)).toHaveLength(1);
    expect(body.usage.input_tokens).toBe(472);
  });

  it("budget: limits.max_cost_usd ends the run once its steps cost that much; response cost_usd is their sum", async () => {
    const { apiKey } = await clientFor(stack);
    const model = await inputPricedModel("limit-max-cost");
    const res = await fetch(`${stack.url}/v1/agentic`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ ...forced(model), limits: { max_cost_usd: 0.1 } }),
    });
    const body = (await res.json()) as { status: string; output: { type: string }[]; cost_usd: number; limits: { max_cost_usd: number } };
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ status: "incomplete", incomplete_details: { reason: "budget" }, cost_usd: 0.472, limits: { max_cost_usd: 0.1 } });
    expect(body.output.filter((i) => i.type === "mcp_call")).toHaveLength(1);
    expect(upstream.requests(model)).toHaveLength(1);
  });

  it("timeout: the run's alarm ends it while a model step is still in flight; the late answer is dropped", async () => {
    const { apiKey, client } = await clientFor(stack);
    const model = uniqueModel("limit-timeout");
    const gate = upstream.hold(model, 0);
    const res = await fetch(`${stack.url}/v1/agentic`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: `claude/${model}`, input: "hi", background: true, limits: { timeout_ms: 1_000 } }),
    });
    const created = (await res.json()) as { id: string; status: string };
    expect(created.status).toBe("queued");
    await gate.reached;
    const ended = await responseReaching(client, created.id, "incomplete");
    expect(ended.incomplete_details).toEqual({ reason: "timeout" });
    gate.release();
    await upstream.requests(model)[0]!.outcome;
    expect(await client.responses.retrieve(created.id)).toMatchObject({ status: "incomplete", output: [] });
  });

  it("/v1/responses refuses the agentic extensions with 400 naming them", async () => {
    const { apiKey } = await clientFor(stack);
    const res = await fetch(`${stack.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "claude/x", input: "hi", limits: { max_steps: 1 } }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.objectContaining({ param: "limits", code: "invalid_request", type: "invalid_request_error" }) });
  });
});

describe("webhook tools on /v1/agentic", () => {
  it("the tool's URL receives the call signed in the Standard Webhooks format with the tenant's endpoint secret; its answer goes to the model", async () => {
    const { apiKey } = await clientFor(stack, { scopes: ["chat", "webhooks:write"] });
    const receiver = await startWebhookReceiver([200]);
    try {
      const headers = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
      const endpoint = (await (await fetch(`${stack.url}/v1/webhooks`, { method: "POST", headers, body: JSON.stringify({ url: receiver.url }) })).json()) as {
        secret: string;
      };
      expect(endpoint.secret).toMatch(/^whsec_/);
      const model = uniqueModel("webhook-tool");
      const res = await fetch(`${stack.url}/v1/agentic`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          model: `claude/${model}`,
          input: "What's the weather in Paris?",
          tools: [
            {
              type: "webhook",
              name: "get_weather",
              description: "Current weather",
              parameters: { type: "object", properties: { location: { type: "string" } } },
              url: receiver.url,
            },
          ],
        }),
      });
      const body = (await res.json()) as { status: string; output: { type: string; output?: string; call_id?: string }[] };
      expect(res.status).toBe(200);
      expect(body.status).toBe("completed");
      expect(body.output.map((i) => i.type)).toEqual(["message", "function_call", "function_call_output", "message"]);
      const [delivery] = await receiver.waitFor(1);
      const id = String(delivery!.headers["webhook-id"]);
      const timestamp = Number(delivery!.headers["webhook-timestamp"]);
      expect(id).toBe(body.output[1]!.call_id);
      expect(delivery!.headers["webhook-signature"]).toBe(await webhookSignature(endpoint.secret, id, timestamp, delivery!.body));
      expect(JSON.parse(delivery!.body)).toMatchObject({ type: "tool.call", name: "get_weather", arguments: { location: "Paris, France", unit: "celsius" } });
    } finally {
      await receiver.close();
    }
  });

  it("refuses a tool URL the SSRF guard refuses with 400 naming it (here: a cloud metadata address), and runs nothing", async () => {
    const { apiKey } = await clientFor(stack);
    const model = uniqueModel("webhook-ssrf");
    const res = await fetch(`${stack.url}/v1/agentic`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: `claude/${model}`,
        input: "hi",
        tools: [{ type: "webhook", name: "get_weather", url: "http://169.254.169.254/latest/meta-data" }],
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.objectContaining({ param: "tools[0].url", code: "invalid_request" }) });
    expect(upstream.requests(model)).toHaveLength(0);
  });
});

describe("the built-in http_fetch tool on /v1/agentic", () => {
  let site: WebSite;
  beforeAll(async () => {
    site = await startWebSite();
  });
  afterAll(() => site?.close());

  type Run = { status: string; output: { type: string; name?: string; call_id?: string; output?: string; arguments?: string }[] };
  /** A tenant whose key may run responses and set the allow-list, with `domains` allow-listed. */
  async function tenantAllowing(domains: string[]) {
    const { apiKey } = await clientFor(stack, { scopes: ["chat", "providers:write"] });
    const headers = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
    const put = await fetch(`${stack.url}/v1/agentic/http_fetch/allowlist`, { method: "PUT", headers, body: JSON.stringify({ domains }) });
    expect(put.status).toBe(200);
    const fetchRun = async (url: string) => {
      const model = uniqueModel("http-fetch");
      upstream.on(model, { toolUse: { name: "http_fetch", input: { url } } });
      const res = await fetch(`${stack.url}/v1/agentic`, {
        method: "POST",
        headers,
        body: JSON.stringify({ model: `claude/${model}`, input: "Fetch it.", tools: [{ type: "http_fetch" }] }),
      });
      expect(res.status).toBe(200);
      const run = (await res.json()) as Run;
      // The run completes either way: the fetch's answer or its refusal is the tool's output the model is given.
      expect(run.status).toBe("completed");
      expect(run.output.map((i) => i.type)).toEqual(["message", "function_call", "function_call_output", "message"]);
      expect(run.output[1]).toMatchObject({ name: "http_fetch", arguments: JSON.stringify({ url }) });
      const output = run.output[2]!.output!;
      const toModel = upstream.requests(model)[1]!.body["messages"] as { content: { type: string; content?: unknown }[] }[];
      expect(toModel.at(-1)!.content).toEqual([expect.objectContaining({ type: "tool_result", tool_use_id: run.output[1]!.call_id, content: output })]);
      return output;
    };
    return { headers, fetchRun };
  }

  it("the tenant sets and reads its allow-list (PUT needs providers:write); bad entries are a 400 naming them", async () => {
    const { apiKey } = await clientFor(stack, { scopes: ["chat", "providers:write"] });
    const headers = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
    const url = `${stack.url}/v1/agentic/http_fetch/allowlist`;
    expect(await (await fetch(url, { headers })).json()).toEqual({ object: "http_fetch.allowlist", domains: [], updated_at: null });
    const put = await fetch(url, { method: "PUT", headers, body: JSON.stringify({ domains: ["API.Example.com", "*.example.org"] }) });
    const stored = { object: "http_fetch.allowlist", domains: ["api.example.com", "*.example.org"], updated_at: expect.any(Number) };
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual(stored);
    expect(await (await fetch(url, { headers })).json()).toEqual(stored);

    const bad = await fetch(url, { method: "PUT", headers, body: JSON.stringify({ domains: ["ok.example.com", "10.0.0.1"] }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: expect.objectContaining({ param: "domains[1]", code: "invalid_request", type: "invalid_request_error" }) });

    // A key without providers:write reads it but cannot change it; another tenant sees its own (empty) list.
    const reader = await clientFor(stack, { scopes: ["chat"] });
    const readerHeaders = { authorization: `Bearer ${reader.apiKey}`, "content-type": "application/json" };
    const denied = await fetch(url, { method: "PUT", headers: readerHeaders, body: JSON.stringify({ domains: ["evil.example.com"] }) });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ error: expect.objectContaining({ code: "permission_denied" }) });
    expect(await (await fetch(url, { headers: readerHeaders })).json()).toMatchObject({ domains: [] });
    expect(await (await fetch(url, { headers })).json()).toEqual(stored);
  });

  it("fetches an allow-listed URL (the site sees the GET) and gives its answer to the model as data", async () => {
    const { fetchRun } = await tenantAllowing(["localhost"]);
    const before = site.requests.length;
    const output = await fetchRun(`${site.origin}/page`);
    expect(JSON.parse(output)).toEqual({ url: `${site.origin}/page`, status: 200, content_type: "text/plain; charset=utf-8", body: WEB_PAGE_TEXT });
    expect(site.requests.slice(before)).toEqual([{ path: "/page", headers: expect.objectContaining({ "user-agent": "llm-gateway-http-fetch/1" }) }]);
  });

  it("refuses a host off the allow-list and a private (metadata) address as the tool's error the model sees; nothing is fetched", async () => {
    const { fetchRun } = await tenantAllowing(["localhost", "metadata.google.internal"]);
    const before = site.requests.length;
    expect(await fetchRun(`http://127.0.0.1:${site.port}/page`)).toBe("Error: The host '127.0.0.1' is not on this tenant's http_fetch allow-list.");
    expect(site.requests.length).toBe(before);

    // On the list, but a cloud metadata address: the SSRF guard refuses it. (Redirect hops are checked
    // again — responses/tools.test.ts: under the test harness the runtime's fetch follows them itself.)
    expect(await fetchRun("http://metadata.google.internal/computeMetadata/v1/")).toMatch(/^Error: The URL points to a cloud metadata host/);
    expect(site.requests.length).toBe(before);
  });

  it("with no allow-list every fetch is refused; /v1/responses refuses the tool with 400 naming it", async () => {
    const { fetchRun } = await tenantAllowing([]);
    expect(await fetchRun(`${site.origin}/page`)).toBe("Error: The host 'localhost' is not on this tenant's http_fetch allow-list.");

    const { apiKey } = await clientFor(stack);
    const res = await fetch(`${stack.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "claude/x", input: "hi", tools: [{ type: "http_fetch" }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.objectContaining({ param: expect.stringMatching(/^tools\[0\]/), code: "invalid_request" }) });
  });
});
