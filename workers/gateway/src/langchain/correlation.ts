import {
  CorrelationSchema,
  MAX_LC_METADATA_BYTES,
  MAX_LC_METADATA_KEYS,
  MAX_LC_TAGS,
  ProjectSchema,
  RunIdSchema,
  SessionIdSchema,
  TagSchema,
  type Correlation,
} from "../../../shared/src/contracts/langchain";
import type { z } from "zod";
import { log } from "../../../shared/src/log";

/**
 * The correlation labels of a request to `/v1/langchain/...`, from its headers:
 *
 *   x-lc-run-id, x-lc-parent-run-id, x-lc-session-id   one id each
 *   x-lc-tags                                          comma-separated
 *   x-lc-metadata                                      a JSON object, ≤ 4 KB
 *   langsmith-trace                                    LangSmith's dotted order: the last segment's
 *                                                      run id is the run, the one before its parent
 *   baggage                                            W3C baggage with LangSmith's members
 *                                                      langsmith-metadata, -tags, -project
 *
 * Labels only: nothing is fetched or followed, and none of these headers goes upstream (the
 * gateway never forwards client headers it does not list). The explicit `x-lc-*` header wins over
 * LangSmith's for the same label (and an `x-lc-run-id` takes no parent from `langsmith-trace`);
 * tags of both are kept (first MAX_LC_TAGS, de-duplicated), metadata merged (x-lc-metadata wins).
 *
 * A header that is malformed or over its bound never refuses the request: it is dropped and
 * logged by name and reason, never by content (labels may carry anything a tenant put there).
 */

/** Largest `langsmith-trace` / `baggage` header read; longer ones are dropped whole. */
const MAX_TRACE_BYTES = 8_192;
/** Most dotted-order segments (nesting depth of LangSmith runs) read. */
const MAX_TRACE_SEGMENTS = 128;
/** Most baggage members looked at. */
const MAX_BAGGAGE_MEMBERS = 64;

