import { describe, expect, it } from "vitest";
import type { ApiErrorInit } from "../../../shared/src";
import { failurePolicy } from "./failure";

describe("failurePolicy", () => {
  it.each<[string, ApiErrorInit, { retrySame: boolean; tryNext: boolean; tripsCircuit: boolean }]>([
    ["a 5xx", { code: "upstream_error", message: "x" }, { retrySame: true, tryNext: true, tripsCircuit: true }],
    ["a 429", { code: "upstream_rate_limited", message: "x", headers: { "retry-after": "2" } }, { retrySame: true, tryNext: true, tripsCircuit: true }],
    ["a timeout", { code: "upstream_timeout", message: "x" }, { retrySame: true, tryNext: true, tripsCircuit: true }],
    [
      "exhausted quota",
      { code: "upstream_error", message: "x", headers: { "x-should-retry": "false" } },
      { retrySame: false, tryNext: true, tripsCircuit: false },
    ],
    ["rejected credentials", { code: "upstream_auth_error", message: "x" }, { retrySame: false, tryNext: true, tripsCircuit: false }],
    ["an undecryptable credential", { code: "internal_error", message: "x" }, { retrySame: false, tryNext: true, tripsCircuit: false }],
    ["the upstream's 400", { code: "invalid_request", message: "x", status: 400 }, { retrySame: false, tryNext: false, tripsCircuit: false }],
  ])("%s", (_name, error, expected) => {
    expect(failurePolicy(error)).toMatchObject(expected);
  });

  it("reads retry-after in milliseconds", () => {
    expect(failurePolicy({ code: "upstream_rate_limited", message: "x", headers: { "retry-after": "2" } }).retryAfterMs).toBe(2000);
    expect(failurePolicy({ code: "upstream_error", message: "x" }).retryAfterMs).toBeNull();
  });
});
