import { TestClock, testClockAllowed, type AdvanceClockResult, type ClockState } from "../../../shared/src/test-clock";
import { R2StreamWriter } from "../files/r2-writer";
import { fileKey, insertFile, newFileId } from "../files/store";
import {
  addLineUsage,
  emptyBatchUsage,
  ChunkMessageSchema,
  TERMINAL,
  type BatchEndpoint,
  type BatchObject,
  type BatchStatus,
  type ChunkMessage,
  type Claim,
  type LineResult,
} from "./model";
import { validateLines } from "./validate";
import type { TenantEventType } from "../../../shared/src/webhooks/events";
import { TenantEventEmitter } from "../webhooks/emitter";
import { errorMessage, log } from "../../../shared/src/log";

/**
 * One batch's state machine, counts and results: the logic of the `BatchCoordinator` Durable
 * Object (durable-objects/batch-coordinator.ts), one object per batch.
 *
 *   validating ─▶ in_progress ─▶ finalizing ─▶ completed
 *        │             ├──────────────────────▶ expired    (completion_window alarm: partial output + batch_expired lines)
 *        │             └─▶ cancelling ────────▶ cancelled  (in-flight lines finish and are kept)
 *        └─▶ failed (validation errors, naming every line) / cancelled
 *
 * Everything lives in the object's SQLite storage (state in KV, lines/results/claims in tables),
 * so a restarted object continues where it was. Each line's result is recorded once
 * (`INSERT OR IGNORE` on the line number, counted only when inserted): a redelivered Queue
 * message, a consumer retried after failing mid-chunk or two consumers racing on one chunk cannot
 * add a second output line. The line's request id is derived from the batch id and line number
 * (model.ts `lineRequestId`), so the usage of a line that did run twice is billed once.
 */

/** Lines per Queue message: a reference (line range + byte range), never the bodies. */
export const CHUNK_LINES = 50;
/** Messages per `sendBatch` call (the Queue's own limit). */
const SEND_BATCH = 100;
/** Cancelling waits this long for in-flight chunks to report, then finishes without them (a crashed consumer). */
export const CANCEL_GRACE_MS = 60_000;
const WINDOW_SECONDS = 24 * 60 * 60;

interface State {
  batch: BatchObject;
  tenantId: string;
  keyId: string;
  models: string[] | null;
  inputKey: string;
  /** The chunks are on the Queue (a crash before this re-sends them; duplicates are harmless). */
  enqueued: boolean;
  /** The terminal status being written (set before the files are assembled, so a restart finishes it). */
  finishing: "completed" | "expired" | "cancelled" | null;
  /** File ids chosen before assembly, so a retried assembly overwrites the same files. */
  outputFileId: string | null;
  errorFileId: string | null;
  /** The terminal hook ran (#onTerminal). */
  notified: boolean;
}

export interface CreateBatch {
  id: string;
  tenantId: string;
  keyId: string;
  models: string[] | null;
  endpoint: BatchEndpoint;
  inputFileId: string;
  metadata: Record<string, string> | null;
}

export interface CoordinatorEnv {
  TAIL_DB: D1Database;
  FILES: R2Bucket;
  BATCH_REQUESTS: Queue;
  ENVIRONMENT?: string;
  TEST_CLOCK?: string;
  /** Test stack only (honoured with the test clock's vars): a completion window shorter than 24 h, in seconds. */
  TEST_BATCH_WINDOW_SECONDS?: string;
  /** Tenant webhooks: the batch's terminal event is queued here (webhooks/emitter.ts). */
  WEBHOOKS: Queue;
}

/** Terminal statuses and the tenant webhook event each sends. */
const TERMINAL_EVENTS: Partial<Record<BatchStatus, TenantEventType>> = {
  completed: "batch.completed",
  failed: "batch.failed",
  expired: "batch.expired",
  cancelled: "batch.cancelled",
};
/** When queuing a terminal event fails, the hook is tried again this much later (from the alarm). */
const NOTIFY_RETRY_MS = 30_000;

const STATE = "state";
const CLOCK = "test-clock";

export class BatchRun {
  readonly #storage: DurableObjectStorage;
  readonly #env: CoordinatorEnv;
  readonly #clock: TestClock;
  #state: State | null;
  /** The status the D1 listing row was last written with: D1 is written on transitions, not per recorded chunk. */
  #listed: string | null = null;

