import { AIMessageChunk, type AIMessage } from "@langchain/core/messages";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import CHAT_REASONING from "../fixtures/openai/chat-reasoning.json";
import CHAT_TOOLS from "../fixtures/openai/chat-tools.json";
import { startCoreStack } from "../fake-upstream/stack";
import type { FakeUpstream } from "../fake-upstream/server";
import { clientFor, langchainChat, langchainEmbeddings, openaiClient } from "../support/clients";
import { expectError } from "../support/errors";
import { gatewayFetch } from "../support/fetch";
import { uniqueModel } from "../support/names";
import type { Stack } from "../support/stack";
import { usageRow } from "../support/stores";
import { adminFetch } from "../support/tenants";
import { eventually } from "../support/wait";
import { afterPriceChange } from "../support/propagation";

let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, upstream, close } = await startCoreStack());
});
afterAll(() => close?.());

/** What LangChain must report from the fixture's usage (OpenAI's `usage`, mapped by @langchain/openai). */
function expectedUsageMetadata(u: typeof CHAT_REASONING.usage) {
  return {
    input_tokens: u.prompt_tokens,
    output_tokens: u.completion_tokens,
    total_tokens: u.total_tokens,
    input_token_details: { audio: u.prompt_tokens_details.audio_tokens, cache_read: u.prompt_tokens_details.cached_tokens },
    output_token_details: { audio: u.completion_tokens_details.audio_tokens, reasoning: u.completion_tokens_details.reasoning_tokens },
  };
}

/** $1.10 / $4.40 per 1M tokens, cached input $0.275 (µ$ per 1M). */
const RATES = { input: 1_100_000, cached: 275_000, output: 4_400_000 };
/** Billing's rule by hand: ceil((uncached × input + cached × cached rate + completion × output) / 1e6). */
function micros(u: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details: { cached_tokens: number } }): number {
  const cached = u.prompt_tokens_details.cached_tokens;
  return Math.ceil(((u.prompt_tokens - cached) * RATES.input + cached * RATES.cached + u.completion_tokens * RATES.output) / 1_000_000);
}
const usd = (m: number) => `${Math.floor(m / 1_000_000)}.${String(m % 1_000_000).padStart(6, "0")}`;

/** A model only this test uses, priced (on every gateway isolate), answering with `fixture`. */
async function model(label: string, fixture: "chat-reasoning" | "chat-tools"): Promise<string> {
  const name = uniqueModel(label);
  upstream.on(name, { fixture });
  const res = await adminFetch(stack, `/admin/prices/${name}`, {
    method: "PUT",
    body: { input_per_mtok: 1.1, output_per_mtok: 4.4, cached_input_per_mtok: 0.275 },
  });
  expect(res.status, await res.text()).toBe(201);
  await afterPriceChange(stack);
  return name;
}

/** The correlation headers must never reach the provider. */
function expectNoLabelsUpstream(name: string): void {
  const received = upstream.requests(name);
  expect(received.length).toBeGreaterThan(0);
  for (const r of received) {
    for (const h of Object.keys(r.headers)) expect(h).not.toMatch(/^(x-lc-|langsmith-|baggage$)/);
  }
}

const uuid = () => crypto.randomUUID();
const QUESTION = [{ role: "user" as const, content: "What is the capital of France?" }];

async function json<T>(res: Response, status = 200): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

interface Sums {
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  cost_usd: string;
  cost_usd_micros: number;
}
interface RunBody {
  object: string;
  run_id: string;
  data: (Record<string, unknown> & { request_id: string; operation: string })[];
  children: string[];
  totals: Sums;
}
interface UsageBody {
  object: string;
  data: (Sums & { model?: string; day?: string; tag?: string | null })[];
  has_more: boolean;
  totals: Sums;
}

/** GET /v1/langchain/runs/{id} once billing has stored `requests` requests of the run. */
function runOnceStored(apiKey: string, runId: string, requests: number): Promise<RunBody> {
  return eventually(
    async () => {
      const res = await gatewayFetch(stack, `/v1/langchain/runs/${runId}`, { key: apiKey });
      if (res.status === 404) return null;
      const body = await json<RunBody>(res);
      return body.data.length >= requests ? body : null;
    },
    20_000,
    `run ${runId}`,
  );
}

