import { describe, expect, it, vi } from "vitest";
import { MAX_LC_TAGS } from "../../../shared/src/contracts/langchain";
import { logDroppedLabels, parseCorrelation } from "./correlation";

const RUN = "6f1c1f7e-0b8a-4d0e-9a57-3f1d5d0c2a11";
const PARENT = "0d3c9a52-57a1-4d69-a2b2-6c5f0e3e9b10";
const ROOT = "a9e3c2b1-1111-4a4a-8b8b-2c2c2c2c2c2c";
/** LangSmith's dotted-order segment: UTC timestamp with microseconds, then the run id. */
const seg = (id: string) => `20261206T061500123001Z${id}`;

const parse = (h: Record<string, string>) => parseCorrelation(new Headers(h));

describe("parseCorrelation", () => {
  it("reads the x-lc-* headers", () => {
    const { correlation, dropped } = parse({
      "x-lc-run-id": RUN,
      "x-lc-parent-run-id": PARENT,
      "x-lc-session-id": "thread 42",
      "x-lc-tags": " rag, prod ,rag,,eval",
      "x-lc-metadata": '{"user":"u1","n":3}',
    });
    expect(dropped).toEqual([]);
    expect(correlation).toEqual({
      run_id: RUN,
      parent_run_id: PARENT,
      session_id: "thread 42",
      project: null,
      tags: ["rag", "prod", "eval"],
      metadata: '{"user":"u1","n":3}',
    });
  });

  it("reads LangSmith's langsmith-trace (run = last segment, parent = the one before) and baggage", () => {
    const metadata = encodeURIComponent(JSON.stringify({ ls_team: "search" }));
    const { correlation, dropped } = parse({
      "langsmith-trace": [ROOT, PARENT, RUN].map(seg).join("."),
      baggage: `other=1,langsmith-metadata=${metadata},langsmith-tags=${encodeURIComponent("a,b")};prop=x,langsmith-project=${encodeURIComponent("my project")}`,
      "x-lc-tags": "b,c",
      "x-lc-metadata": '{"user":"u1"}',
    });
    expect(dropped).toEqual([]);
    expect(correlation).toEqual({
      run_id: RUN,
      parent_run_id: PARENT,
      session_id: null,
      project: "my project",
      tags: ["b", "c", "a"],
      metadata: JSON.stringify({ ls_team: "search", user: "u1" }),
    });
  });

  it("lets the explicit x-lc-* ids win over langsmith-trace", () => {
    const { correlation } = parse({ "langsmith-trace": [PARENT, RUN].map(seg).join("."), "x-lc-run-id": "mine", "x-lc-parent-run-id": "theirs" });
    expect(correlation).toMatchObject({ run_id: "mine", parent_run_id: "theirs" });
    // LangSmith's parent is the parent of LangSmith's run, not of another one.
    expect(parse({ "langsmith-trace": [PARENT, RUN].map(seg).join("."), "x-lc-run-id": "mine" }).correlation).toMatchObject({
      run_id: "mine",
      parent_run_id: null,
    });
  });

  it("drops what is malformed or over its bound, by header and reason only, and keeps the rest", () => {
    const secret = "sk-do-not-log-me";
    const { correlation, dropped } = parse({
      "x-lc-run-id": `bad id ${secret}`,
      "x-lc-parent-run-id": "x".repeat(129),
      "x-lc-session-id": "ok",
      "x-lc-metadata": JSON.stringify({ blob: "y".repeat(4096), secret }),
      "langsmith-trace": `not-a-dotted-order-${secret}`,
      baggage: "langsmith-metadata=%E0%A4%A",
      "x-lc-tags": Array.from({ length: MAX_LC_TAGS + 3 }, (_, i) => `t${i}`).join(","),
    });
    expect(correlation).toEqual({
      run_id: null,
      parent_run_id: null,
      session_id: "ok",
      project: null,
      tags: Array.from({ length: MAX_LC_TAGS }, (_, i) => `t${i}`),
      metadata: null,
    });
    expect(dropped.map((d) => d.header).sort()).toEqual(["baggage", "langsmith-trace", "x-lc-metadata", "x-lc-parent-run-id", "x-lc-run-id", "x-lc-tags"]);
    expect(JSON.stringify(dropped)).not.toContain(secret);
  });

  it("refuses metadata that is not a JSON object, and an empty request has no labels", () => {
    for (const bad of ["[1,2]", '"text"', "{oops", "null"]) {
      expect(parse({ "x-lc-metadata": bad }).correlation.metadata).toBeNull();
      expect(parse({ "x-lc-metadata": bad }).dropped).toEqual([{ header: "x-lc-metadata", reason: expect.any(String) }]);
    }
    expect(parse({})).toEqual({
      correlation: { run_id: null, parent_run_id: null, session_id: null, project: null, tags: [], metadata: null },
      dropped: [],
    });
  });
});

describe("logDroppedLabels", () => {
  it("logs one line per request naming each dropped header and why, never its value; nothing when nothing was dropped", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const secret = "tenant-secret-label";
      const { dropped } = parse({ "x-lc-run-id": `${secret} !`, "x-lc-metadata": `{"k":"${secret}"` });
      logDroppedLabels("req_1", dropped);
      logDroppedLabels("req_2", []);
      expect(warn).toHaveBeenCalledTimes(1);
      const line = String(warn.mock.calls[0]![0]);
      expect(JSON.parse(line)).toEqual({
        level: "warn",
        service: "gateway",
        event: "correlation headers dropped",
        requestId: "req_1",
        count: 2,
        detail: "x-lc-metadata: metadata is not JSON; x-lc-run-id: invalid",
      });
      expect(line).not.toContain(secret);
    } finally {
      warn.mockRestore();
    }
  });
});
