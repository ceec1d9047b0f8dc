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
});