/** One LangSmith dotted-order segment: a UTC timestamp (`20240101T000000000001Z`) and the run's UUID. */
const SEGMENT = /^\d{8}T\d{6,12}Z([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;

export interface DroppedLabel {
  header: string;
  reason: string;
}

/** Parses and bounds the labels; `dropped` lists what was refused (header and reason only). */
export function parseCorrelation(headers: Headers): { correlation: Correlation; dropped: DroppedLabel[] } {
  const dropped: DroppedLabel[] = [];
  const drop = (header: string, reason: string): null => {
    dropped.push({ header, reason });
    return null;
  };
  const one = <T>(header: string, schema: z.ZodType<T>): T | null => {
    const raw = headers.get(header);
    if (raw === null) return null;
    const parsed = schema.safeParse(raw.trim());
    return parsed.success ? parsed.data : drop(header, "invalid");
  };

  const trace = traceRuns(headers.get("langsmith-trace"), drop);
  const baggage = langsmithBaggage(headers.get("baggage"), drop);

  const lcMetadata = metadataObject(headers.get("x-lc-metadata"), "x-lc-metadata", drop);
  let metadata = lcMetadata;
  if (metadata && !fitsMetadata(metadata)) metadata = drop("x-lc-metadata", "metadata too large");
  if (baggage.metadata) {
    const merged = { ...baggage.metadata, ...(metadata ?? {}) };
    if (fitsMetadata(merged)) metadata = merged;
    else drop("baggage", "langsmith-metadata: merged metadata too large");
  }

  const tags: string[] = [];
  const addTags = (header: string, list: string[]) => {
    for (const raw of list) {
      const tag = raw.trim();
      if (tag === "") continue;
      if (!TagSchema.safeParse(tag).success) {
        drop(header, "invalid tag");
        continue;
      }
      if (tags.includes(tag)) continue;
      if (tags.length >= MAX_LC_TAGS) {
        drop(header, `more than ${MAX_LC_TAGS} tags`);
        return;
      }
      tags.push(tag);
    }
  };
  const lcTags = headers.get("x-lc-tags");
  if (lcTags !== null) {
    if (lcTags.length > MAX_TRACE_BYTES) drop("x-lc-tags", "too large");
    else addTags("x-lc-tags", lcTags.split(","));
  }
  addTags("baggage", baggage.tags);

  // A run and its parent come from one source: LangSmith's parent belongs to LangSmith's run.
  const lcRun = one("x-lc-run-id", RunIdSchema);
  const lcParent = one("x-lc-parent-run-id", RunIdSchema);
  const parsed = CorrelationSchema.safeParse({
    run_id: lcRun ?? trace.runId,
    parent_run_id: lcParent ?? (lcRun === null ? trace.parentRunId : null),
    session_id: one("x-lc-session-id", SessionIdSchema),
    project: baggage.project,
    tags,
    metadata: metadata ? JSON.stringify(metadata) : null,
  });
  // Every part was checked above; should the whole still fail its schema, the labels go, never the request.
  if (!parsed.success) return { correlation: CorrelationSchema.parse({}), dropped: [...dropped, { header: "*", reason: "labels invalid" }] };
  return { correlation: parsed.data, dropped };
}

/** The run and its parent from a dotted order: `<ts><uuid>.<ts><uuid>…`, the last segment being the run. */
function traceRuns(raw: string | null, drop: (h: string, r: string) => null): { runId: string | null; parentRunId: string | null } {
  const none = { runId: null, parentRunId: null };
  if (raw === null) return none;
  if (raw.length > MAX_TRACE_BYTES) return (drop("langsmith-trace", "too large"), none);
  const segments = raw.trim().split(".");
  if (segments.length > MAX_TRACE_SEGMENTS) return (drop("langsmith-trace", "too many segments"), none);
  const ids: string[] = [];
  for (const s of segments) {
    const m = SEGMENT.exec(s);
    if (!m) return (drop("langsmith-trace", "not a dotted order"), none);
    ids.push(m[1]!.toLowerCase());
  }
  return { runId: ids[ids.length - 1] ?? null, parentRunId: ids.length > 1 ? ids[ids.length - 2]! : null };
}

/** LangSmith's members of a W3C `baggage` header (values percent-encoded); other members are ignored. */
function langsmithBaggage(
  raw: string | null,
  drop: (h: string, r: string) => null,
): { metadata: Record<string, unknown> | null; tags: string[]; project: string | null } {
  const out = { metadata: null as Record<string, unknown> | null, tags: [] as string[], project: null as string | null };
  if (raw === null) return out;
  if (raw.length > MAX_TRACE_BYTES) return (drop("baggage", "too large"), out);
  const members = raw.split(",");
  for (const member of members.slice(0, MAX_BAGGAGE_MEMBERS)) {
    const eq = member.indexOf("=");
    if (eq < 0) continue;
    const key = member.slice(0, eq).trim();
    if (key !== "langsmith-metadata" && key !== "langsmith-tags" && key !== "langsmith-project") continue;
    // W3C properties follow the value after `;`.
    const value = decode(
      member
        .slice(eq + 1)
        .split(";")[0]!
        .trim(),
    );
    if (value === null) {
      drop("baggage", `${key}: not percent-encoded`);
      continue;
    }
    if (key === "langsmith-metadata") out.metadata = metadataObject(value, "baggage", drop);
    else if (key === "langsmith-tags") out.tags = value.split(",");
    else {
      const project = ProjectSchema.safeParse(value.trim());
      out.project = project.success ? project.data : drop("baggage", "langsmith-project: invalid");
    }
  }
  return out;
}

function decode(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

const encoder = new TextEncoder();

/** A JSON object within the metadata bounds, or null (dropped and logged). */
function metadataObject(raw: string | null, header: string, drop: (h: string, r: string) => null): Record<string, unknown> | null {
  if (raw === null) return null;
  // Cheap length check before parsing: more characters than bytes allowed is always too large.
  if (raw.length > MAX_LC_METADATA_BYTES || encoder.encode(raw).length > MAX_LC_METADATA_BYTES) return drop(header, "metadata too large");
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return drop(header, "metadata is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return drop(header, "metadata is not a JSON object");
  if (Object.keys(value).length > MAX_LC_METADATA_KEYS) return drop(header, "metadata has too many keys");
  return value as Record<string, unknown>;
}

function fitsMetadata(value: Record<string, unknown>): boolean {
  return Object.keys(value).length <= MAX_LC_METADATA_KEYS && encoder.encode(JSON.stringify(value)).length <= MAX_LC_METADATA_BYTES;
}

/** Logs what was dropped, by header name and reason only: never the value. */
export function logDroppedLabels(requestId: string, dropped: readonly DroppedLabel[]): void {
  if (dropped.length === 0) return;
  log.warn("gateway", "correlation headers dropped", { requestId, count: dropped.length, detail: dropped.map((d) => `${d.header}: ${d.reason}`).join("; ") });
}
