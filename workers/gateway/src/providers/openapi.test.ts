import { describe, expect, it } from "vitest";
import { createApp } from "../app";

describe("providers API in the OpenAPI document", () => {
  it("documents every providers and routes operation", () => {
    const doc = createApp().getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
    const ops = (path: string) => Object.keys(doc.paths?.[path] ?? {}).sort();
    expect(ops("/v1/providers")).toEqual(["get", "post"]);
    expect(ops("/v1/providers/{id}")).toEqual(["delete", "get", "patch"]);
    expect(ops("/v1/providers/{id}/rotate")).toEqual(["post"]);
    expect(ops("/v1/providers/{id}/test")).toEqual(["post"]);
    expect(ops("/v1/routes")).toEqual(["get", "post"]);
    expect(ops("/v1/routes/{id}")).toEqual(["delete", "get", "patch"]);
    expect(ops("/admin/credentials/rewrap")).toEqual(["post"]);
    const provider = doc.components?.schemas?.["Provider"] as { properties: Record<string, unknown> };
    expect(Object.keys(provider.properties)).not.toContain("api_key");
    expect(Object.keys(provider.properties)).toEqual(expect.arrayContaining(["last4", "rotated_at"]));
  });

  it("says what a provider's models mean, how to reach a local upstream, and what /test takes", () => {
    const doc = createApp().getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
    const schemas = doc.components?.schemas as Record<string, { properties: Record<string, { description?: string }> }>;
    for (const name of ["ProviderCreate", "ProviderUpdate"]) {
      expect(schemas[name]!.properties["models"]!.description).toMatch(/both what GET \/v1\/models lists .* and an allow-list/);
    }
    expect(doc.paths?.["/v1/providers"]?.post?.description).toContain('ALLOW_PRIVATE_UPSTREAMS = "true"');
    const test = doc.paths?.["/v1/providers/{id}/test"]?.post;
    expect(test?.requestBody).toMatchObject({ required: false, content: { "application/json": { schema: { $ref: "#/components/schemas/ProviderTest" } } } });
    expect(schemas["ProviderTest"]!.properties["model"]!.description).toContain("Default: the provider's first listed model");
  });
});
