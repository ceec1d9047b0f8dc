import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/server";
import { eventually } from "../support/wait";
import { member } from "../support/console";
import { expectError } from "../support/errors";
import { uniqueModel } from "../support/names";
import { createProvider, createRoute, providerTenant, type Caller } from "../support/providers";
import { startStack, type Stack } from "../support/stack";

/** Circuits open after 2 failures and probe again after 1.5 s, so a test can watch them cycle. */
const CIRCUIT = { CIRCUIT_FAILURE_THRESHOLD: "2", CIRCUIT_COOLDOWN_MS: "1500" };

let stack: Stack;
let upstream: FakeUpstream;
let tenant: Awaited<ReturnType<typeof providerTenant>>;
/** Two providers on the same fake upstream; the upstream's knobs are per model name. */
const P1 = "primary";
const P2 = "secondary";
beforeAll(async () => {
  upstream = await startFakeUpstream();
  stack = await startStack({ vars: { "model-proxy": CIRCUIT } });
  tenant = await providerTenant(stack);
  for (const name of [P1, P2]) await createProvider(stack, tenant.caller, { name, type: "openai", base_url: upstream.url, api_key: upstream.apiKey });
});
afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

const ask = (model: string) => tenant.client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] }).withResponse();
const served = (res: Response) => ({
  provider: res.headers.get("x-gateway-provider"),
  model: res.headers.get("x-gateway-model"),
  attempts: res.headers.get("x-gateway-attempts"),
});

/** A fallback route over two fresh upstream models; returns the route name and the models. */
async function fallbackRoute(label: string, extra: Record<string, unknown> = {}) {
  const first = uniqueModel(`${label}-first`);
  const second = uniqueModel(`${label}-second`);
  const route = await createRoute(stack, tenant.caller, {
    name: uniqueModel(label),
    strategy: "fallback",
    retries: 0,
    targets: [
      { provider: P1, model: first },
      { provider: P2, model: second },
    ],
    ...extra,
  });
  return { route: route.name, first, second };
}

describe("fallback", () => {
  it.each([
    ["500", { error: { status: 500 } }],
    ["429", { error: { status: 429, headers: { "retry-after": "20" } } }],
    ["503", { error: { status: 503 } }],
  ])("serves from the next target when the first answers %s, and says so in the headers", async (_status, behaviour) => {
    const { route, first, second } = await fallbackRoute("fb");
    upstream.on(first, behaviour);
    const { data, response } = await ask(route);
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(served(response)).toEqual({ provider: P2, model: second, attempts: "2" });
    expect(upstream.requests(first)).toHaveLength(1);
    expect(upstream.requests(second)).toHaveLength(1);
  });

  it("falls back when the first target does not answer within the route's per-attempt timeout", async () => {
    const { route, first, second } = await fallbackRoute("timeout", { timeout_ms: 500 });
    upstream.on(first, { hang: true });
    const { response } = await ask(route);
    expect(served(response)).toEqual({ provider: P2, model: second, attempts: "2" });
  });

  it("retries the same target before moving on", async () => {
    const { route, first, second } = await fallbackRoute("retry", { retries: 1 });
    upstream.on(first, { error: { status: 500 } });
    const { response } = await ask(route);
    expect(served(response)).toEqual({ provider: P2, model: second, attempts: "3" });
    expect(upstream.requests(first)).toHaveLength(2);
  });

  it("does not fall back on the upstream's 400: the request itself is wrong", async () => {
    const { route, first, second } = await fallbackRoute("bad-request");
    upstream.on(first, {
      error: { status: 400, body: { error: { message: "Invalid 'temperature'.", type: "invalid_request_error", param: "temperature", code: null } } },
    });
    const err = (await ask(route).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(400);
    expect(err.param).toBe("temperature");
    expect(upstream.requests(second)).toHaveLength(0);
  });

  it("answers with the last failure and every attempt counted when all targets fail", async () => {
    const { route, first, second } = await fallbackRoute("all-fail");
    upstream.on(first, { error: { status: 500 } });
    upstream.on(second, { error: { status: 502 } });
    const err = (await ask(route).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(502);
    expect(err.message).toContain(P2);
    expect(err.headers?.get("x-gateway-attempts")).toBe("2");
  });
});

describe("streams", () => {
  it("fail over before the first byte reaches the client", async () => {
    const { route, first, second } = await fallbackRoute("stream-early");
    upstream.on(first, { breakAfter: 0 });
    const { data: stream, response } = await tenant.client.chat.completions
      .create({ model: route, messages: [{ role: "user", content: "hi" }], stream: true })
      .withResponse();
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text.length).toBeGreaterThan(0);
    expect(served(response)).toEqual({ provider: P2, model: second, attempts: "2" });
  });

  it("do not fail over once bytes reached the client: the stream ends with an error", async () => {
    const { route, first, second } = await fallbackRoute("stream-late");
    upstream.on(first, { breakAfter: 2 });
    const { data: stream, response } = await tenant.client.chat.completions
      .create({ model: route, messages: [{ role: "user", content: "hi" }], stream: true })
      .withResponse();
    expect(served(response)).toEqual({ provider: P1, model: first, attempts: "1" });
    const chunks: unknown[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) chunks.push(chunk);
    })().catch((e: unknown) => e);
    expect(chunks.length).toBeGreaterThan(0);
    expect(failure).toBeInstanceOf(Error);
    expect(upstream.requests(second)).toHaveLength(0);
  });
});

