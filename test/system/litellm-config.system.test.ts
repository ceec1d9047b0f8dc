import { readFileSync } from "node:fs";
import type OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANTHROPIC_FAKE_KEY } from "../fake-upstream/anthropic";
import { GOOGLE_FAKE_KEY } from "../fake-upstream/google";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/server";
import { expectError } from "../support/errors";
import { gatewayFetch } from "../support/fetch";
import { openaiClient } from "../support/clients";
import { exportLiteLLM, importLiteLLM, importPriceFile, postLiteLLM, postPriceFile, type ImportPlan } from "../support/litellm";
import { afterPriceChange } from "../support/propagation";
import { tenantWithKey } from "../support/tenants";
import { eventually } from "../support/wait";
import { uniqueModel } from "../support/names";
import { api, providerTenant, type Caller, type ProviderView, type RouteView } from "../support/providers";
import { startStack, type Stack } from "../support/stack";
import { dumpAllStores } from "../support/stores";

/** A Worker secret of model-proxy the platform's config references as os.environ/FAKE_OPENAI_KEY. */
const ENV_KEY_NAME = "FAKE_OPENAI_KEY";

let stack: Stack;
let upstream: FakeUpstream;
const admin = (): Caller => ({ token: stack.adminToken });

beforeAll(async () => {
  upstream = await startFakeUpstream();
  stack = await startStack({ vars: { "model-proxy": { [ENV_KEY_NAME]: upstream.apiKey } } });
});
afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

/** Upstream model names of one realistic config (unique per test: the fake's knobs are keyed by model). */
function models(label: string) {
  return {
    gptA: uniqueModel(`${label}-gpt-a`),
    gptB: uniqueModel(`${label}-gpt-b`),
    claude: uniqueModel(`${label}-claude`),
    gemini: uniqueModel(`${label}-gemini`),
    small: uniqueModel(`${label}-small`),
  };
}

/**
 * A LiteLLM proxy config as its users write it: three providers (an OpenAI-compatible server,
 * Anthropic, Gemini), a group with two weighted deployments, fallbacks, a context-window fallback,
 * an alias, and keys LiteLLM has that the gateway does not apply.
 */
function realisticConfig(m: ReturnType<typeof models>, keys: { openai: string; anthropic: string; gemini: string }): string {
  const gemini = upstream.url.replace(/\/v1$/, "/v1beta");
  return `# LiteLLM proxy config
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/${m.gptA}
      api_base: ${upstream.url}
      api_key: ${keys.openai}
      weight: 3
      rpm: 600
    model_info:
      id: gpt-4o-primary
  - model_name: gpt-4o
    litellm_params:
      model: openai/${m.gptB}
      api_base: ${upstream.url}
      api_key: ${keys.openai}
      weight: 1
      aws_region_name: us-east-1
    model_info:
      id: gpt-4o-secondary
  - model_name: claude-sonnet
    litellm_params:
      model: anthropic/${m.claude}
      api_base: ${upstream.url}
      api_key: ${keys.anthropic}
      timeout: 20
  - model_name: gemini-long
    litellm_params:
      model: gemini/${m.gemini}
      api_base: ${gemini}
      api_key: ${keys.gemini}
    model_info:
      max_input_tokens: 1000000
  - model_name: small-context
    litellm_params:
      model: openai/${m.small}
      api_base: ${upstream.url}
      api_key: ${keys.openai}
    model_info:
      max_input_tokens: 64
  - model_name: vertex-claude
    litellm_params:
      model: vertex_ai/claude-3-5-sonnet
      vertex_project: my-project

router_settings:
  routing_strategy: simple-shuffle
  num_retries: 0
  allowed_fails: 1
  cooldown_time: 600
  fallbacks:
    - gpt-4o: [claude-sonnet]
  context_window_fallbacks:
    - small-context: [gemini-long]
  model_group_alias:
    gpt-4: gpt-4o
  redis_host: localhost

litellm_settings:
  drop_params: true
  callbacks: [langfuse]

general_settings:
  master_key: sk-1234
`;
}

const TENANT_KEYS = () => ({ openai: upstream.apiKey, anthropic: ANTHROPIC_FAKE_KEY, gemini: GOOGLE_FAKE_KEY });

async function list<T>(caller: Caller, path: string): Promise<T[]> {
  const res = await api(stack, caller, "GET", path);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: T[] }).data;
}

