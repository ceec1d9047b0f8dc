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
