import { z } from "zod";
import { PrincipalTokenSchema } from "./principal";

/**
 * The gateway ↔ RateLimiter Durable Object contract (one RPC per request to acquire, one after the
 * response to settle). The object is named after the narrowest scope that sees every limit of the
 * request: `tenant:<id>` when the tenant has limits or a budget (its keys' counters live in the same
 * object, so key and tenant limits are checked and reserved atomically in one call), else
 * `key:<id>`. See durable-objects/rate-limiter.ts for the algorithm.
 */

/** Sliding window length of the per-minute limits. */
export const WINDOW_MS = 60_000;

/**
 * How long an unsettled lease holds its concurrency slot and budget reservation after its acquire
 * or last renewal. A request that crashed before settling frees its slot after this; a request
 * still running (a long stream) renews its lease every `LEASE_RENEW_MS`, so it never loses it.
 */
export const LEASE_TTL_MS = 10 * 60_000;
/** How often a running request renews its lease: requests shorter than this never renew. */
export const LEASE_RENEW_MS = LEASE_TTL_MS / 2;

export const SubjectIdSchema = z.string().regex(/^(key|tenant):[A-Za-z0-9_.:-]{1,128}$/);

export const SettleRequestSchema = z
  .object({
    leaseId: z.string().min(1).max(64),
    /** Actual tokens used (prompt + completion). */
    tokens: z.number().int().nonnegative(),
    /** Actual cost in micro-dollars. */
    costMicros: z.number().int().nonnegative(),
  })
  .strict();
export type SettleRequest = z.infer<typeof SettleRequestSchema>;

/** The most settlements one call carries (a gateway sends a fuller queue at once). */
export const MAX_SETTLEMENTS_PER_CALL = 256;
/**
 * How long a finished request's settlement waits in its gateway isolate for the next acquire to the
 * same object to carry it, before it is sent alone: a concurrency slot or an over-reservation of a
 * request that ended is given back at most this much later to requests of OTHER isolates (the
 * isolate's own next acquire carries it, so it always sees it). Less than a client's usual one-way
 * network time, so a client that sends its next request when the last one ends rarely notices.
 */
export const SETTLE_DELAY_MS = 25;

/** One subject's limits as currently configured (the gateway sends them with every acquire). */
export const SubjectLimitsSchema = z
  .object({
    id: SubjectIdSchema,
    rpm: z.number().int().positive().nullable(),
    tpm: z.number().int().positive().nullable(),
    maxConcurrency: z.number().int().positive().nullable(),
    /** Monthly budget in micro-dollars; null = no budget. */
    monthlyBudgetMicros: z.number().int().nonnegative().nullable(),
  })
  .strict();
export type SubjectLimits = z.infer<typeof SubjectLimitsSchema>;

export const AcquireRequestSchema = z
  .object({
    subjects: z.array(SubjectLimitsSchema).min(1).max(2),
    /** Tokens reserved against TPM: prompt estimate + completion upper bound. */
    tokens: z.number().int().nonnegative(),
    /** Worst-case cost in micro-dollars reserved against the monthly budget. */
    costMicros: z.number().int().nonnegative(),
    /**
     * The other object that holds the request's key counters when the tenant's limits change:
     * `key:<id>` when this is the tenant's object, `tenant:<id>` when this is the key's. A key's
     * month spend is handed over from there when it moves (see `ReleaseRequest`).
     */
    peer: SubjectIdSchema,
    /**
     * The request's principal token: the object shows it to billing when it must read a subject's
     * month spend (billing returns a tenant's spend only on a signed token of that tenant).
     */
    principalToken: PrincipalTokenSchema.optional(),
    /** Set when this object is a shard: the parent object it borrows quota from (see `SHARDS`). */
    parent: SubjectIdSchema.optional(),
    /**
     * Settlements of this isolate's finished requests held by this object, applied BEFORE the
     * decision (so a slot they free serves this request): one call instead of two per request.
     */
    settle: z.array(SettleRequestSchema).max(MAX_SETTLEMENTS_PER_CALL).optional(),
  })
  .strict();
export type AcquireRequest = z.infer<typeof AcquireRequestSchema>;

/**
 * Sharded limits (workers/rate-limiter/src/shard.ts): a subject whose every limit allows more than
 * one object can serve is counted by `SHARDS` shard objects named `<parent>/shard-<i>`, which
 * borrow blocks of quota from the parent object (`lend`) and repay what they used (`repay`). A
 * loan is valid for admissions for `LOAN_VALID_MS`; the parent places it in the window at its end.
 */
