import { afterAll, beforeAll, describe, expect, it } from "vitest";
import CHAT_TEXT from "../fixtures/openai/chat-text.json";
import { startCoreStack } from "../fake-upstream/stack";
import { eventually } from "../support/wait";
import { uniqueModel } from "../support/names";
import type { Stack } from "../support/stack";
import { afterPriceChange } from "../support/propagation";
import { adminFetch } from "../support/tenants";
import { gatewayFetch } from "../support/fetch";
import { clientFor } from "../support/clients";

let stack: Stack;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, close } = await startCoreStack());
});
afterAll(() => close?.());

/** What the fake upstream reports for every chat answer (test/fixtures/openai/chat-text.json). */
const CHAT = {
  prompt: CHAT_TEXT.usage.prompt_tokens,
  completion: CHAT_TEXT.usage.completion_tokens,
  cached: CHAT_TEXT.usage.prompt_tokens_details.cached_tokens,
};
/** A price chosen so that rounding shows: $0.15 / $0.60 per 1M tokens (µ$ per 1M: 150000 / 600000). */
const RATES = { input: 150_000, output: 600_000 };
/** Billing's rule, by hand: µ$ = ceil((prompt × input + completion × output) / 1e6), per request. */
const chatMicros = Math.ceil((CHAT.prompt * RATES.input + CHAT.completion * RATES.output) / 1_000_000);
const usd = (micros: number) => `0.${String(micros).padStart(6, "0")}`;

async function pricedModel(label: string): Promise<string> {
  const model = uniqueModel(label);
  const res = await adminFetch(stack, `/admin/prices/${model}`, { method: "PUT", body: { input_per_mtok: 0.15, output_per_mtok: 0.6 } });
  expect(res.status).toBe(201);
  await afterPriceChange(stack);
  return model;
}

function usageFetch(apiKey: string, path: string): Promise<Response> {
  return gatewayFetch(stack, path, { key: apiKey });
}

/** GET /v1/usage/requests/{id} once billing has stored the request. */
async function requestRecord(apiKey: string, requestId: string): Promise<Record<string, unknown>> {
  return eventually(
    async () => {
      const res = await usageFetch(apiKey, `/v1/usage/requests/${requestId}`);
      if (res.status === 404) return null;
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    },
    20_000,
    `usage record ${requestId}`,
  );
}

describe("cost of every answer and the request's record", () => {
  it("a non-streamed answer carries x-gateway-cost-usd and x-gateway-request-id; GET /v1/usage/requests/{id} returns the metered record", async () => {
    const { client, apiKey, key } = await clientFor(stack, { scopes: ["chat", "usage:read"] });
    const model = await pricedModel("cost-header");
    const { response } = await client.chat.completions
      .create(
        { model: `fake/${model}`, messages: [{ role: "user", content: "What is the capital of France?" }] },
        { headers: { "x-client-request-id": "my-own-7" } },
      )
      .withResponse();
    const requestId = response.headers.get("x-request-id")!;
    expect(requestId).toMatch(/^req_/);
    expect(response.headers.get("x-gateway-request-id")).toBe(requestId);
    expect(chatMicros).toBe(8); // 7.8 µ$ rounded up once
    expect(response.headers.get("x-gateway-cost-usd")).toBe(usd(chatMicros));

    const record = await requestRecord(apiKey, requestId);
    expect(record).toMatchObject({
      object: "usage.request",
      request_id: requestId,
      client_request_id: "my-own-7",
      api_key_id: key.id,
      operation: "chat",
      requested_model: `fake/${model}`,
      provider: "fake",
      model,
      prompt_tokens: CHAT.prompt,
      completion_tokens: CHAT.completion,
      cached_tokens: CHAT.cached,
      total_tokens: CHAT.prompt + CHAT.completion,
      cost_usd: usd(chatMicros),
      cost_usd_micros: chatMicros,
      priced: true,
      status: 200,
      stream: false,
    });
    expect(record["latency_ms"]).toEqual(expect.any(Number));
  });

  it("another tenant's request id is 404, a key without usage:read gets 403, an unknown id 404", async () => {
    const a = await clientFor(stack, { scopes: ["chat", "usage:read"] });
    const b = await clientFor(stack, { scopes: ["chat", "usage:read"] });
    const model = await pricedModel("cost-tenants");
    const { response } = await a.client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: "hi" }] }).withResponse();
    const requestId = response.headers.get("x-request-id")!;
    await requestRecord(a.apiKey, requestId); // billing has it now

    const other = await usageFetch(b.apiKey, `/v1/usage/requests/${requestId}`);
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: { type: "invalid_request_error", code: "not_found" } });

    const noScope = await clientFor(stack, { scopes: ["chat"] });
    const denied = await usageFetch(noScope.apiKey, `/v1/usage/requests/${requestId}`);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ error: { code: "permission_denied" } });

    expect((await usageFetch(a.apiKey, "/v1/usage/requests/req_doesnotexist")).status).toBe(404);
    expect((await gatewayFetch(stack, `/v1/usage/requests/${requestId}`)).status).toBe(401);
  });
});

