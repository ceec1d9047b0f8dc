import { describe, expect, it } from "vitest";
import { ExactJsonError, JsonNumber, parseExactJson, scaleDecimal } from "./exact-json";

describe("parseExactJson", () => {
  it("keeps numbers as their decimal text and objects as maps", () => {
    const doc = parseExactJson('{"gpt-4o": {"input_cost_per_token": 2.5e-06, "mode": "chat", "tags": [1, true, null, "a\\"b"]}, "__proto__": {}}');
    expect(doc).toBeInstanceOf(Map);
    const entry = (doc as Map<string, unknown>).get("gpt-4o") as Map<string, unknown>;
    expect(entry.get("input_cost_per_token")).toEqual(new JsonNumber("2.5e-06"));
    expect(entry.get("mode")).toBe("chat");
    expect(entry.get("tags")).toEqual([new JsonNumber("1"), true, null, 'a"b']);
    expect((doc as Map<string, unknown>).get("__proto__")).toEqual(new Map());
  });

  it("refuses text that is not JSON, naming the offset, and nesting past the bound", () => {
    for (const bad of ["{", '{"a" 1}', "[1,]", "01", '{"a":1} x', '"unterminated']) expect(() => parseExactJson(bad)).toThrow(ExactJsonError);
    expect(() => parseExactJson("[[[1]]]", 2)).toThrow(/nesting deeper than 2/);
    expect(() => parseExactJson('{"a": tru}')).toThrow(/offset 6/);
  });
});

describe("scaleDecimal", () => {
  it("multiplies by a power of ten exactly, on the text", () => {
    // USD per token → µ$ per 1M tokens (× 10^12)
    expect(scaleDecimal("2.5e-06", 12)).toEqual({ value: 2_500_000, exact: true });
    expect(scaleDecimal("0.000015", 12)).toEqual({ value: 15_000_000, exact: true });
    expect(scaleDecimal("5.46875e-07", 12)).toEqual({ value: 546_875, exact: true });
    // In floats 1e-09 × 1e12 is 1000.0000000000001, which rounded up would be 1001.
    expect(scaleDecimal("1e-09", 12)).toEqual({ value: 1000, exact: true });
    expect(scaleDecimal("8e-09", 12)).toEqual({ value: 8000, exact: true });
    expect(scaleDecimal("3E-7", 12)).toEqual({ value: 300_000, exact: true });
    expect(scaleDecimal("0", 12)).toEqual({ value: 0, exact: true });
    expect(scaleDecimal("0.0", 12)).toEqual({ value: 0, exact: true });
  });

  it("rounds up what is finer than the unit, and refuses negatives and unsafe sizes", () => {
    expect(scaleDecimal("1.5e-13", 12)).toEqual({ value: 1, exact: false });
    expect(scaleDecimal("2.0000000000001e-06", 12)).toEqual({ value: 2_000_001, exact: false });
    expect(scaleDecimal("-1e-6", 12)).toBeNull();
    expect(scaleDecimal("1e300", 12)).toBeNull();
    expect(scaleDecimal("abc", 12)).toBeNull();
  });
});
