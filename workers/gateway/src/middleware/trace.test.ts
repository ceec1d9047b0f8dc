import { describe, expect, it } from "vitest";
import { traceContextOf, traceparentOf } from "../../../shared/src/trace-context";
import { createApp } from "../app";

describe("W3C traceparent", () => {
  const app = createApp();

  it("joins the client's trace: x-gateway-trace-id is its trace id, on every answer (errors too)", async () => {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    for (const path of ["/health", "/no/such/route"]) {
      const res = await app.request(path, { headers: { traceparent } });
      expect(res.headers.get("x-gateway-trace-id")).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    }
  });

  it("starts a new trace for a missing or invalid header", async () => {
    for (const traceparent of [
      undefined,
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
    ]) {
      const res = await app.request("/health", { headers: traceparent ? { traceparent } : {} });
      const id = res.headers.get("x-gateway-trace-id");
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(id).not.toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    }
  });

  it("carries the trace onward with the gateway's own span as the parent", () => {
    const t = traceContextOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    expect(t).toMatchObject({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", parentSpanId: "00f067aa0ba902b7", sampled: false });
    expect(traceparentOf(t)).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${t.spanId}-00`);
    expect(t.spanId).toMatch(/^[0-9a-f]{16}$/);
  });
});
