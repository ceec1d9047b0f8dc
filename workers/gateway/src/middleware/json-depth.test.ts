import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "./json-depth";

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

describe("nestsDeeperThan", () => {
  it("counts arrays and objects, up to the limit and past it", () => {
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
    expect(nestsDeeperThan('{"a":{"b":[{"c":1}]}}', 4)).toBe(false);
    expect(nestsDeeperThan('{"a":{"b":[{"c":[1]}]}}', 4)).toBe(true);
  });

  it("measures depth, not the number of siblings", () => {
    expect(nestsDeeperThan(`[${Array(1000).fill("{}").join(",")}]`, 2)).toBe(false);
  });

  it("ignores brackets inside strings, escaped quotes included", () => {
    expect(nestsDeeperThan(`{"a":"${"[".repeat(100)}"}`, 1)).toBe(false);
    expect(nestsDeeperThan(`{"a":"\\"${"{".repeat(100)}\\\\"}`, 1)).toBe(false);
    // `\\\\"` is two escaped backslashes, then the closing quote: the brackets after it count.
    expect(nestsDeeperThan(`["\\\\\\\\", [[1]]]`, 2)).toBe(true);
  });

  it("leaves text that is not JSON to the parser", () => {
    expect(nestsDeeperThan('{"a":"unterminated', 1)).toBe(false);
    expect(nestsDeeperThan("", 1)).toBe(false);
  });
});