describe("weighted routing", () => {
  it("splits traffic by weight within tolerance over many requests", async () => {
    const heavy = uniqueModel("heavy");
    const light = uniqueModel("light");
    const route = await createRoute(stack, tenant.caller, {
      name: uniqueModel("weighted"),
      strategy: "weighted",
      targets: [
        { provider: P1, model: heavy, weight: 3 },
        { provider: P2, model: light, weight: 1 },
      ],
    });
    const counts: Record<string, number> = {};
    const total = 200;
    for (let i = 0; i < total; i++) {
      const { response } = await ask(route.name);
      const model = response.headers.get("x-gateway-model")!;
      counts[model] = (counts[model] ?? 0) + 1;
      expect(response.headers.get("x-gateway-attempts")).toBe("1");
    }
    expect((counts[heavy] ?? 0) + (counts[light] ?? 0)).toBe(total);
    // Expected 150 / 50; a binomial 3σ band is ±18. model-proxy's draws are seeded in the test stack
    // (ROUTING_SEED, test/support/stack.ts), so the split is the same on every run: never a flake.
    expect(counts[heavy]).toBeGreaterThan(150 - 18);
    expect(counts[heavy]).toBeLessThan(150 + 18);
    expect(upstream.requests(heavy)).toHaveLength(counts[heavy]!);
  });
});

describe("least-latency routing", () => {
  it("settles on the target that answers faster", async () => {
    const slow = uniqueModel("slow");
    const fast = uniqueModel("fast");
    upstream.on(slow, { delayMs: 300 });
    const route = await createRoute(stack, tenant.caller, {
      name: uniqueModel("fastest"),
      strategy: "least-latency",
      targets: [
        { provider: P1, model: slow },
        { provider: P2, model: fast },
      ],
    });
    // The first requests measure both targets; then the faster one takes (nearly) all the traffic.
    for (let i = 0; i < 4; i++) await ask(route.name);
    const later: string[] = [];
    for (let i = 0; i < 20; i++) later.push((await ask(route.name)).response.headers.get("x-gateway-model")!);
    expect(later.filter((m) => m === fast).length).toBeGreaterThanOrEqual(17);
  });
});