  constructor(storage: DurableObjectStorage, env: CoordinatorEnv) {
    this.#storage = storage;
    this.#env = env;
    const allowed = testClockAllowed(env);
    this.#clock = new TestClock(allowed, allowed ? (storage.kv.get<ClockState>(CLOCK) ?? null) : null);
    storage.sql.exec(`CREATE TABLE IF NOT EXISTS lines (line INTEGER PRIMARY KEY, custom_id TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS results (line INTEGER PRIMARY KEY, ok INTEGER NOT NULL, status INTEGER, request_id TEXT, body TEXT, error_code TEXT, error_message TEXT);
      CREATE TABLE IF NOT EXISTS claims (first_line INTEGER PRIMARY KEY, last_line INTEGER NOT NULL, at INTEGER NOT NULL);`);
    this.#state = storage.kv.get<State>(STATE) ?? null;
  }

  get batch(): BatchObject | null {
    return this.#state?.batch ?? null;
  }

  /** Creates the batch (idempotent: a second call returns the first one) and starts validation from an alarm. */
  async create(init: CreateBatch): Promise<BatchObject> {
    if (this.#state) return this.#state.batch;
    const now = this.#seconds();
    const windowSeconds =
      testClockAllowed(this.#env) && Number(this.#env.TEST_BATCH_WINDOW_SECONDS) > 0 ? Number(this.#env.TEST_BATCH_WINDOW_SECONDS) : WINDOW_SECONDS;
    const batch: BatchObject = {
      id: init.id,
      object: "batch",
      endpoint: init.endpoint,
      errors: null,
      input_file_id: init.inputFileId,
      completion_window: "24h",
      status: "validating",
      output_file_id: null,
      error_file_id: null,
      created_at: now,
      in_progress_at: null,
      expires_at: now + windowSeconds,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      usage: emptyBatchUsage(),
      metadata: init.metadata,
    };
    this.#state = {
      batch,
      tenantId: init.tenantId,
      keyId: init.keyId,
      models: init.models,
      inputKey: fileKey(init.tenantId, init.inputFileId),
      enqueued: false,
      finishing: null,
      outputFileId: null,
      errorFileId: null,
      notified: false,
    };
    await this.#save();
    await this.#storage.setAlarm(Date.now());
    return batch;
  }

  /** The alarm: validation, the completion window, a cancel's grace period, or an interrupted finalisation. */
  async alarm(): Promise<void> {
    const s = this.#state;
    if (!s) return;
    if (s.finishing) return this.#finish(s.finishing);
    switch (s.batch.status) {
      case "validating":
        return this.#validate();
      case "in_progress":
        if (!s.enqueued) await this.#enqueue();
        if (this.#clock.now() >= s.batch.expires_at * 1000) return this.#finish("expired");
        return this.#storage.setAlarm(s.batch.expires_at * 1000);
      case "cancelling":
        return this.#finish("cancelled");
      default:
        if (!s.notified) return this.#notify();
    }
  }

  /** A consumer is about to run lines `first..last`: which of them still need a result, and as whom. */
  claim(first: number, last: number): Claim {
    const s = this.#state;
    if (!s || s.batch.status !== "in_progress" || s.finishing) return { run: false };
    const pending = this.#storage.sql
      .exec<{ line: number; custom_id: string }>(
        "SELECT l.line, l.custom_id FROM lines l LEFT JOIN results r ON r.line = l.line WHERE l.line BETWEEN ?1 AND ?2 AND r.line IS NULL ORDER BY l.line",
        first,
        last,
      )
      .toArray()
      .map((r) => ({ line: r.line, customId: r.custom_id }));
    if (pending.length > 0) this.#storage.sql.exec("INSERT OR REPLACE INTO claims (first_line, last_line, at) VALUES (?1, ?2, ?3)", first, last, Date.now());
    return { run: true, tenantId: s.tenantId, keyId: s.keyId, endpoint: s.batch.endpoint, inputKey: s.inputKey, pending };
  }

  /** Records results of lines `first..last` (each line once), then finishes the batch if it is done. */
  async record(first: number, last: number, results: LineResult[], releaseClaim = true): Promise<BatchObject | null> {
    const s = this.#state;
    if (!s) return null;
    if (TERMINAL.includes(s.batch.status) || s.finishing) return s.batch;
    for (const r of results) {
      if (r.line < first || r.line > last) continue;
      const known = this.#storage.sql.exec("SELECT 1 FROM lines WHERE line = ?1", r.line).toArray().length > 0;
      if (!known) continue;
      const cursor =
        "response" in r
          ? this.#storage.sql.exec(
              "INSERT OR IGNORE INTO results (line, ok, status, request_id, body) VALUES (?1, ?2, ?3, ?4, ?5)",
              r.line,
              r.response.status_code < 400 ? 1 : 0,
              r.response.status_code,
              r.response.request_id,
              r.response.body,
            )
          : this.#storage.sql.exec(
              "INSERT OR IGNORE INTO results (line, ok, error_code, error_message) VALUES (?1, 0, ?2, ?3)",
              r.line,
              r.error.code,
              r.error.message,
            );
      if (cursor.rowsWritten > 0) {
        if ("response" in r && r.response.status_code < 400) s.batch.request_counts.completed++;
        else s.batch.request_counts.failed++;
        if ("response" in r) addLineUsage((s.batch.usage ??= emptyBatchUsage()), r.usage);
      }
    }
    if (releaseClaim) this.#storage.sql.exec("DELETE FROM claims WHERE first_line = ?1", first);
    const { completed, failed, total } = s.batch.request_counts;
    if (s.batch.status === "in_progress" && completed + failed >= total) {
      await this.#finish("completed");
    } else if (s.batch.status === "cancelling" && this.#openClaims() === 0) {
      await this.#finish("cancelled");
    } else {
      await this.#save();
    }
    return s.batch;
  }

