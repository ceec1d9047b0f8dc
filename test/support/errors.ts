import { expect } from "vitest";

/** The one assertion that a raw HTTP answer is the gateway's OpenAI-style error (SDK failures: ./openai-sdk.ts). */

/**
 * Asserts an answer is the gateway's error: this status, OpenAI's error body
 * (`{"error":{"message","type","param","code"}}`) with this code, and an `x-request-id`.
 * Returns the error for further checks (e.g. its `param`).
 */
export async function expectError(res: Response, status: number, code: string): Promise<{ message: string; type: string; param: string | null; code: string }> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("x-request-id")).toMatch(/^req_/);
  const body = JSON.parse(text) as { error: { message: string; type: string; param: string | null; code: string } };
  expect(body.error).toMatchObject({ code, message: expect.any(String), type: expect.any(String) });
  expect(body.error).toHaveProperty("param");
  return body.error;
}
