import { describe, expect, it } from "vitest";
import { createApp } from "../app";

describe("/v1/messages in the OpenAPI document", () => {
  it("documents the Anthropic-compatible endpoint with its request schema and Anthropic error shape", () => {
    const doc = createApp().getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
    const op = doc.paths?.["/v1/messages"]?.post as { requestBody?: unknown; responses: Record<string, { content?: Record<string, unknown> }> } | undefined;
    expect(op).toBeDefined();
    expect(JSON.stringify(op!.requestBody)).toContain("CreateMessageRequest");
    expect(Object.keys(op!.responses)).toEqual(expect.arrayContaining(["200", "400", "401", "429", "502"]));
    expect(JSON.stringify(op!.responses["401"])).toContain("AnthropicError");
    const schema = doc.components?.schemas?.["CreateMessageRequest"] as { required?: string[] };
    expect(schema.required).toEqual(expect.arrayContaining(["model", "max_tokens", "messages"]));
  });
});
