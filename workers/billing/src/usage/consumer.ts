import { billingAlerts } from "../alerts/sinks";
import { PriceStore, type VersionedBook } from "../prices/store";
import { decodeUsageMessage } from "./decode";
import { correlationStatements } from "./langchain";
import { insertStatements, priceEvent, ROWS_PER_INSERT, type ParsedUsageEvent, type PricedUsage } from "./record";
import { errorMessage, log } from "../../../shared/src/log";

/** Seconds before a batch that failed to reach D1 is redelivered: 2, 4, 8, … capped at 60. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(60, 2 ** Math.max(1, attempts));
}

/**
 * Rows per D1 batch (one transaction). A delivery holds up to 100 messages and a pack up to 100
 * events, so a delivery can carry 10,000 rows; they are written in transactions of at most this
 * many rows, so no single D1 call grows without bound.
 */
export const MAX_ROWS_PER_WRITE = 100 * ROWS_PER_INSERT;

/**
 * Consumes the `usage-events` Queue. A message is either a pack of events (what producers send:
 * shared/contracts/usage.ts) or, from before packs, a single event; one delivery may mix both.
 * Every event is validated, priced and written with multi-row idempotent INSERTs in D1 batches
 * (transactions) of at most MAX_ROWS_PER_WRITE rows; a message is acked once all its rows are
 * written.
 *
 * - An invalid message, or an invalid event inside a pack, can never become valid, so it is
 *   logged (by request id, if it has one) and skipped instead of being retried into the
 *   dead-letter queue; the pack's valid events are stored and the message acked.
 * - A pack of a newer version than this build knows is retried (see decode.ts), never dropped.
 * - If D1 fails, every message with a row not yet written is retried with backoff (the whole
 *   message: its written rows are skipped on redelivery); after `max_retries` (wrangler.toml) the
 *   Queue moves it to `usage-events-dlq`, so nothing accepted is silently lost.
 * - Redelivery is harmless: rows are keyed by request_id and inserted with ON CONFLICT DO NOTHING,
 *   and the monthly rollup trigger fires only for rows really inserted.
 *
 * Deploy billing before the producers when the message shape changes (scripts/workers.mjs deploys
 * billing first): an older consumer would drop a shape it does not know.
 */
export async function consumeUsageBatch(batch: MessageBatch<unknown>, env: BillingEnv, now = Date.now()): Promise<void> {
  const pending: { message: Message<unknown>; events: ParsedUsageEvent[] }[] = [];
  for (const message of batch.messages) {
    const decoded = decodeUsageMessage(message);
    if (decoded.action === "later") message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    else if (decoded.action === "drop" || decoded.events.length === 0) message.ack();
    else pending.push({ message, events: decoded.events });
  }
  if (pending.length === 0) return;

  const retryFrom = (index: number, err: unknown) => {
    const rest = pending.slice(index);
    log.error("billing", "usage batch not stored: will be retried", {
      op: "usage",
      count: rest.reduce((n, p) => n + p.events.length, 0),
      detail: `${rest.length} messages`,
      message: errorMessage(err),
    });
    for (const { message } of rest) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
  };

  let book: VersionedBook;
  try {
    book = await new PriceStore(env.BILLING_DB).versionedBook();
  } catch (err) {
    retryFrom(0, err);
    return;
  }

  // Messages in order; a write holds whole messages unless one alone exceeds MAX_ROWS_PER_WRITE.
  let rows: PricedUsage[] = [];
  /** Every row written by this delivery: the budgets and credits they touched are measured once all are stored. */
  const written: PricedUsage[] = [];
  /** Index in `pending` of the first message whose rows are not all written yet. */
  let firstUnwritten = 0;
  const ackUpTo = (end: number): void => {
    for (; firstUnwritten < end; firstUnwritten++) pending[firstUnwritten]!.message.ack();
  };
  const write = async (): Promise<void> => {
    // The LangChain labels of the same events go in the same transaction (idempotent alike).
    if (rows.length > 0) await env.BILLING_DB.batch([...insertStatements(env.BILLING_DB, rows, now), ...correlationStatements(env.BILLING_DB, rows)]);
    written.push(...rows);
    rows = [];
  };
  for (let i = 0; i < pending.length; i++) {
    const { events } = pending[i]!;
    try {
      if (rows.length > 0 && rows.length + events.length > MAX_ROWS_PER_WRITE) {
        await write();
        ackUpTo(i);
      }
      for (const event of events) {
        rows.push(priceEvent(event, book.book, book.versions));
        if (rows.length === MAX_ROWS_PER_WRITE) {
          await write();
          ackUpTo(i);
        }
      }
      // The write that just happened held this message's last row.
      if (rows.length === 0) ackUpTo(i + 1);
    } catch (err) {
      retryFrom(firstUnwritten, err);
      return;
    }
  }
  try {
    await write();
  } catch (err) {
    retryFrom(firstUnwritten, err);
    return;
  }
  ackUpTo(pending.length);
  // Alerts never hold usage back: the usage is stored and acked; an alert run that fails is logged,
  // and its undelivered alerts are retried by the next run (the outbox, alerts/alerts.ts).
  try {
    await billingAlerts(env).afterUsage(written);
  } catch (err) {
    log.error("billing", "billing alerts failed", { message: errorMessage(err) });
  }
}