export const SHARDS = 4;
export const LOAN_VALID_MS = 1000;
/** Requests per minute from which a request's subjects are sharded (all of them at least this, no concurrency limit). */
export const SHARD_ABOVE_RPM = 60_000;

export const LendRequestSchema = AcquireRequestSchema.omit({ settle: true })
  .extend({
    /** How much the shard would like: requests, tokens, micro-dollars (the parent lends at most what is left). */
    want: z
      .object({ requests: z.number().int().positive().max(100_000), tokens: z.number().int().nonnegative(), micros: z.number().int().nonnegative() })
      .strict(),
  })
  .strict();
export type LendRequest = z.infer<typeof LendRequestSchema>;
/** What a shard may admit with a loan; null: no subject limits that axis. */
export interface Grant {
  requests: number;
  tokens: number | null;
  micros: number | null;
}
export type LendResult = { ok: true; loanId: string; grant: Grant; status: LimiterStatus } | Exclude<AcquireResult, { ok: true }>;

/** A shard gives a loan back: what it used of it (requests admitted, their tokens and cost, actual where settled). */
export const RepayRequestSchema = z
  .object({
    loanId: z.string().min(1).max(64),
    count: z.number().int().nonnegative(),
    tokens: z.number().int().nonnegative(),
    costMicros: z.number().int().nonnegative(),
  })
  .strict();
export type RepayRequest = z.infer<typeof RepayRequestSchema>;
export type RepayResult = { ok: true; known: boolean } | { ok: false; message: string };

/**
 * Settlements a gateway isolate sends to one object in one call: piggy-backed on its next acquire
 * there (`AcquireRequest.settle`), or alone (`SettleBatchRequest`) when no acquire comes within
 * `SETTLE_DELAY_MS` (see workers/gateway/src/limits/settlements.ts).
 */
export const SettleBatchRequestSchema = z.object({ settlements: z.array(SettleRequestSchema).min(1).max(MAX_SETTLEMENTS_PER_CALL) }).strict();
export type SettleBatchRequest = z.infer<typeof SettleBatchRequestSchema>;
/** `known`: how many of the leases the object knew (the others were settled already, or long expired). */
export type SettleBatchResult = { ok: true; known: number } | { ok: false; message: string };

/** A running request (a long stream) keeps its lease: its expiry moves to now + `LEASE_TTL_MS`. */
export const RenewRequestSchema = z.object({ leaseId: z.string().min(1).max(64) }).strict();
export type RenewRequest = z.infer<typeof RenewRequestSchema>;
/** `renewed: false`: the lease is not open any more (settled, or already expired). */
export type RenewResult = { ok: true; renewed: boolean } | { ok: false; message: string };

/**
 * An object gives up a subject's month spend and answers what it had spent or reserved, or null
 * if it did not hold it. Asked by the peer object when a key's counters move there (its tenant
 * gained or lost limits; null → the taker asks billing), and by the gateway when a budget is
 * removed (the subject's requests are no longer priced, or skip the limiter altogether).
 */
export const ReleaseRequestSchema = z.object({ subject: SubjectIdSchema, month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/) }).strict();
export type ReleaseRequest = z.infer<typeof ReleaseRequestSchema>;
export type ReleaseResult = { ok: true; micros: number | null } | { ok: false; message: string };

/** The state of one per-minute axis after the decision, for OpenAI's x-ratelimit-* headers. */
export interface AxisStatus {
  subject: string;
  limit: number;
  remaining: number;
  /** Milliseconds until the window is back to its full limit. */
  resetMs: number;
}

export type LimitKind = "requests" | "tokens" | "concurrency" | "budget";

export interface Refusal {
  kind: LimitKind;
  subject: string;
  limit: number;
  /** What is in use now (requests or tokens in the window, requests in flight, µ$ spent+reserved). */
  used: number;
  /** What this request asked for (1 request, N tokens, µ$ worst case). */
  requested: number;
  /** Milliseconds after which the same request can be admitted; null if waiting cannot help. */
  retryAfterMs: number | null;
}

export interface LimiterStatus {
  requests: AxisStatus | null;
  tokens: AxisStatus | null;
}

/** The limiter's decision on a well-formed request. */
export type AcquireDecision = { ok: true; leaseId: string; status: LimiterStatus } | { ok: false; refusal: Refusal; status: LimiterStatus };

export type AcquireResult =
  | AcquireDecision
  /** The request itself was malformed (a gateway bug): nothing was reserved. */
  | { ok: false; invalid: string }
  /** A budget applies but billing's month-to-date spend could not be read: nothing was reserved. */
  | { ok: false; unavailable: string };

export type SettleResult = { ok: true; known: boolean } | { ok: false; message: string };