  /** A chunk that ended in the dead-letter queue: its lines without a result become error lines, so the batch still finishes. */
  async failChunk(message: ChunkMessage, reason: string): Promise<void> {
    const s = this.#state;
    if (!s) return;
    const pending = this.#storage.sql
      .exec<{ line: number }>(
        "SELECT l.line FROM lines l LEFT JOIN results r ON r.line = l.line WHERE l.line BETWEEN ?1 AND ?2 AND r.line IS NULL",
        message.first_line,
        message.last_line,
      )
      .toArray();
    await this.record(
      message.first_line,
      message.last_line,
      pending.map((p) => ({ line: p.line, error: { code: "batch_line_failed", message: reason } })),
    );
  }

  /** `POST /v1/batches/{id}/cancel`: stops new lines now; lines already running finish and are kept. */
  async cancel(): Promise<{ ok: true; batch: BatchObject } | { ok: false; status: BatchStatus }> {
    const s = this.#state;
    if (!s) return { ok: false, status: "failed" };
    if (s.batch.status === "cancelling" || s.batch.status === "cancelled") return { ok: true, batch: s.batch };
    if (s.batch.status !== "validating" && s.batch.status !== "in_progress") return { ok: false, status: s.batch.status };
    s.batch.status = "cancelling";
    s.batch.cancelling_at = this.#seconds();
    if (this.#openClaims() === 0) {
      await this.#finish("cancelled");
    } else {
      await this.#save();
      await this.#storage.setAlarm(Date.now() + CANCEL_GRACE_MS);
    }
    return { ok: true, batch: s.batch };
  }

  /** Test stack only: moves this batch's clock (its completion window) forward, and expires it if that passed the window. */
  async advanceClock(ms: unknown): Promise<AdvanceClockResult> {
    const result = this.#clock.advance(ms);
    if (!result.ok) return result;
    this.#storage.kv.put(CLOCK, result.state);
    const s = this.#state;
    if (s && s.batch.status === "in_progress" && !s.finishing && this.#clock.now() >= s.batch.expires_at * 1000) await this.#finish("expired");
    return result;
  }

  #openClaims(): number {
    return this.#storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM claims").one().n;
  }

  #seconds(): number {
    return Math.floor(this.#clock.now() / 1000);
  }