describe("circuit breaker", () => {
  it("skips a dead target once its circuit opens, and closes it again after the target recovers", async () => {
    const { route, first, second } = await fallbackRoute("circuit");
    upstream.on(first, { error: { status: 500 } });

    // Two failures (the threshold) open the circuit; each request is still served by the fallback.
    for (let i = 0; i < 2; i++) expect(served((await ask(route)).response)).toEqual({ provider: P2, model: second, attempts: "2" });
    expect(upstream.requests(first)).toHaveLength(2);

    // Open: the dead target is not even tried.
    for (let i = 0; i < 3; i++) expect(served((await ask(route)).response)).toEqual({ provider: P2, model: second, attempts: "1" });
    expect(upstream.requests(first)).toHaveLength(2);

    // The target recovers; after the cool-down one probe reaches it, succeeds and closes the circuit.
    upstream.on(first, {});
    const recovered = await eventually(
      async () => {
        const { response } = await ask(route);
        return response.headers.get("x-gateway-provider") === P1 ? response : null;
      },
      10_000,
      "the circuit to close",
    );
    expect(served(recovered)).toEqual({ provider: P1, model: first, attempts: "1" });
    for (let i = 0; i < 3; i++) expect(served((await ask(route)).response)).toEqual({ provider: P1, model: first, attempts: "1" });
  });

  it("keeps a tenant route's shorter timeout from opening the platform provider's circuit for other tenants", async () => {
    // A platform provider that is slow but within its own timeout; tenant A's route allows far less.
    const shared = uniqueModel("shared-provider");
    const model = uniqueModel("slow-shared");
    await createProvider(
      stack,
      { token: stack.adminToken },
      { name: shared, type: "openai", base_url: upstream.url, api_key: upstream.apiKey, timeout_ms: 30_000 },
    );
    upstream.on(model, { delayMs: 1_000 });
    const impatient = await createRoute(stack, tenant.caller, {
      name: uniqueModel("impatient"),
      strategy: "fallback",
      retries: 0,
      timeout_ms: 200,
      targets: [{ provider: shared, model }],
    });

    // Tenant A's route times out twice (the threshold): its own circuit opens and it is failed fast.
    for (let i = 0; i < 2; i++) expect(((await ask(impatient.name).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    const fast = (await ask(impatient.name).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(fast.status).toBe(503);
    expect(fast.headers?.get("x-gateway-attempts")).toBe("0");
    expect(upstream.requests(model)).toHaveLength(2);

    // Another tenant, on the provider's own timeout, is still served by the same provider and model.
    const other = await providerTenant(stack);
    const { data, response } = await other.client.chat.completions
      .create({ model: `${shared}/${model}`, messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(served(response)).toEqual({ provider: shared, model, attempts: "1" });
  });

  it("fails fast with 503 and retry-after when every target's circuit is open", async () => {
    const model = uniqueModel("all-open");
    upstream.on(model, { error: { status: 500 } });
    for (let i = 0; i < 2; i++) await ask(`${P1}/${model}`).catch(() => null);
    expect(upstream.requests(model)).toHaveLength(2);
    const err = (await ask(`${P1}/${model}`).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(503);
    expect(Number(err.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(err.headers?.get("x-gateway-attempts")).toBe("0");
    expect(upstream.requests(model)).toHaveLength(2);

    // The console's Providers page: the tenant that tripped it sees its circuit open; another tenant never sees it.
    const viewer = await member(stack, tenant.tenant.id, "viewer");
    const opened = await eventually(
      async () => {
        const list = await viewer.json<{ object: string; data: { model: string }[] }>(`/console/api/tenants/${tenant.tenant.id}/circuits`);
        return list.data.some((c) => c.model === model) ? list : null;
      },
      20_000,
      "the open circuit listed",
    );
    expect(opened.object).toBe("list");
    expect(opened.data.filter((c) => c.model === model)).toEqual([
      {
        object: "circuit",
        provider: P1,
        provider_id: expect.stringMatching(/^prv_/),
        model,
        scope: "tenant",
        state: "open",
        updated_at: expect.any(Number),
      },
    ]);
    const other = await providerTenant(stack);
    const outsider = await member(stack, other.tenant.id, "owner");
    const theirs = await outsider.json<{ data: { model: string }[] }>(`/console/api/tenants/${other.tenant.id}/circuits`);
    expect(theirs.data.filter((c) => c.model === model)).toEqual([]);
    await expectError(await outsider.fetch(`/console/api/tenants/${tenant.tenant.id}/circuits`), 404, "not_found");
  });
});
