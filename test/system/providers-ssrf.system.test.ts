import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, createProvider, providerTenant, type Caller } from "../support/providers";
import { startStack, type Stack } from "../support/stack";
import { clientFor } from "../support/clients";

/** Production mode: ALLOW_PRIVATE_UPSTREAMS is off, as it is in every deployed environment. */
let stack: Stack;
let admin: Caller;
beforeAll(async () => {
  stack = await startStack({ vars: { "model-proxy": { ALLOW_PRIVATE_UPSTREAMS: "false" }, tail: { ALLOW_PRIVATE_UPSTREAMS: "false" } } });
  admin = { token: stack.adminToken };
});
afterAll(() => stack?.close());

/** Upstream URLs a provider may not point at in production. */
const FORBIDDEN = [
  "http://api.openai.com/v1",
  "https://localhost/v1",
  "https://localhost./v1",
  "https://localhost../v1",
  "https://127.0.0.1.../v1",
  "https://api.localhost/v1",
  "https://127.0.0.1/v1",
  "https://127.1/v1",
  "https://2130706433/v1",
  "https://0x7f000001/v1",
  "https://0177.0.0.1/v1",
  "https://0.0.0.0/v1",
  "https://10.1.2.3/v1",
  "https://172.16.0.10/v1",
  "https://192.168.0.1/v1",
  "https://100.64.0.1/v1",
  "https://169.254.169.254/latest/meta-data/",
  "https://2852039166/latest/meta-data/",
  "https://metadata.google.internal/computeMetadata/v1/",
  "https://[::1]/v1",
  "https://[::ffff:127.0.0.1]/v1",
  "https://[::ffff:a9fe:a9fe]/v1",
  "https://[::ffff:0:127.0.0.1]/v1",
  "https://[::ffff:0:7f00:1]/v1",
  "https://[::ffff:0:a9fe:a9fe]/v1",
  "https://[64:ff9b::127.0.0.1]/v1",
  "https://[64:ff9b::a9fe:a9fe]/v1",
  "https://api.example.com:8080/v1",
  "https://api.example.com:22/v1",
  "https://[fd00:ec2::254]/v1",
  "https://[fe80::1]/v1",
  "https://[fc00::1]/v1",
  "https://127.0.0.1.nip.io/v1",
  "https://vllm:8000/v1",
  "https://user:password@api.example.com/v1",
];

describe("SSRF guard (production mode)", () => {
  it.each(FORBIDDEN)("refuses a provider at %s with 400 naming base_url", async (base_url) => {
    const res = await api(stack, admin, "POST", "/v1/providers", {
      name: `p-${crypto.randomUUID().slice(0, 8)}`,
      type: "openai-compatible",
      base_url,
      api_key: "sk-ssrf-test-0000000000",
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { param: string; type: string; message: string } };
    expect(body.error).toMatchObject({ param: "base_url", type: "invalid_request_error" });
    expect(body.error.message).toMatch(/not allowed|must use https|must not contain credentials|must use port 443 or 8443/);
    expect(body.error.message).not.toContain("sk-ssrf-test");
  });

  it("refuses the same through PATCH, and a tenant's provider alike", async () => {
    const { caller } = await providerTenant(stack);
    const provider = await createProvider(stack, caller, {
      name: "public",
      type: "openai-compatible",
      base_url: "https://llm.example.com/v1",
      api_key: "sk-public-000000000000",
    });
    const res = await api(stack, caller, "PATCH", `/v1/providers/${provider.id}`, { base_url: "https://[::ffff:169.254.169.254]/" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { param: "base_url" } });
    expect(await (await api(stack, caller, "GET", `/v1/providers/${provider.id}`)).json()).toMatchObject({ base_url: "https://llm.example.com/v1" });
  });

  it("refuses a local preset's loopback default and says to set base_url", async () => {
    const res = await api(stack, admin, "POST", "/v1/providers", { name: "local-ollama", type: "ollama" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { param: "base_url", message: expect.stringContaining("Set 'base_url'") } });
  });

  it("accepts a public https upstream and a cloud preset's default", async () => {
    const created = [
      await api(stack, admin, "POST", "/v1/providers", { name: "groq-default", type: "groq", api_key: "gsk_0000000000000000" }),
      await api(stack, admin, "POST", "/v1/providers", {
        name: "azure",
        type: "azure-openai",
        base_url: "https://my-resource.openai.azure.com",
        api_key: "azure-key-0000000000000",
      }),
      await api(stack, admin, "POST", "/v1/providers", {
        name: "alt-port",
        type: "openai-compatible",
        base_url: "https://llm.example.com:8443/v1",
        api_key: "sk-alt-port-000000000",
      }),
    ];
    expect(created.map((r) => r.status)).toEqual([201, 201, 201]);
    const bodies = (await Promise.all(created.map((r) => r.json()))) as { name: string; base_url: string }[];
    expect(bodies.map((b) => [b.name, new URL(b.base_url).host])).toEqual([
      ["groq-default", "api.groq.com"],
      ["azure", "my-resource.openai.azure.com"],
      ["alt-port", "llm.example.com:8443"],
    ]);
  });
});

describe("server-side tools of /v1/agentic runs in production mode", () => {
  it("refuses a webhook tool URL or an MCP server URL into a private address with 400 naming the tool's field", async () => {
    const { apiKey } = await clientFor(stack);
    const create = (tools: unknown[]) =>
      fetch(`${stack.url}/v1/agentic`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "claude/any", input: "hi", tools }),
      });
    const cases = [
      { tool: { type: "webhook", name: "lookup", url: "https://10.0.0.5/hook" }, param: "tools[0].url", reason: /private/ },
      { tool: { type: "webhook", name: "lookup", url: "http://127.0.0.1:8080/hook" }, param: "tools[0].url", reason: /must use https/ },
      { tool: { type: "webhook", name: "lookup", url: "https://localhost/hook" }, param: "tools[0].url", reason: /local name/ },
      { tool: { type: "mcp", server_label: "internal", server_url: "https://192.168.1.20/mcp" }, param: "tools[0].server_url", reason: /private/ },
    ];
    for (const { tool, param, reason } of cases) {
      const res = await create([tool]);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { message: string; param: string; code: string; type: string } };
      expect(body.error).toMatchObject({ param, code: "invalid_request", type: "invalid_request_error" });
      expect(body.error.message).toMatch(reason);
    }
  });
});
