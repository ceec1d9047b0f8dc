import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ApiError, errorResponse } from "./errors";
import { paramPath, validationError } from "./validation";

describe("errorResponse", () => {
  it("renders OpenAI's error shape with the status of its code and the request id", async () => {
    const res = errorResponse({ code: "model_not_found", message: "The model `x` does not exist.", param: "model" }, "req_1");
    expect(res.status).toBe(404);
    expect(res.headers.get("x-request-id")).toBe("req_1");
    expect(await res.json()).toEqual({
      error: { message: "The model `x` does not exist.", type: "invalid_request_error", param: "model", code: "model_not_found" },
    });
  });

  it("lets an explicit status override the code's (an upstream 400 stays 400)", async () => {
    expect(new ApiError({ code: "upstream_error", message: "bad", status: 400 }).status).toBe(400);
    const res = errorResponse({ code: "insufficient_quota", message: "q" });
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ error: { message: "q", type: "insufficient_quota", param: null, code: "insufficient_quota" } });
  });
});

describe("validationError", () => {
  const schema = z
    .object({ model: z.string(), messages: z.array(z.object({ role: z.string() }).strict()), n: z.number().int().min(1).max(128).optional() })
    .strict();

  it("names a missing parameter", () => {
    const r = schema.safeParse({ messages: [] });
    expect(validationError(r.error!)).toMatchObject({ code: "invalid_request", param: "model", message: "Missing required parameter: 'model'." });
  });

  it("names a nested parameter the way OpenAI does", () => {
    const r = schema.safeParse({ model: "m", messages: [{ role: 1 }] });
    expect(validationError(r.error!).param).toBe("messages[0].role");
  });

  it("names an unknown key itself", () => {
    const r = schema.safeParse({ model: "m", messages: [], bogus: 1 });
    expect(validationError(r.error!)).toMatchObject({ param: "bogus", message: "Unrecognized request argument supplied: 'bogus'." });
  });

  it("names an out-of-range value", () => {
    const r = schema.safeParse({ model: "m", messages: [], n: 500 });
    expect(validationError(r.error!).param).toBe("n");
  });

  it("paramPath handles the root", () => {
    expect(paramPath([])).toBeNull();
  });
});
