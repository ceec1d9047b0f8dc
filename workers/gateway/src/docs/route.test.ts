import { describe, expect, it } from "vitest";
import { MessagesCountTokensRequestSchema, MessagesRequestSchema } from "../../../shared/src/anthropic";
import { ChatCompletionRequestSchema, EmbeddingRequestSchema } from "../../../shared/src/openai";
import { createApp } from "../app";
import { EXAMPLES } from "./examples";
import { DOCUMENT_TAGS } from "./tags";

interface Operation {
  tags?: string[];
  requestBody?: { content: Record<string, { example?: unknown }> };
  responses: Record<string, { content?: Record<string, { example?: unknown }> }>;
}
interface Document {
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, unknown>>;
}

async function document(): Promise<Document> {
  const res = await createApp().request("/openapi.json");
  expect(res.status).toBe(200);
  return (await res.json()) as Document;
}

const operations = (doc: Document) => Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

describe("GET /openapi.json", () => {
  it("resolves every $ref it contains", async () => {
    const doc = await document();
    const refs = new Set<string>();
    JSON.stringify(doc, (key, value: unknown) => {
      if (key === "$ref" && typeof value === "string") refs.add(value);
      return value;
    });
    expect(refs.size).toBeGreaterThan(20);
    const dangling = [...refs].filter((ref) => {
      let at: unknown = doc;
      for (const part of ref.replace(/^#\//, "").split("/")) at = (at as Record<string, unknown> | undefined)?.[part];
      return at === undefined;
    });
    expect(dangling).toEqual([]);
  });

  it("lists its tags in reading order (OpenAI's API first, admin last), each described, and every operation's tag among them", async () => {
    const doc = await document();
    const names = doc.tags.map((t) => t.name);
    expect(names).toEqual(DOCUMENT_TAGS.map((t) => t.name));
    expect(names.slice(0, 2)).toEqual(["openai", "anthropic"]);
    const firstAdmin = names.findIndex((n) => n.startsWith("admin"));
    expect(names.slice(firstAdmin).every((n) => n.startsWith("admin"))).toBe(true);
    expect(doc.tags.every((t) => t.description.length > 10)).toBe(true);
    const used = new Set(operations(doc).flatMap(({ op }) => op.tags ?? ["(untagged)"]));
    expect([...used].filter((t) => !names.includes(t))).toEqual([]);
  });

  it("shows examples for the main routes, and each request example passes the route's own validation", async () => {
    const doc = await document();
    const requestExample = (path: string) => doc.paths[path]?.["post"]?.requestBody?.content["application/json"]?.example;
    const responseExample = (path: string, method = "post") => doc.paths[path]?.[method]?.responses["200"]?.content?.["application/json"]?.example;
    expect(requestExample("/v1/chat/completions")).toEqual(EXAMPLES.chat.request);
    expect(responseExample("/v1/chat/completions")).toEqual(EXAMPLES.chat.response);
    expect(requestExample("/v1/embeddings")).toEqual(EXAMPLES.embeddings.request);
    expect(responseExample("/v1/models", "get")).toEqual(EXAMPLES.models.list);
    expect(requestExample("/v1/messages")).toEqual(EXAMPLES.messages.request);
    expect(requestExample("/v1/messages/count_tokens")).toEqual(EXAMPLES.countTokens.request);
    expect(responseExample("/v1/messages/count_tokens")).toEqual(EXAMPLES.countTokens.response);
    for (const [schema, example] of [
      [ChatCompletionRequestSchema, EXAMPLES.chat.request],
      [EmbeddingRequestSchema, EXAMPLES.embeddings.request],
      [MessagesRequestSchema, EXAMPLES.messages.request],
      [MessagesCountTokensRequestSchema, EXAMPLES.countTokens.request],
    ] as const) {
      expect(schema.safeParse(example).error).toBeUndefined();
    }
  });
});

describe("GET /openapi.json: Files and Batches", () => {
  it("documents every /v1/files, /v1/batches and /v1/batch operation with its body and answer schemas", async () => {
    const doc = await document();
    const methods = (path: string) => Object.keys(doc.paths[path] ?? {}).sort();
    expect(methods("/v1/files")).toEqual(["get", "post"]);
    expect(methods("/v1/files/{file_id}")).toEqual(["delete", "get"]);
    expect(methods("/v1/files/{file_id}/content")).toEqual(["get"]);
    expect(methods("/v1/batches")).toEqual(["get", "post"]);
    expect(methods("/v1/batches/{batch_id}")).toEqual(["get"]);
    expect(methods("/v1/batches/{batch_id}/cancel")).toEqual(["post"]);
    expect(methods("/v1/batch")).toEqual(["post"]);
    const ref = (schema: unknown) => (schema as { $ref?: string }).$ref;
    expect(doc.paths["/v1/files"]!["post"]!.requestBody!.content["multipart/form-data"]).toBeDefined();
    const schemaRef = (path: string, method: string) =>
      ref((doc.paths[path]![method]!.responses["200"]!.content!["application/json"] as unknown as { schema: unknown }).schema);
    expect(schemaRef("/v1/files", "post")).toBe("#/components/schemas/FileObject");
    expect(schemaRef("/v1/files", "get")).toBe("#/components/schemas/FileList");
    expect(schemaRef("/v1/batches", "post")).toBe("#/components/schemas/Batch");
    expect(schemaRef("/v1/batches", "get")).toBe("#/components/schemas/BatchList");
    expect(schemaRef("/v1/batch", "post")).toBe("#/components/schemas/Batch");
    const batch = doc.components["schemas"]!["Batch"] as { properties: Record<string, unknown>; required: string[] };
    expect(batch.required).toEqual(expect.arrayContaining(["id", "status", "request_counts", "usage", "output_file_id", "error_file_id"]));
    expect(doc.components["schemas"]!["BatchUsage"]).toMatchObject({
      properties: {
        input_tokens: expect.anything(),
        input_tokens_details: expect.anything(),
        output_tokens_details: expect.anything(),
        total_tokens: expect.anything(),
      },
    });
    for (const path of ["/v1/files", "/v1/batches", "/v1/batch"]) expect(doc.paths[path]!["post"]!.tags).toEqual(["batches"]);
  });
});

describe("GET /docs", () => {
  it("is Swagger UI from the gateway's own assets, under a CSP that allows nothing from another origin", async () => {
    const res = await createApp().request("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'; script-src 'self'");
    const html = await res.text();
    expect(html).toContain('<script src="/docs/vendor/swagger-ui-bundle.js"></script>');
    expect(html).toContain('<script src="/docs/init.js"></script>');
    expect(html).not.toMatch(/https?:\/\//);
  });
});

describe("GET /openapi.json: tenant events", () => {
  it("documents the payload tenants receive under webhooks, with billing's alert types and their data", async () => {
    const doc = (await document()) as Document & { webhooks?: Record<string, Record<string, Operation>> };
    expect(Object.keys(doc.webhooks ?? {})).toEqual(["tenant-event"]);
    const event = doc.components["schemas"]!["TenantEvent"] as { properties: Record<string, { enum?: string[]; properties?: Record<string, unknown> }> };
    expect(event.properties["type"]!.enum).toEqual(expect.arrayContaining(["batch.completed", "billing.budget_threshold", "billing.credits_low"]));
    expect(Object.keys(event.properties["data"]!.properties!)).toEqual(
      expect.arrayContaining(["id", "subject", "threshold_pct", "period", "budget_micros", "spend_micros", "balance_micros", "floor_micros"]),
    );
  });
});