interface UsageResultBody {
  object: string;
  input_tokens: number;
  output_tokens?: number;
  input_cached_tokens?: number;
  num_model_requests: number;
  model: string | null;
  api_key_id: string | null;
  project_id: string | null;
}
interface CostResultBody {
  object: string;
  amount: { value: number; currency: string };
  cost_usd_micros: number;
  line_item: string | null;
}
interface PageBody<R> {
  object: "page";
  data: { object: "bucket"; start_time: number; end_time: number; results: R[] }[];
  has_more: boolean;
  next_page: string | null;
}

async function page<R>(apiKey: string, path: string): Promise<PageBody<R>> {
  const res = await usageFetch(apiKey, path);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as PageBody<R>;
}

/** Every page of a bucket query, following next_page. */
async function allResults<R>(apiKey: string, path: string): Promise<R[]> {
  const out: R[] = [];
  let next: string | null = null;
  do {
    const p: PageBody<R> = await page<R>(apiKey, next === null ? path : `${path}&page=${next}`);
    expect(p.object).toBe("page");
    for (const b of p.data) {
      expect(b.object).toBe("bucket");
      expect(b.end_time).toBeGreaterThan(b.start_time);
      out.push(...b.results);
    }
    next = p.has_more ? p.next_page : null;
  } while (next !== null);
  return out;
}

const sumOf = <R>(rows: R[], f: (r: R) => number) => rows.reduce((n, r) => n + f(r), 0);

/** Embedding token rule of the fake upstream (test/fixtures/openai/embeddings.json: ~1 token per 4 characters, at least 1). */
const embedTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));
const EMBED_RATE = 20_000; // $0.02 per 1M input tokens
const EMBED_INPUTS = ["hello world", "abcd", "the quick brown fox jumps over the lazy dog"];