const usage = async (apiKey: string, query: string) => json<UsageBody>(await gatewayFetch(stack, `/v1/langchain/usage?${query}`, { key: apiKey }));

describe("ChatOpenAI against /v1/langchain", () => {
  let a: Awaited<ReturnType<typeof clientFor>>;
  const RUN = uuid();
  const CHILD = uuid();
  const SESSION = `session-${uuid()}`;
  const TAG = `tag-${uuid().slice(0, 8)}`;
  let reasoning: string;
  let tools: string;
  const REASONING = CHAT_REASONING.usage;
  const TOOLS = CHAT_TOOLS.usage;
  const labels = { "x-lc-run-id": RUN, "x-lc-session-id": SESSION, "x-lc-tags": `${TAG},invoke`, "x-lc-metadata": '{"user":"u-1","attempt":1}' };

  beforeAll(async () => {
    a = await clientFor(stack, { scopes: ["chat", "embeddings", "usage:read"] });
    reasoning = await model("lc-reasoning", "chat-reasoning");
    tools = await model("lc-tools", "chat-tools");
  });

  it("invoke: usage_metadata carries the fixture's usage, cache_read and reasoning included; the labels stay here", async () => {
    const chat = langchainChat(stack, a.apiKey, { model: `fake/${reasoning}` });
    const answer = await chat.invoke(QUESTION, { options: { headers: labels } });
    expect(answer.content).toBe(CHAT_REASONING.completion.choices[0]!.message.content);
    expect(answer.usage_metadata).toEqual(expectedUsageMetadata(REASONING));
    expectNoLabelsUpstream(reasoning);
  });

  it("stream: the answer ends with the usage chunk even when the client did not ask for it, so usage_metadata is set", async () => {
    // streamUsage: false — LangChain sends no stream_options; the endpoint returns the usage anyway.
    for (const streamUsage of [false, true]) {
      const chat = langchainChat(stack, a.apiKey, { model: `fake/${reasoning}`, streamUsage }, labels);
      let whole: AIMessageChunk | undefined;
      let chunks = 0;
      for await (const chunk of await chat.stream(QUESTION)) {
        whole = whole ? whole.concat(chunk) : chunk;
        chunks++;
      }
      expect(chunks).toBeGreaterThan(2);
      expect(whole?.content).toBe(CHAT_REASONING.completion.choices[0]!.message.content);
      expect(whole?.usage_metadata).toEqual(expectedUsageMetadata(REASONING));
    }
    const sent = upstream.requests(reasoning).filter((r) => r.body["stream"] === true);
    expect(sent.map((r) => r.body["stream_options"])).toEqual([{ include_usage: true }, { include_usage: true }]);
    expectNoLabelsUpstream(reasoning);
  });

  it("a tool call through bindTools, in a child run: tool_calls and usage_metadata, and the child is listed under its parent", async () => {
    const chat = langchainChat(stack, a.apiKey, { model: `fake/${tools}` }).bindTools([
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Current weather of a city",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      },
      {
        type: "function",
        function: { name: "get_time", description: "Local time of a city", parameters: { type: "object", properties: { city: { type: "string" } } } },
      },
    ]);
    const answer: AIMessage = await chat.invoke([{ role: "user", content: "Weather and time in Paris?" }], {
      options: { headers: { "x-lc-run-id": CHILD, "x-lc-parent-run-id": RUN, "x-lc-session-id": SESSION, "x-lc-tags": TAG } },
    });
    expect(answer.tool_calls?.map((t) => t.name)).toEqual(CHAT_TOOLS.completion.choices[0]!.message.tool_calls!.map((t) => t.function.name));
    expect(answer.usage_metadata).toEqual(expectedUsageMetadata(TOOLS));
    expect(upstream.requests(tools)[0]!.body["tools"]).toHaveLength(2);
    expectNoLabelsUpstream(tools);

    const parent = await runOnceStored(a.apiKey, RUN, 3);
    expect(parent.children).toEqual([CHILD]);
    const child = await runOnceStored(a.apiKey, CHILD, 1);
    expect(child).toMatchObject({
      object: "langchain.run",
      run_id: CHILD,
      children: [],
      data: [{ model: tools, parent_run_id: RUN, session_id: SESSION, tags: [TAG], input_tokens: TOOLS.prompt_tokens, output_tokens: TOOLS.completion_tokens }],
      totals: { requests: 1, cost_usd_micros: micros(TOOLS), cost_usd: usd(micros(TOOLS)) },
    });
  });

  it("the run lists each request made under it, with its tokens, cost, model and latency, and exact totals", async () => {
    const run = await runOnceStored(a.apiKey, RUN, 3);
    const each = micros(REASONING);
    expect(run.data).toHaveLength(3);
    for (const entry of run.data) {
      expect(entry).toMatchObject({
        operation: "chat",
        provider: "fake",
        model: reasoning,
        requested_model: `fake/${reasoning}`,
        input_tokens: REASONING.prompt_tokens,
        output_tokens: REASONING.completion_tokens,
        cached_tokens: REASONING.prompt_tokens_details.cached_tokens,
        reasoning_tokens: REASONING.completion_tokens_details.reasoning_tokens,
        total_tokens: REASONING.total_tokens,
        cost_usd: usd(each),
        cost_usd_micros: each,
        status: 200,
        session_id: SESSION,
        tags: [TAG, "invoke"].sort(),
        metadata: { user: "u-1", attempt: 1 },
      });
      expect(entry["latency_ms"]).toEqual(expect.any(Number));
    }
    expect(run.data.map((d) => d["stream"])).toEqual([false, true, true]);
    // Each is the same record billing keeps for the request.
    const row = await usageRow(stack, run.data[0]!.request_id);
    expect(row).toMatchObject({ cost_usd_micros: each, prompt_tokens: REASONING.prompt_tokens, operation: "chat" });
    expect(run.totals).toEqual({
      requests: 3,
      input_tokens: 3 * REASONING.prompt_tokens,
      output_tokens: 3 * REASONING.completion_tokens,
      cached_tokens: 3 * REASONING.prompt_tokens_details.cached_tokens,
      cache_write_tokens: 0,
      reasoning_tokens: 3 * REASONING.completion_tokens_details.reasoning_tokens,
      cost_usd: usd(3 * each),
      cost_usd_micros: 3 * each,
    });
  });

  it("usage by run id, by session and by tag, grouped by model, day and tag", async () => {
    await runOnceStored(a.apiKey, CHILD, 1);
    const each = micros(REASONING);
    const all = { requests: 4, cost_usd_micros: 3 * each + micros(TOOLS), cost_usd: usd(3 * each + micros(TOOLS)) };

    const byRun = await usage(a.apiKey, `run_id=${RUN}`);
    expect(byRun).toMatchObject({ object: "langchain.usage", has_more: false, totals: { requests: 3, cost_usd_micros: 3 * each } });
    expect(byRun.data).toEqual([byRun.totals]);

    const bySession = await usage(a.apiKey, `session_id=${SESSION}&group_by=model`);
    expect(bySession.totals).toMatchObject({
      ...all,
      input_tokens: 3 * REASONING.prompt_tokens + TOOLS.prompt_tokens,
      output_tokens: 3 * REASONING.completion_tokens + TOOLS.completion_tokens,
      cached_tokens: 3 * REASONING.prompt_tokens_details.cached_tokens,
      reasoning_tokens: 3 * REASONING.completion_tokens_details.reasoning_tokens,
    });
    expect(bySession.data.map((d) => [d.model, d.requests, d.cost_usd_micros]).sort()).toEqual(
      [
        [reasoning, 3, 3 * each],
        [tools, 1, micros(TOOLS)],
      ].sort(),
    );

    const byTag = await usage(a.apiKey, `tag=${TAG}&group_by=tag`);
    expect(byTag.totals).toMatchObject(all);
    expect(byTag.data.map((d) => [d.tag, d.requests])).toEqual([
      ["invoke", 3],
      [TAG, 4],
    ]);

    const byDay = await usage(a.apiKey, `tag=${TAG}&group_by=day&start_time=${Math.floor(Date.now() / 1000) - 3600}`);
    const entries = [...(await runOnceStored(a.apiKey, RUN, 3)).data, ...(await runOnceStored(a.apiKey, CHILD, 1)).data];
    const days = new Map<string, number>();
    for (const e of entries) {
      const day = new Date((e["created_at"] as number) * 1000).toISOString().slice(0, 10);
      days.set(day, (days.get(day) ?? 0) + 1);
    }
    expect(byDay.data.map((d) => [d.day, d.requests])).toEqual([...days].sort());
    expect(byDay.totals).toMatchObject(all);
  });

  it("LangSmith's langsmith-trace and baggage label the request: run and parent from the dotted order, tags, project, metadata", async () => {
    const root = uuid();
    const run = uuid();
    const seg = (id: string) => `20261206T061500123001Z${id}`;
    const chat = langchainChat(stack, a.apiKey, { model: `fake/${reasoning}` });
    const answer = await chat.invoke(QUESTION, {
      options: {
        headers: {
          "langsmith-trace": `${seg(root)}.${seg(run)}`,
          baggage: `langsmith-metadata=${encodeURIComponent('{"team":"search"}')},langsmith-tags=${encodeURIComponent("ls-a,ls-b")},langsmith-project=${encodeURIComponent("my project")}`,
        },
      },
    });
    expect(answer.usage_metadata).toEqual(expectedUsageMetadata(REASONING));
    expectNoLabelsUpstream(reasoning);
    const stored = await runOnceStored(a.apiKey, run, 1);
    expect(stored.data[0]).toMatchObject({ parent_run_id: root, project: "my project", tags: ["ls-a", "ls-b"], metadata: { team: "search" } });
    expect((await runOnceStored(a.apiKey, root, 0)).children).toEqual([run]);
  });

  it("embeddings and models through the same endpoint; embeddings usage is labelled too", async () => {
    const client = openaiClient(stack, a.apiKey, { baseURL: `${stack.url}/v1/langchain` });
    const list = await client.models.list();
    expect(list.data.length).toBeGreaterThan(0);
    expect(list.data).toEqual((await openaiClient(stack, a.apiKey).models.list()).data);
    const embedRun = uuid();
    const embedModel = uniqueModel("lc-embed");
    const vector = await langchainEmbeddings(stack, a.apiKey, `fake/${embedModel}`, { "x-lc-run-id": embedRun }).embedQuery("hello world");
    expect(vector.length).toBeGreaterThan(0);
    const run = await runOnceStored(a.apiKey, embedRun, 1);
    // The fake's rule: ~1 token per 4 characters ("hello world": 3).
    expect(run.data[0]).toMatchObject({ operation: "embeddings", model: embedModel, input_tokens: 3, output_tokens: 0 });
    expectNoLabelsUpstream(embedModel);
  });

  it("a bad correlation header never refuses the request: it is dropped, the rest kept", async () => {
    const chat = langchainChat(stack, a.apiKey, { model: `fake/${reasoning}` });
    const run = uuid();
    const answer = await chat.invoke(QUESTION, {
      options: {
        headers: {
          "x-lc-run-id": run,
          "x-lc-parent-run-id": "not a run id!",
          "x-lc-metadata": JSON.stringify({ big: "x".repeat(5000) }),
          "x-lc-tags": `ok-tag,${"t".repeat(65)}`,
          "langsmith-trace": "garbage",
        },
      },
    });
    expect(answer.usage_metadata).toEqual(expectedUsageMetadata(REASONING));
    const stored = await runOnceStored(a.apiKey, run, 1);
    expect(stored.data[0]).toMatchObject({ parent_run_id: null, metadata: null, tags: ["ok-tag"] });
  });

  it("tenant B sees none of tenant A's runs or usage; a key without usage:read gets 403; bad params are 400 naming the param", async () => {
    await runOnceStored(a.apiKey, RUN, 3);
    const b = await clientFor(stack, { scopes: ["chat", "usage:read"] });
    const notFound = await expectError(await gatewayFetch(stack, `/v1/langchain/runs/${RUN}`, { key: b.apiKey }), 404, "not_found");
    expect(notFound.param).toBe("run_id");
    const empty = await usage(b.apiKey, `session_id=${SESSION}&group_by=model`);
    expect(empty).toEqual({
      object: "langchain.usage",
      data: [],
      has_more: false,
      totals: {
        requests: 0,
        input_tokens: 0,
        output_tokens: 0,
        cached_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        cost_usd: "0.000000",
        cost_usd_micros: 0,
      },
    });

    const noScope = await clientFor(stack, { scopes: ["chat"] });
    await expectError(await gatewayFetch(stack, `/v1/langchain/runs/${RUN}`, { key: noScope.apiKey }), 403, "permission_denied");
    await expectError(await gatewayFetch(stack, `/v1/langchain/usage?run_id=${RUN}`, { key: noScope.apiKey }), 403, "permission_denied");
    await expectError(await gatewayFetch(stack, `/v1/langchain/usage?run_id=${RUN}`), 401, "missing_api_key");

    const bad = async (query: string, param: string) => {
      const error = await expectError(await gatewayFetch(stack, `/v1/langchain/usage?${query}`, { key: a.apiKey }), 400, "invalid_request");
      expect(error.param).toBe(param);
    };
    await bad("group_by=week", "group_by");
    await bad("start_time=1800000000&end_time=1700000000", "end_time");
    await bad(`session_id=${"s".repeat(129)}`, "session_id");
    await bad("run_ids=x", "run_ids");
    const badRun = await expectError(await gatewayFetch(stack, "/v1/langchain/runs/bad!id", { key: a.apiKey }), 400, "invalid_request");
    expect(badRun.param).toBe("run_id");
  });
});