const byAction = (plan: ImportPlan) => ({
  providers: Object.fromEntries(plan.providers.map((p) => [p.name, p.action])),
  routes: Object.fromEntries(plan.routes.map((r) => [r.name, r.action])),
});

describe("LiteLLM config import and export", () => {
  let tenant: { caller: Caller; client: OpenAI };
  let m: ReturnType<typeof models>;
  let yaml: string;

  beforeAll(async () => {
    tenant = await providerTenant(stack);
    m = models("import");
    yaml = realisticConfig(m, TENANT_KEYS());
  });

  it("plans a dry run without changing anything, and lists every key it does not apply", async () => {
    const plan = await importLiteLLM(stack, tenant.caller, yaml, true);
    expect(plan).toMatchObject({ object: "litellm.import", dry_run: true, changed: true });
    expect(plan.routes.map((r) => [r.name, r.action, r.strategy])).toEqual([
      ["gpt-4o", "create", "weighted"],
      ["claude-sonnet", "create", "weighted"],
      ["gemini-long", "create", "weighted"],
      ["small-context", "create", "weighted"],
      ["gpt-4", "create", "weighted"],
    ]);
    expect(plan.routes[0]!.deployments).toEqual([
      { provider: plan.providers[0]!.name, model: m.gptA },
      { provider: plan.providers[0]!.name, model: m.gptB },
    ]);
    // One provider per endpoint and key: the three OpenAI-compatible deployments share one.
    expect(plan.providers.map((p) => [p.type, p.base_url, p.action])).toEqual([
      ["openai", upstream.url, "create"],
      ["anthropic", upstream.url, "create"],
      ["google", upstream.url.replace(/\/v1$/, "/v1beta"), "create"],
    ]);
    expect(plan.unsupported).toEqual(
      expect.arrayContaining([
        { path: "general_settings", reason: expect.stringContaining("no equivalent") },
        { path: "model_list[1].litellm_params.aws_region_name", reason: expect.any(String) },
        { path: "model_list[5].litellm_params.model", reason: expect.stringContaining("Vertex AI") },
        { path: "model_list[5].litellm_params.vertex_project", reason: expect.any(String) },
        { path: "router_settings.redis_host", reason: expect.stringContaining("Durable Objects") },
        { path: "litellm_settings.drop_params", reason: expect.any(String) },
        { path: "litellm_settings.callbacks", reason: expect.any(String) },
      ]),
    );
    expect(plan.unsupported).toHaveLength(7);
    expect(await list(tenant.caller, "/v1/providers")).toEqual([]);
    expect(await list(tenant.caller, "/v1/routes")).toEqual([]);
  });

  it("applies the file: providers with encrypted keys and routes the openai SDK can use", async () => {
    const plan = await importLiteLLM(stack, tenant.caller, yaml);
    expect(plan).toMatchObject({ dry_run: false, changed: true });
    const providers = await list<ProviderView>(tenant.caller, "/v1/providers");
    const rows = (list: { name: string; type: string }[]) => list.map((p) => [p.name, p.type]).sort();
    expect(rows(providers)).toEqual(rows(plan.providers));
    expect(providers.every((p) => p.has_api_key && p.last4 !== null)).toBe(true);
    const routes = await list<RouteView>(tenant.caller, "/v1/routes");
    expect(routes.map((r) => r.name).sort()).toEqual(["claude-sonnet", "gemini-long", "gpt-4", "gpt-4o", "small-context"]);

    const { data, response } = await tenant.client.chat.completions
      .create({ model: "claude-sonnet", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(response.headers.get("x-gateway-provider")).toBe(plan.providers[1]!.name);
    expect(response.headers.get("x-gateway-model")).toBe(m.claude);
    expect(upstream.requests(m.claude)).toHaveLength(1);
  });

  it("changes nothing when the same file is imported again", async () => {
    const before = await list<ProviderView>(tenant.caller, "/v1/providers");
    const plan = await importLiteLLM(stack, tenant.caller, yaml);
    expect(plan.changed).toBe(false);
    expect([...plan.providers, ...plan.routes].every((e) => e.action === "unchanged" && e.changes.length === 0)).toBe(true);
    expect(await list<ProviderView>(tenant.caller, "/v1/providers")).toEqual(before);
  });

  it("exports os.environ references, never a key, and the export re-imports as a no-op", async () => {
    const exported = await exportLiteLLM(stack, tenant.caller);
    for (const key of Object.values(TENANT_KEYS())) expect(exported).not.toContain(key);
    expect(exported).toContain("api_key: os.environ/GATEWAY_KEY_");
    expect(exported).toContain("routing_strategy: simple-shuffle");
    expect(exported).toContain("gpt-4: gpt-4o");
    const before = await list<ProviderView>(tenant.caller, "/v1/providers");
    const plan = await importLiteLLM(stack, tenant.caller, exported);
    expect({ changed: plan.changed, unsupported: plan.unsupported }).toEqual({ changed: false, unsupported: [] });
    expect(new Set(Object.values(byAction(plan).providers))).toEqual(new Set(["unchanged"]));
    expect(new Set(Object.values(byAction(plan).routes))).toEqual(new Set(["unchanged"]));
    expect(await list<ProviderView>(tenant.caller, "/v1/providers")).toEqual(before);
    // Nothing at rest holds a key in the clear either.
    const stores = await dumpAllStores(stack);
    for (const key of Object.values(TENANT_KEYS())) expect(stores).not.toContain(key);
  });

  it("removes what an earlier import made and the file no longer names", async () => {
    const other = await providerTenant(stack);
    await importLiteLLM(stack, other.caller, yaml);
    const trimmed = yaml.replace(/ {2}- model_name: small-context[\s\S]*?max_input_tokens: 64\n/, "").replace(/ {2}context_window_fallbacks:\n.*\n/, "");
    const plan = await importLiteLLM(stack, other.caller, trimmed);
    expect(plan.routes.find((r) => r.name === "small-context")?.action).toBe("delete");
    expect((await list<RouteView>(other.caller, "/v1/routes")).map((r) => r.name)).not.toContain("small-context");
  });

  it("refuses a malformed file with a 400 naming the path", async () => {
    const cases: [string, string][] = [
      [yaml.replace("rpm: 600", "rpm: many"), "model_list[0].litellm_params.rpm"],
      [yaml.replace(`model: anthropic/${m.claude}`, "model: claude-3"), "model_list[2].litellm_params.model"],
      [yaml.replace("- gpt-4o: [claude-sonnet]", "- gpt-4o: [no-such-group]"), "router_settings.fallbacks[0].gpt-4o[0]"],
      [yaml.replace("routing_strategy: simple-shuffle", "routing_strategy: fastest"), "router_settings.routing_strategy"],
      ["model_list:\n  - model_name: a\n    litellm_params: [unclosed\n", "line 4, column 1"],
      ["model_list: {}", "model_list"],
    ];
    for (const [file, path] of cases) {
      const error = await expectError(await postLiteLLM(stack, tenant.caller, file), 400, "invalid_request");
      expect(error.param, file.slice(0, 60)).toBe(path);
      expect(error.message).toContain(path);
    }
    const json = await gatewayFetch(stack, "/v1/config/litellm", { key: tenant.caller.token, rawBody: "{", headers: { "content-type": "application/json" } });
    expect((await expectError(json, 400, "invalid_json")).param).toBe("$");
  });

  it("resolves os.environ/NAME from model-proxy's Worker secrets for the platform only", async () => {
    const file = `model_list:\n  - model_name: ${uniqueModel("env")}\n    litellm_params:\n      model: openai/${uniqueModel("env-model")}\n      api_base: ${upstream.url}\n      api_key: os.environ/${ENV_KEY_NAME}\n`;
    const refused = await expectError(await postLiteLLM(stack, tenant.caller, file), 400, "invalid_request");
    expect(refused.param).toBe("model_list[0].litellm_params.api_key");
    expect(refused.message).toContain("tenants cannot read the gateway's Worker secrets");
    const reserved = file.replace(ENV_KEY_NAME, "PLATFORM_PROVIDER_KEYS");
    expect((await expectError(await postLiteLLM(stack, admin(), reserved), 400, "invalid_request")).param).toBe("model_list[0].litellm_params.api_key");

    const plan = await importLiteLLM(stack, admin(), file);
    expect(plan.changed).toBe(true);
    const exported = await exportLiteLLM(stack, admin());
    expect(exported).toContain(`api_key: os.environ/${ENV_KEY_NAME}`);
    expect(exported).not.toContain(upstream.apiKey);
    expect((await importLiteLLM(stack, admin(), file)).changed).toBe(false);
  });

  it("keeps tenants apart: tenant B's import never touches tenant A's providers", async () => {
    const a = await providerTenant(stack);
    const b = await providerTenant(stack);
    await importLiteLLM(stack, a.caller, yaml);
    const aBefore = await list<ProviderView>(a.caller, "/v1/providers");
    // A's export names A's stored keys; to B those names are nothing (no credential crosses tenants).
    const refused = await expectError(await postLiteLLM(stack, b.caller, await exportLiteLLM(stack, a.caller)), 400, "invalid_request");
    expect(refused.message).toContain("names no credential of yours");
    const planB = await importLiteLLM(stack, b.caller, yaml);
    expect(planB.providers.every((p) => p.action === "create")).toBe(true);
    expect(planB.routes.every((r) => r.action === "create")).toBe(true);
    expect(await list<ProviderView>(a.caller, "/v1/providers")).toEqual(aBefore);
    expect((await importLiteLLM(stack, a.caller, yaml)).changed).toBe(false);
  });
});

describe("LiteLLM routing semantics", () => {
  /** A tenant with the realistic config imported over fresh upstream models. */
  async function imported(label: string) {
    const tenant = await providerTenant(stack);
    const m = models(label);
    await importLiteLLM(stack, tenant.caller, realisticConfig(m, TENANT_KEYS()));
    const ask = (model: string, content = "hi") => tenant.client.chat.completions.create({ model, messages: [{ role: "user", content }] }).withResponse();
    return { tenant, m, ask };
  }
  const served = (res: Response) => ({
    group: res.headers.get("x-litellm-model-group"),
    id: res.headers.get("x-litellm-model-id"),
    model: res.headers.get("x-gateway-model"),
  });

  it("spreads a group's load across its deployments by weight (3:1), saying which served", async () => {
    const { m, ask } = await imported("weights");
    const ids: Record<string, number> = {};
    for (let i = 0; i < 40; i++) {
      const { data, response } = await ask("gpt-4o");
      expect(data.choices[0]!.message.content).toBeTruthy();
      const s = served(response);
      expect(s.group).toBe("gpt-4o");
      expect(s.model).toBe(s.id === "gpt-4o-primary" ? m.gptA : m.gptB);
      ids[s.id!] = (ids[s.id!] ?? 0) + 1;
    }
    expect(upstream.requests(m.gptA).length).toBe(ids["gpt-4o-primary"]);
    expect(upstream.requests(m.gptB).length).toBe(ids["gpt-4o-secondary"]);
    // Seeded (ROUTING_SEED): the same split every run; weight 3 takes about three quarters.
    expect(ids["gpt-4o-primary"]! + ids["gpt-4o-secondary"]!).toBe(40);
    expect(ids["gpt-4o-primary"]).toBeGreaterThanOrEqual(24);
    expect(ids["gpt-4o-secondary"]).toBeGreaterThanOrEqual(4);
  });

  it("cools a failing deployment down after allowed_fails and moves its traffic to the healthy one", async () => {
    const { m, ask } = await imported("cooldown");
    upstream.on(m.gptB, { error: { status: 500 } });
    // allowed_fails: 1 → the second failure within a minute cools gpt-b down (cooldown_time: 600 s).
    for (let i = 0; i < 40 && upstream.requests(m.gptB).length < 2; i++) {
      const { response } = await ask("gpt-4o");
      expect(served(response)).toMatchObject({ group: "gpt-4o", id: "gpt-4o-primary" });
    }
    expect(upstream.requests(m.gptB)).toHaveLength(2);
    const before = upstream.requests(m.gptA).length;
    for (let i = 0; i < 12; i++) {
      const { response } = await ask("gpt-4o");
      expect(served(response)).toEqual({ group: "gpt-4o", id: "gpt-4o-primary", model: m.gptA });
      expect(response.headers.get("x-gateway-attempts")).toBe("1");
    }
    expect(upstream.requests(m.gptB)).toHaveLength(2);
    expect(upstream.requests(m.gptA).length).toBe(before + 12);
  });

  it("uses the fallback group when every deployment of the group fails", async () => {
    const { m, ask, tenant } = await imported("fallback");
    upstream.on(m.gptA, { error: { status: 503 } });
    upstream.on(m.gptB, { error: { status: 500 } });
    const { data, response } = await ask("gpt-4o");
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(served(response)).toMatchObject({ group: "claude-sonnet", model: m.claude });
    expect(response.headers.get("x-gateway-attempts")).toBe("3");
    expect(upstream.requests(m.claude)).toHaveLength(1);
    // The alias reaches the same group and so the same fallback.
    const alias = await ask("gpt-4");
    expect(served(alias.response)).toMatchObject({ group: "claude-sonnet" });
    // A fallback group does not hide a request error: a 400 from the group is the client's answer.
    upstream.on(m.small, { error: { status: 400 } });
    const bad = await tenant.client.chat.completions.create({ model: "small-context", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400 });
  });

  it("sends a prompt too long for a deployment's context to the context-window fallback", async () => {
    const { m, ask } = await imported("context");
    const short = await ask("small-context", "hi");
    expect(served(short.response)).toMatchObject({ group: "small-context", model: m.small });
    // ~250 estimated tokens: over small-context's max_input_tokens (64), within gemini-long's.
    const long = await ask("small-context", "lorem ipsum dolor sit amet ".repeat(40));
    expect(long.data.choices[0]!.message.content).toBeTruthy();
    expect(served(long.response)).toMatchObject({ group: "gemini-long", model: m.gemini });
    expect(upstream.requests(m.small)).toHaveLength(1);
    expect(upstream.requests(m.gemini)).toHaveLength(1);
  });
});

describe("LiteLLM refusal fallbacks", () => {
  /** OpenAI's 400 for a request its safety system refused (the code LiteLLM keys content_policy_fallbacks on). */
  const POLICY_400 = {
    status: 400,
    body: {
      error: {
        message: "Your request was rejected as a result of our safety system.",
        type: "invalid_request_error",
        param: null,
        code: "content_policy_violation",
      },
    },
  };

  function policyConfig(strict: string, lenient: string, azure: string): string {
    return `model_list:
  - model_name: strict-gpt
    litellm_params:
      model: openai/${strict}
      api_base: ${upstream.url}
      api_key: ${upstream.apiKey}
  - model_name: lenient-claude
    litellm_params:
      model: anthropic/${lenient}
      api_base: ${upstream.url}
      api_key: ${ANTHROPIC_FAKE_KEY}
  - model_name: azure-filtered
    litellm_params:
      model: openai/${azure}
      api_base: ${upstream.url}
      api_key: ${upstream.apiKey}
router_settings:
  content_policy_fallbacks:
    - strict-gpt: [lenient-claude]
`;
  }

  it("sends a request an upstream refused for content policy to the content_policy_fallbacks group; export round-trips it", async () => {
    const tenant = await providerTenant(stack);
    const strict = uniqueModel("policy-strict");
    const lenient = uniqueModel("policy-lenient");
    const azure = uniqueModel("policy-azure");
    const plan = await importLiteLLM(stack, tenant.caller, policyConfig(strict, lenient, azure));
    expect(plan.unsupported).toEqual([]);
    upstream.on(strict, { error: POLICY_400 });

    const { data, response } = await tenant.client.chat.completions
      .create({ model: "strict-gpt", messages: [{ role: "user", content: "a borderline request" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(response.headers.get("x-litellm-model-group")).toBe("lenient-claude");
    expect(response.headers.get("x-gateway-model")).toBe(lenient);
    expect(response.headers.get("x-gateway-attempts")).toBe("2");
    // The refusal is not retried in its own group: one call each.
    expect(upstream.requests(strict)).toHaveLength(1);
    expect(upstream.requests(lenient)).toHaveLength(1);

    // A group without content_policy_fallbacks answers the refusal itself, with OpenAI's code
    // (Azure OpenAI's `content_filter` is the same refusal).
    upstream.on(azure, {
      error: {
        status: 400,
        body: {
          error: {
            message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
            type: null,
            param: "prompt",
            code: "content_filter",
          },
        },
      },
    });
    const refused = await gatewayFetch(stack, "/v1/chat/completions", {
      key: tenant.caller.token,
      body: { model: "azure-filtered", messages: [{ role: "user", content: "a borderline request" }] },
    });
    const error = await expectError(refused, 400, "content_policy_violation");
    expect(error.message).toContain("content management policy");
    expect(upstream.requests(azure)).toHaveLength(1);

    const exported = await exportLiteLLM(stack, tenant.caller);
    expect(exported).toContain("content_policy_fallbacks:");
    expect(exported).toMatch(/- strict-gpt:\n\s+- lenient-claude/);
    const again = await importLiteLLM(stack, tenant.caller, exported);
    expect({ changed: again.changed, unsupported: again.unsupported }).toEqual({ changed: false, unsupported: [] });
  });

  it("treats Anthropic's blocked-content 400 as a content-policy refusal too (set under litellm_settings)", async () => {
    const tenant = await providerTenant(stack);
    const strict = uniqueModel("policy-claude-strict");
    const lenient = uniqueModel("policy-gpt-lenient");
    await importLiteLLM(
      stack,
      tenant.caller,
      `model_list:
  - model_name: strict-claude
    litellm_params:
      model: anthropic/${strict}
      api_base: ${upstream.url}
      api_key: ${ANTHROPIC_FAKE_KEY}
  - model_name: lenient-gpt
    litellm_params:
      model: openai/${lenient}
      api_base: ${upstream.url}
      api_key: ${upstream.apiKey}
litellm_settings:
  content_policy_fallbacks:
    - strict-claude: [lenient-gpt]
`,
    );
    upstream.on(strict, {
      error: { status: 400, body: { type: "error", error: { type: "invalid_request_error", message: "Output blocked by content filtering policy" } } },
    });
    const { data, response } = await tenant.client.chat.completions
      .create({ model: "strict-claude", messages: [{ role: "user", content: "a borderline request" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(response.headers.get("x-litellm-model-group")).toBe("lenient-gpt");
    expect(upstream.requests(strict)).toHaveLength(1);
    expect(upstream.requests(lenient)).toHaveLength(1);
  });

  it("sends a prompt an upstream refused as too long to the context_window_fallbacks group", async () => {
    const tenant = await providerTenant(stack);
    const m = models("ctx-refused");
    await importLiteLLM(stack, tenant.caller, realisticConfig(m, TENANT_KEYS()));
    // Within small-context's configured 64 tokens by the gateway's estimate, yet the upstream says no.
    upstream.on(m.small, {
      error: {
        status: 400,
        body: {
          error: {
            message: "This model's maximum context length is 16 tokens.",
            type: "invalid_request_error",
            param: "messages",
            code: "context_length_exceeded",
          },
        },
      },
    });
    const { data, response } = await tenant.client.chat.completions
      .create({ model: "small-context", messages: [{ role: "user", content: "hi there" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(response.headers.get("x-litellm-model-group")).toBe("gemini-long");
    expect(upstream.requests(m.small)).toHaveLength(1);
    expect(upstream.requests(m.gemini)).toHaveLength(1);
  });
});

describe("LiteLLM price file import (POST /admin/prices/import)", () => {
  const SUBSET = readFileSync(new URL("../fixtures/litellm/model-prices-subset.json", import.meta.url), "utf8");

  it("imports prices as one import, a new price version per changed model (dry run first, re-import a no-op), and a request costs what the imported prices say", async () => {
    // The fixture's gpt-4o-mini entry under a model name of this test's own (the number texts untouched).
    const mini = uniqueModel("priced-mini");
    const file = SUBSET.replace('"gpt-4o-mini": {', `"${mini}": {`);

    const dry = await importPriceFile(stack, file, true);
    expect(dry).toMatchObject({ object: "price_import", dry_run: true, changed: true, import_id: null });
    expect(dry.prices.find((p) => p.model === mini)).toEqual({
      model: mini,
      action: "create",
      changes: expect.arrayContaining(["input_per_mtok_micros", "output_per_mtok_micros"]),
      provider: "openai",
      input_per_mtok_micros: 150_000,
      output_per_mtok_micros: 600_000,
      cached_input_per_mtok_micros: 75_000,
      cache_write_per_mtok_micros: null,
    });
    expect(dry.skipped.map((s) => s.path)).toEqual([
      '"sample_spec"',
      '"gemini-2.5-flash"',
      '"dall-e-3"',
      '"whisper-1"',
      '"bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0"',
    ]);
    expect(dry.unsupported).toContainEqual({
      path: '"claude-sonnet-4-5".input_cost_per_token_above_200k_tokens',
      reason: expect.stringContaining("long-context"),
    });
    expect((await gatewayFetch(stack, `/admin/prices/${mini}`, { admin: true })).status).toBe(404);

    const applied = await importPriceFile(stack, file);
    expect(applied).toMatchObject({ dry_run: false, changed: true, import_id: expect.any(Number) });
    const again = await importPriceFile(stack, file);
    expect(again).toMatchObject({ changed: false, import_id: null });
    expect([...again.prices, ...again.context_windows].every((e) => e.action === "unchanged" && e.changes.length === 0)).toBe(true);

    const stored = await gatewayFetch(stack, `/admin/prices/${mini}`, { admin: true });
    expect(stored.status).toBe(200);
    expect(await stored.json()).toMatchObject({ input_per_mtok_micros: 150_000, output_per_mtok_micros: 600_000, cached_input_per_mtok_micros: 75_000 });
    await afterPriceChange(stack);

    const { apiKey } = await tenantWithKey(stack, { scopes: ["chat", "providers:write", "usage:read"] });
    await importLiteLLM(
      stack,
      { token: apiKey },
      `model_list:\n  - model_name: mini\n    litellm_params:\n      model: openai/${mini}\n      api_base: ${upstream.url}\n      api_key: ${upstream.apiKey}\n`,
    );
    const { data, response } = await openaiClient(stack, apiKey)
      .chat.completions.create({ model: "mini", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    const prompt = data.usage!.prompt_tokens;
    const cached = data.usage!.prompt_tokens_details?.cached_tokens ?? 0;
    const completion = data.usage!.completion_tokens;
    // By hand: $0.15 / $0.075 (cached) / $0.60 per 1M tokens = 150,000 / 75,000 / 600,000 µ$ per 1M, rounded up once per request.
    const expected = Math.ceil(((prompt - cached) * 150_000 + cached * 75_000 + completion * 600_000) / 1_000_000);
    expect(expected).toBeGreaterThan(0);
    expect(response.headers.get("x-gateway-cost-usd")).toBe(`0.${String(expected).padStart(6, "0")}`);
    const requestId = response.headers.get("x-request-id")!;
    const record = await eventually(async () => {
      const res = await gatewayFetch(stack, `/v1/usage/requests/${requestId}`, { key: apiKey });
      return res.status === 200 ? ((await res.json()) as { cost_usd_micros: number; model: string }) : null;
    });
    expect(record).toMatchObject({ cost_usd_micros: expected, model: mini });
  });

  it("keeps a context window from the file, which sends a longer prompt to the context-window fallback", async () => {
    const tiny = uniqueModel("window-tiny");
    const roomy = uniqueModel("window-roomy");
    const plan = await importPriceFile(
      stack,
      `{"${tiny}": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-07, "output_cost_per_token": 2e-07, "max_input_tokens": 64, "max_output_tokens": 32}}`,
    );
    expect(plan.context_windows).toEqual([
      { model: tiny, action: "create", changes: ["max_input_tokens", "max_output_tokens"], max_input_tokens: 64, max_output_tokens: 32 },
    ]);
    const tenant = await providerTenant(stack);
    // No model_info.max_input_tokens: the deployment's window is the imported one.
    await importLiteLLM(
      stack,
      tenant.caller,
      `model_list:
  - model_name: tiny
    litellm_params:
      model: openai/${tiny}
      api_base: ${upstream.url}
      api_key: ${upstream.apiKey}
  - model_name: roomy
    litellm_params:
      model: gemini/${roomy}
      api_base: ${upstream.url.replace(/\/v1$/, "/v1beta")}
      api_key: ${GOOGLE_FAKE_KEY}
router_settings:
  context_window_fallbacks:
    - tiny: [roomy]
`,
    );
    const ask = (content: string) => tenant.client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content }] }).withResponse();
    const short = await ask("hi");
    expect(short.response.headers.get("x-litellm-model-group")).toBe("tiny");
    // ~250 estimated tokens: over the imported 64.
    const long = await ask("lorem ipsum dolor sit amet ".repeat(40));
    expect(long.data.choices[0]!.message.content).toBeTruthy();
    expect(long.response.headers.get("x-litellm-model-group")).toBe("roomy");
    expect(upstream.requests(tiny)).toHaveLength(1);
    expect(upstream.requests(roomy)).toHaveLength(1);
  });

  it("refuses a bad entry with a 400 naming its path, and a file that is not JSON", async () => {
    const bad = SUBSET.replace('"input_cost_per_token": 1.5e-07', '"input_cost_per_token": "0.00000015"');
    const error = await expectError(await postPriceFile(stack, bad), 400, "invalid_request");
    expect(error.param).toBe('"gpt-4o-mini".input_cost_per_token');
    expect(error.message).toContain('"gpt-4o-mini".input_cost_per_token');
    expect((await expectError(await postPriceFile(stack, "{"), 400, "invalid_json")).param).toBe("$");
    const tenant = await providerTenant(stack);
    await expectError(await gatewayFetch(stack, "/admin/prices/import", { key: tenant.caller.token, body: {} }), 401, "invalid_api_key");
  });
});

describe("LiteLLM import: plaintext keys", () => {
  it("never writes an imported provider key (literal or os.environ/…) to any Worker's log line or to any answer", async () => {
    const wrongKey = `sk-proj-wrong${crypto.randomUUID().replaceAll("-", "")}`;
    const awsSecret = `aws-secret-${crypto.randomUUID()}`;
    const keys = [upstream.apiKey, ANTHROPIC_FAKE_KEY, GOOGLE_FAKE_KEY, wrongKey, awsSecret];
    const answers: string[] = [];
    const keep = async (res: Response) => {
      const headers: string[] = [];
      res.headers.forEach((value, name) => headers.push(`${name}: ${value}`));
      answers.push(`${res.status} ${headers.join("\n")} ${await res.text()}`);
      return res;
    };
    const tenant = await providerTenant(stack);
    const m = models("log-keys");
    const wrong = uniqueModel("log-keys-wrong");
    // Literal keys (stored encrypted), a key the upstream refuses, and a secret in a key the importer does not apply.
    const yaml = `${realisticConfig(m, TENANT_KEYS())}`.replace(
      "router_settings:",
      `  - model_name: refused
    litellm_params:
      model: openai/${wrong}
      api_base: ${upstream.url}
      api_key: ${wrongKey}
      aws_secret_access_key: ${awsSecret}
router_settings:`,
    );
    await keep(await postLiteLLM(stack, tenant.caller, yaml, true));
    const applied = await keep(await postLiteLLM(stack, tenant.caller, yaml));
    expect(applied.status).toBe(200);
    expect(answers.join("\n")).toContain("aws_secret_access_key");
    // Refused files that carry keys: a malformed key, a bad value next to a key.
    expect((await keep(await postLiteLLM(stack, tenant.caller, yaml.replace(`api_key: ${wrongKey}`, `api_key: "${wrongKey}\\n"`)))).status).toBe(400);
    expect((await keep(await postLiteLLM(stack, tenant.caller, yaml.replace("rpm: 600", "rpm: lots")))).status).toBe(400);
    // The platform's os.environ/NAME resolves to a Worker secret whose value is the fake's key.
    const platformFile = `model_list:\n  - model_name: ${uniqueModel("log-env")}\n    litellm_params:\n      model: openai/${uniqueModel("log-env-model")}\n      api_base: ${upstream.url}\n      api_key: os.environ/${ENV_KEY_NAME}\n`;
    expect((await keep(await postLiteLLM(stack, admin(), platformFile))).status).toBe(200);

    // Traffic through every kind of deployment, the refused key's included (the upstream's 401 → our 502).
    for (const model of ["gpt-4o", "claude-sonnet", "gemini-long"]) {
      await keep(await gatewayFetch(stack, "/v1/chat/completions", { key: tenant.caller.token, body: { model, messages: [{ role: "user", content: "hi" }] } }));
    }
    const refused = await keep(
      await gatewayFetch(stack, "/v1/chat/completions", { key: tenant.caller.token, body: { model: "refused", messages: [{ role: "user", content: "hi" }] } }),
    );
    expect(refused.status).toBe(502);
    expect(upstream.requests(wrong)).toHaveLength(1);
    await keep(await gatewayFetch(stack, "/v1/config/litellm", { key: tenant.caller.token }));
    await keep(await gatewayFetch(stack, "/v1/providers", { key: tenant.caller.token }));
    // A refused gateway key: its warning proves the scan below reads the Workers' real log lines.
    await keep(await gatewayFetch(stack, "/v1/config/litellm", { key: "sk-dev-not-a-key" }));

    const logs = JSON.stringify(stack.harness.getLogs());
    expect(logs).toContain("api key refused");
    const haystacks = [
      { where: "logs", text: logs },
      { where: "answers", text: answers.join("\n") },
    ];
    for (const key of keys) {
      for (const { where, text } of haystacks) expect(text.includes(key), `${where} contain the key ${key.slice(0, 6)}…`).toBe(false);
    }
  });
});