describe("usage and costs in OpenAI's organization API shape", () => {
  let a: Awaited<ReturnType<typeof clientFor>>;
  let chatModel: string;
  let embedModel: string;
  let since: number;
  const NON_STREAMED = 3;
  const STREAMED = 2;
  const records: Record<string, unknown>[] = [];

  beforeAll(async () => {
    since = Math.floor(Date.now() / 1000) - 1;
    a = await clientFor(stack, { scopes: ["chat", "embeddings", "usage:read"] });
    chatModel = await pricedModel("usage-chat");
    embedModel = uniqueModel("usage-embed");
    expect((await adminFetch(stack, `/admin/prices/${embedModel}`, { method: "PUT", body: { input_per_mtok: 0.02, output_per_mtok: 0 } })).status).toBe(201);
    await afterPriceChange(stack);

    const ids: string[] = [];
    const messages = [{ role: "user" as const, content: "What is the capital of France?" }];
    for (let i = 0; i < NON_STREAMED; i++) {
      const { response } = await a.client.chat.completions.create({ model: `fake/${chatModel}`, messages }).withResponse();
      ids.push(response.headers.get("x-request-id")!);
    }
    for (let i = 0; i < STREAMED; i++) {
      const { data, response } = await a.client.chat.completions.create({ model: `fake/${chatModel}`, messages, stream: true }).withResponse();
      for await (const _ of data) void _;
      ids.push(response.headers.get("x-request-id")!);
    }
    for (const input of EMBED_INPUTS) {
      const { response } = await a.client.embeddings.create({ model: `fake/${embedModel}`, input }).withResponse();
      ids.push(response.headers.get("x-request-id")!);
    }
    for (const id of ids) records.push(await requestRecord(a.apiKey, id));
  });

  it("streamed and non-streamed calls of the same prompt are billed the same", () => {
    const billed = (r: Record<string, unknown>) => [r["prompt_tokens"], r["completion_tokens"], r["cached_tokens"], r["cost_usd_micros"]];
    const chats = records.slice(0, NON_STREAMED + STREAMED);
    expect(chats.map((r) => r["stream"])).toEqual([false, false, false, true, true]);
    for (const r of chats) expect(billed(r)).toEqual([CHAT.prompt, CHAT.completion, CHAT.cached, chatMicros]);
  });

  it("completions usage: exactly the requests made and their tokens, grouped by model and by key", async () => {
    const n = NON_STREAMED + STREAMED;
    const byModel = await allResults<UsageResultBody>(a.apiKey, `/v1/organization/usage/completions?start_time=${since}&group_by=model`);
    expect(byModel.every((r) => r.object === "organization.usage.completions.result" && r.model === chatModel && r.project_id === null)).toBe(true);
    expect(sumOf(byModel, (r) => r.num_model_requests)).toBe(n);
    expect(sumOf(byModel, (r) => r.input_tokens)).toBe(n * CHAT.prompt);
    expect(sumOf(byModel, (r) => r.output_tokens!)).toBe(n * CHAT.completion);
    expect(sumOf(byModel, (r) => r.input_cached_tokens!)).toBe(n * CHAT.cached);

    // Minute buckets, two per page, grouped by key: the same totals across the pages.
    const byKey = await allResults<UsageResultBody>(
      a.apiKey,
      `/v1/organization/usage/completions?start_time=${since - 600}&bucket_width=1m&limit=2&group_by=api_key_id,project_id`,
    );
    expect(byKey.every((r) => r.api_key_id === a.key.id && r.model === null)).toBe(true);
    expect(sumOf(byKey, (r) => r.num_model_requests)).toBe(n);
    expect(sumOf(byKey, (r) => r.input_tokens)).toBe(n * CHAT.prompt);
  });

  it("embeddings usage counts the embeddings calls only", async () => {
    const rows = await allResults<UsageResultBody>(a.apiKey, `/v1/organization/usage/embeddings?start_time=${since}&bucket_width=1h`);
    expect(rows.every((r) => r.object === "organization.usage.embeddings.result")).toBe(true);
    expect(sumOf(rows, (r) => r.num_model_requests)).toBe(EMBED_INPUTS.length);
    expect(sumOf(rows, (r) => r.input_tokens)).toBe(sumOf(EMBED_INPUTS, embedTokens));
  });

  it("costs: the exact micro-dollar sum of the requests, by line item and in total", async () => {
    const embedMicros = sumOf(EMBED_INPUTS, (t) => Math.ceil((embedTokens(t) * EMBED_RATE) / 1_000_000));
    const chatTotal = (NON_STREAMED + STREAMED) * chatMicros;
    const byItem = await allResults<CostResultBody>(a.apiKey, `/v1/organization/costs?start_time=${since}&group_by=line_item`);
    const item = (m: string) => byItem.filter((r) => r.line_item === m);
    expect(sumOf(item(chatModel), (r) => r.cost_usd_micros)).toBe(chatTotal);
    expect(sumOf(item(embedModel), (r) => r.cost_usd_micros)).toBe(embedMicros);
    for (const r of byItem) expect(r).toMatchObject({ object: "organization.costs.result", amount: { value: r.cost_usd_micros / 1_000_000, currency: "usd" } });

    const total = await allResults<CostResultBody>(a.apiKey, `/v1/organization/costs?start_time=${since}`);
    expect(total.every((r) => r.line_item === null)).toBe(true);
    expect(sumOf(total, (r) => r.cost_usd_micros)).toBe(chatTotal + embedMicros);
    expect(sumOf(records, (r) => r["cost_usd_micros"] as number)).toBe(chatTotal + embedMicros);
  });

  it("another tenant sees none of it; a key without usage:read gets 403", async () => {
    const b = await clientFor(stack, { scopes: ["chat", "usage:read"] });
    for (const path of ["/v1/organization/usage/completions", "/v1/organization/usage/embeddings", "/v1/organization/costs"]) {
      const p = await page<unknown>(b.apiKey, `${path}?start_time=${since}`);
      expect(p.data.length).toBeGreaterThan(0);
      expect(p.data.flatMap((bucket) => bucket.results)).toEqual([]);
    }
    const noScope = await clientFor(stack, { scopes: ["chat"] });
    for (const path of ["/v1/organization/usage/completions", "/v1/organization/costs"]) {
      const res = await usageFetch(noScope.apiKey, `${path}?start_time=${since}`);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: "permission_denied" } });
    }
  });

  it("the admin sees every tenant at /admin/usage/* and /admin/costs, grouped by tenant_id; a tenant key cannot", async () => {
    const b = await clientFor(stack, { scopes: ["chat", "usage:read"] });
    const { response } = await b.client.chat.completions
      .create({ model: `fake/${chatModel}`, messages: [{ role: "user", content: "What is the capital of France?" }] })
      .withResponse();
    await requestRecord(b.apiKey, response.headers.get("x-request-id")!);

    const admin = async <R>(path: string): Promise<R[]> => {
      const res = await adminFetch(stack, path);
      expect(res.status, path).toBe(200);
      return ((await res.json()) as PageBody<R>).data.flatMap((bucket) => bucket.results);
    };
    type Admin<R> = R & { tenant_id: string | null };
    const usage = await admin<Admin<UsageResultBody>>(`/admin/usage/completions?start_time=${since}&group_by=tenant_id,model&limit=31`);
    const of = <R extends { tenant_id: string | null }>(rows: R[], tenant: string) => rows.filter((r) => r.tenant_id === tenant);
    expect(sumOf(of(usage, a.tenant.id), (r) => r.num_model_requests)).toBe(NON_STREAMED + STREAMED);
    expect(of(usage, a.tenant.id).every((r) => r.model === chatModel)).toBe(true);
    expect(sumOf(of(usage, b.tenant.id), (r) => r.num_model_requests)).toBe(1);
    expect(sumOf(of(usage, b.tenant.id), (r) => r.output_tokens!)).toBe(CHAT.completion);

    const embedMicros = sumOf(EMBED_INPUTS, (t) => Math.ceil((embedTokens(t) * EMBED_RATE) / 1_000_000));
    const costs = await admin<Admin<CostResultBody>>(`/admin/costs?start_time=${since}&group_by=tenant_id`);
    expect(sumOf(of(costs, a.tenant.id), (r) => r.cost_usd_micros)).toBe((NON_STREAMED + STREAMED) * chatMicros + embedMicros);
    expect(sumOf(of(costs, b.tenant.id), (r) => r.cost_usd_micros)).toBe(chatMicros);
    const embeds = await admin<Admin<UsageResultBody>>(`/admin/usage/embeddings?start_time=${since}&group_by=tenant_id`);
    expect(sumOf(of(embeds, a.tenant.id), (r) => r.num_model_requests)).toBe(EMBED_INPUTS.length);

    expect((await usageFetch(a.apiKey, `/admin/costs?start_time=${since}`)).status).toBe(401);
    expect((await adminFetch(stack, `/admin/usage/completions?start_time=${since}&group_by=team`)).status).toBe(400);
  });

  it("bad input is a 400 naming the param", async () => {
    // A bad group_by value is named by its position, as the gateway names array items everywhere.
    const cases: [string, string][] = [
      [`/v1/organization/usage/completions?start_time=${since}&group_by=model&group_by=user`, "group_by[1]"],
      [`/v1/organization/usage/completions?start_time=${since}&group_by=tenant_id`, "group_by"],
      [`/v1/organization/usage/completions?start_time=${since}&end_time=${since - 60}`, "end_time"],
      [`/v1/organization/usage/completions?start_time=${since}&bucket_width=2h`, "bucket_width"],
      [`/v1/organization/usage/completions?start_time=${since}&limit=0`, "limit"],
      [`/v1/organization/usage/completions?start_time=${since}&limit=32`, "limit"],
      [`/v1/organization/usage/embeddings?bucket_width=1h`, "start_time"],
      [`/v1/organization/usage/embeddings?start_time=${since * 1000}`, "start_time"],
      [`/v1/organization/usage/embeddings?start_time=${since}&page=12x`, "page"],
      [`/v1/organization/usage/embeddings?start_time=${since}&page=7`, "page"],
      [`/v1/organization/costs?start_time=${since}&bucket_width=1h`, "bucket_width"],
      [`/v1/organization/costs?start_time=${since}&limit=181`, "limit"],
      [`/v1/organization/costs?start_time=${since}&group_by=model`, "group_by[0]"],
    ];
    for (const [path, param] of cases) {
      const res = await usageFetch(a.apiKey, path);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: { type: string; param: string } }).error, path).toMatchObject({ type: "invalid_request_error", param });
    }
  });
});

describe("OpenAPI", () => {
  it("documents every usage route in /openapi.json", async () => {
    const doc = (await (await gatewayFetch(stack, "/openapi.json")).json()) as { paths: Record<string, { get?: unknown }> };
    for (const path of [
      "/v1/usage/requests/{request_id}",
      "/v1/organization/usage/completions",
      "/v1/organization/usage/embeddings",
      "/v1/organization/costs",
      "/admin/usage/completions",
      "/admin/usage/embeddings",
      "/admin/costs",
    ]) {
      expect(doc.paths[path]?.get, path).toBeDefined();
    }
  });
});