describe("the LangChain endpoint in the OpenAPI document", () => {
  it("documents the OpenAI routes under /v1/langchain with the correlation headers, and the usage and runs queries", async () => {
    const doc = await json<{ paths: Record<string, Record<string, { tags?: string[]; parameters?: { name: string; in: string }[] }>> }>(
      await gatewayFetch(stack, "/openapi.json"),
    );
    const ops = (path: string) => Object.keys(doc.paths[path] ?? {}).sort();
    for (const path of ["/v1/langchain/chat/completions", "/v1/langchain/completions", "/v1/langchain/embeddings"]) expect(ops(path)).toEqual(["post"]);
    for (const path of ["/v1/langchain/models", "/v1/langchain/models/{model}", "/v1/langchain/usage", "/v1/langchain/runs/{run_id}"])
      expect(ops(path)).toEqual(["get"]);
    const chat = doc.paths["/v1/langchain/chat/completions"]!["post"]!;
    expect(chat.tags).toEqual(["langchain"]);
    expect(chat.parameters?.filter((p) => p.in === "header").map((p) => p.name)).toEqual([
      "x-lc-run-id",
      "x-lc-parent-run-id",
      "x-lc-session-id",
      "x-lc-tags",
      "x-lc-metadata",
      "langsmith-trace",
      "baggage",
    ]);
    expect(doc.paths["/v1/langchain/usage"]!["get"]!.parameters?.map((p) => p.name)).toEqual([
      "run_id",
      "session_id",
      "tag",
      "group_by",
      "start_time",
      "end_time",
    ]);
    expect(doc.paths["/v1/langchain/runs/{run_id}"]!["get"]!.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(["path:run_id"]);
    // The OpenAI routes themselves are unchanged.
    expect(doc.paths["/v1/chat/completions"]!["post"]!.tags).toEqual(["openai"]);
    expect(doc.paths["/v1/chat/completions"]!["post"]!.parameters ?? []).toEqual([]);
  });
});
