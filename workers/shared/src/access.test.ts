import { describe, expect, it } from "vitest";
import { assertModelAllowed, globCovers, globMatch, modelAllowed, requireScope } from "./access";
import { ApiError } from "./errors";

describe("model globs", () => {
  it("matches * across any characters, including /, and nothing else specially", () => {
    expect(globMatch("gpt-4o*", "gpt-4o-mini")).toBe(true);
    expect(globMatch("gpt-4o*", "gpt-4")).toBe(false);
    expect(globMatch("openai/*", "openai/gpt-4o")).toBe(true);
    expect(globMatch("*", "anything/at:all")).toBe(true);
    expect(globMatch("*-mini", "gpt-4o-mini")).toBe(true);
    expect(globMatch("gpt-4.1", "gpt-441")).toBe(false); // '.' is literal
    expect(globMatch("gpt-4o", "GPT-4O")).toBe(false); // case-sensitive
    expect(globMatch("a?c", "abc")).toBe(false); // '?' is literal
  });

  it("globCovers: a child pattern is covered only if everything it matches the parent matches", () => {
    expect(globCovers("openai/*", "openai/gpt-4o*")).toBe(true);
    expect(globCovers("openai/*", "*")).toBe(false);
    expect(globCovers("gpt-4o*", "gpt-4o-mini")).toBe(true);
    expect(globCovers("gpt-4o-mini", "gpt-4o*")).toBe(false);
  });

  it("modelAllowed: null allows every model; a list allows what any pattern matches", () => {
    expect(modelAllowed({ models: null }, "x")).toBe(true);
    expect(modelAllowed({ models: ["a*", "b"] }, "b")).toBe(true);
    expect(modelAllowed({ models: ["a*", "b"] }, "c")).toBe(false);
    expect(modelAllowed({ models: [] }, "a")).toBe(false);
  });
});

describe("access errors", () => {
  it("requireScope throws 403 permission_denied naming the scope", () => {
    expect(() => requireScope({ scopes: ["chat"] }, "chat")).not.toThrow();
    try {
      requireScope({ scopes: ["chat"] }, "embeddings");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).status).toBe(403);
      expect((e as ApiError).code).toBe("permission_denied");
      expect((e as ApiError).message).toContain("embeddings");
    }
  });

  it("assertModelAllowed throws 403 model_not_allowed with param model", () => {
    expect(() => assertModelAllowed({ models: ["gpt-*"] }, "gpt-4o")).not.toThrow();
    try {
      assertModelAllowed({ models: ["gpt-*"] }, "claude-3");
      expect.unreachable();
    } catch (e) {
      expect((e as ApiError).toInit()).toMatchObject({ status: 403, code: "model_not_allowed", param: "model" });
    }
  });
});