  async #validate(): Promise<void> {
    const s = this.#state!;
    const object = await this.#env.FILES.get(s.inputKey);
    const result = object
      ? await validateLines(object.body, s.batch.endpoint, s.models)
      : { lines: [], errors: [{ code: "file_not_found", message: "The input file no longer exists.", param: "input_file_id", line: null }] };
    if (this.#state!.batch.status !== "validating") return; // cancelled meanwhile
    if (result.errors.length > 0) {
      s.batch.status = "failed";
      s.batch.failed_at = this.#seconds();
      s.batch.errors = { object: "list", data: result.errors };
      await this.#save();
      return this.#notify();
    }
    this.#storage.transactionSync(() => {
      for (const l of result.lines) this.#storage.sql.exec("INSERT OR IGNORE INTO lines (line, custom_id) VALUES (?1, ?2)", l.line, l.customId);
    });
    s.batch.request_counts.total = result.lines.length;
    s.batch.status = "in_progress";
    s.batch.in_progress_at = this.#seconds();
    // The chunks to send, as line and byte ranges: kept until they are on the Queue.
    const chunks: ChunkMessage[] = [];
    for (let i = 0; i < result.lines.length; i += CHUNK_LINES) {
      const group = result.lines.slice(i, i + CHUNK_LINES);
      const a = group[0]!;
      const b = group.at(-1)!;
      chunks.push({
        v: 1,
        batch_id: s.batch.id,
        file_id: s.batch.input_file_id,
        first_line: a.line,
        last_line: b.line,
        offset: a.offset,
        length: b.offset + b.length - a.offset,
      });
    }
    this.#storage.kv.put("chunks", chunks);
    await this.#save();
    await this.#enqueue();
    await this.#storage.setAlarm(s.batch.expires_at * 1000);
  }

  async #enqueue(): Promise<void> {
    const s = this.#state!;
    const chunks = (this.#storage.kv.get<ChunkMessage[]>("chunks") ?? []).map((c) => ChunkMessageSchema.parse(c));
    for (let i = 0; i < chunks.length; i += SEND_BATCH) {
      await this.#env.BATCH_REQUESTS.sendBatch(chunks.slice(i, i + SEND_BATCH).map((body) => ({ body, contentType: "json" as const })));
    }
    s.enqueued = true;
    this.#storage.kv.delete("chunks");
    await this.#save();
  }

  /**
   * Ends the batch: expired lines get `batch_expired` error lines, the output and error files are
   * assembled into R2 from the recorded results (in line order), then the terminal status is set.
   * Safe to re-run after a crash: the file ids were chosen first and the writes overwrite.
   */
  async #finish(kind: "completed" | "expired" | "cancelled"): Promise<void> {
    const s = this.#state!;
    if (TERMINAL.includes(s.batch.status)) return;
    if (!s.finishing) {
      s.finishing = kind;
      s.outputFileId = newFileId();
      s.errorFileId = newFileId();
      if (kind === "completed") {
        s.batch.status = "finalizing";
        s.batch.finalizing_at = this.#seconds();
      }
      await this.#save();
    }
    if (kind === "expired") {
      const unfinished = this.#storage.sql
        .exec<{ line: number }>("SELECT l.line FROM lines l LEFT JOIN results r ON r.line = l.line WHERE r.line IS NULL")
        .toArray();
      for (const u of unfinished) {
        const written = this.#storage.sql.exec(
          "INSERT OR IGNORE INTO results (line, ok, error_code, error_message) VALUES (?1, 0, 'batch_expired', 'This request could not be executed before the completion window expired.')",
          u.line,
        ).rowsWritten;
        if (written > 0) s.batch.request_counts.failed++;
      }
    }
    const files = await this.#assemble(s);
    s.batch.output_file_id = files.output;
    s.batch.error_file_id = files.error;
    s.batch.status = kind;
    const now = this.#seconds();
    if (kind === "completed") s.batch.completed_at = now;
    else if (kind === "expired") s.batch.expired_at = now;
    else s.batch.cancelled_at = now;
    s.finishing = null;
    await this.#storage.deleteAlarm();
    await this.#save();
    await this.#notify();
  }

  async #assemble(s: State): Promise<{ output: string | null; error: string | null }> {
    const encoder = new TextEncoder();
    const suffix = s.batch.id.replace(/^batch_/, "");
    const writers: { output: R2StreamWriter | null; error: R2StreamWriter | null } = { output: null, error: null };
    const writerFor = (which: "output" | "error") =>
      (writers[which] ??= new R2StreamWriter(this.#env.FILES, fileKey(s.tenantId, which === "output" ? s.outputFileId! : s.errorFileId!), {
        limit: Number.MAX_SAFE_INTEGER,
        put: { httpMetadata: { contentType: "application/jsonl" } },
      }));
    const rows = this.#storage.sql.exec<{
      line: number;
      custom_id: string;
      ok: number;
      status: number | null;
      request_id: string | null;
      body: string | null;
      error_code: string | null;
      error_message: string | null;
    }>(
      "SELECT r.line, l.custom_id, r.ok, r.status, r.request_id, r.body, r.error_code, r.error_message FROM results r JOIN lines l ON l.line = r.line ORDER BY r.line",
    );
    for (const r of rows) {
      const out = {
        id: `batch_req_${suffix}_${r.line}`,
        custom_id: r.custom_id,
        response: r.status === null ? null : { status_code: r.status, request_id: r.request_id, body: parseBody(r.body) },
        error: r.error_code === null ? null : { code: r.error_code, message: r.error_message },
      };
      await writerFor(r.ok === 1 ? "output" : "error").write(encoder.encode(JSON.stringify(out) + "\n"));
    }
    const createdAt = this.#seconds();
    const done: { output: string | null; error: string | null } = { output: null, error: null };
    for (const which of ["output", "error"] as const) {
      const writer = writers[which];
      if (!writer) continue;
      const bytes = await writer.close();
      const id = which === "output" ? s.outputFileId! : s.errorFileId!;
      await insertFile(this.#env.TAIL_DB, {
        id,
        tenantId: s.tenantId,
        keyId: s.keyId,
        bytes,
        filename: `${s.batch.id}_${which}.jsonl`,
        purpose: "batch_output",
        createdAt,
      }).run();
      done[which] = id;
    }
    return done;
  }

  /**
   * The one place a batch reaches a terminal status (completed, failed, expired, cancelled), called
   * once per batch after the state is saved (again after a restart that interrupted it).
   * Tenant webhooks (`batch.completed`, `batch.failed`, `batch.expired`, `batch.cancelled`) are
   * sent from here: this is where their delivery is enqueued.
   */
  async #onTerminal(batch: BatchObject, tenantId: string): Promise<boolean> {
    log.info("tail", "batch finished", { op: "batch", tenantId, detail: batch.id, code: batch.status });
    const type = TERMINAL_EVENTS[batch.status];
    if (!type) return true;
    // The batch id is the de-duplication key: a batch ends once, so a hook that runs again (a
    // restart between the emit and `notified` being saved) emits the same event id.
    try {
      const emitted = await new TenantEventEmitter(this.#env).emit({ tenant_id: tenantId, type, data: { id: batch.id }, dedupe_key: batch.id });
      if (emitted.ok) return true;
      log.error("tail", "batch webhook event refused", { op: "batch", tenantId, detail: batch.id, message: emitted.error.message });
      return true; // a refused event (invalid input) would be refused again: not retried
    } catch (err) {
      log.error("tail", "batch webhook event not queued; retried", { op: "batch", tenantId, detail: batch.id, message: errorMessage(err) });
      return false;
    }
  }

  async #notify(): Promise<void> {
    const s = this.#state!;
    if (s.notified) return;
    if (!(await this.#onTerminal(s.batch, s.tenantId))) {
      // D1 or the Queue failed: the alarm's terminal branch runs the hook again.
      await this.#storage.setAlarm(Date.now() + NOTIFY_RETRY_MS);
      return;
    }
    s.notified = true;
    await this.#save();
  }

  async #save(): Promise<void> {
    const s = this.#state!;
    this.#storage.kv.put(STATE, s);
    const listed = `${s.batch.status}:${s.batch.output_file_id}:${s.batch.error_file_id}`;
    if (listed === this.#listed) return;
    await this.#env.TAIL_DB.prepare(
      `INSERT INTO batches (id, tenant_id, key_id, created_at, status, input_file_id, output_file_id, error_file_id, object)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
       ON CONFLICT(id) DO UPDATE SET status = excluded.status, output_file_id = excluded.output_file_id,
         error_file_id = excluded.error_file_id, object = excluded.object`,
    )
      .bind(
        s.batch.id,
        s.tenantId,
        s.keyId,
        s.batch.created_at,
        s.batch.status,
        s.batch.input_file_id,
        s.batch.output_file_id,
        s.batch.error_file_id,
        JSON.stringify(s.batch),
      )
      .run();
    this.#listed = listed;
  }
}

function parseBody(body: string | null): unknown {
  if (body === null) return null;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
