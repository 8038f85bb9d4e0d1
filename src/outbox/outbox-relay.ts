/**
 * The outbox relay: claims due entries, performs their side effect (BullMQ dispatch or a Discord
 * notice), and marks them done. Claims take a lease with `FOR UPDATE SKIP LOCKED`, so several
 * relays, in one process or many, never take the same entry at once, and an entry whose relay died
 * is taken over when its lease runs out. A failed attempt is retried with backoff and jitter and
 * recorded on the row with its error; an error the notifier marks as permanent abandons the entry.
 */
import type { Orm } from "../database";
import type { JsonObject } from "../domain/inputs";
import { JobEntity, type OutboxEntryEntity, type OutboxKind } from "../entities";
import type { JobNotice } from "../herald/notice";
import type { JobService } from "../jobs/job-service";
import type { Logger } from "../logger";
import { backoffDelayMs } from "./backoff";
import type { QueueDispatcher } from "./queue-dispatcher";

export interface Notifier {
  send(notice: JobNotice): Promise<void>;
  /** True for an error that retrying cannot fix, such as a deleted webhook. */
  isPermanent(error: unknown): boolean;
}

export interface OutboxRelayOptions {
  batchSize: number;
  leaseMs: number;
  pollIntervalMs: number;
  baseBackoffMs?: number;
  maxBackoffMs: number;
  /** Age after which the relay deletes a processed entry. It looks for such entries once a minute. */
  retentionSeconds: number;
  logger: Logger;
  /** Receives the outcome of every attempt, for metrics. */
  onAttempt?: (kind: OutboxKind, outcome: "done" | "retry" | "abandoned") => void;
}

interface ClaimedEntry {
  id: string;
  kind: OutboxKind;
  job_id: string;
  payload: JsonObject;
  attempts: number;
}

const CLAIM_DUE = `
  update outbox set locked_until = now() + make_interval(secs => ?::double precision / 1000), attempts = attempts + 1
  where id in (
    select id from outbox
    where processed_at is null and abandoned_at is null and available_at <= now()
      and (locked_until is null or locked_until < now())
    order by available_at, id
    limit ? for update skip locked)
  returning id, kind, job_id, payload, attempts`;

/** How often the relay deletes processed entries past their retention. */
const PURGE_INTERVAL_MS = 60_000;
/** Entries deleted per statement, so that no statement locks many rows at once. */
const PURGE_BATCH_SIZE = 1000;
/** Batches per purge, so a larger backlog waits for the next purges. */
const PURGE_MAX_BATCHES = 20;

const PURGE_PROCESSED = `
  delete from outbox where id in (
    select id from outbox where processed_at < now() - make_interval(secs => ?) limit ?)`;

export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private lastPurgeAt = 0;
  private running: Promise<void> | undefined;
  private wakeRequested = false;
  private stopped = true;

  constructor(
    private readonly orm: Orm,
    private readonly jobs: JobService,
    private readonly dispatcher: QueueDispatcher,
    private readonly notifier: Notifier | undefined,
    private readonly options: OutboxRelayOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Runs the relay as soon as possible; calls during a run make it run once more after. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.wakeRequested = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.wakeRequested) {
        this.wakeRequested = false;
        this.wake();
      } else {
        this.timer = setTimeout(() => this.wake(), this.options.pollIntervalMs);
        this.timer.unref();
      }
    });
  }

  /** Stops polling and waits for the batch in progress; unclaimed entries stay for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Claims due entries and performs them, batch after batch, until none is due. */
  async drain(): Promise<void> {
    if (Date.now() - this.lastPurgeAt >= PURGE_INTERVAL_MS) {
      this.lastPurgeAt = Date.now();
      await this.purgeProcessed().catch((error: unknown) =>
        this.options.logger.warn({ err: error }, "could not delete processed outbox entries; retrying at the next purge"),
      );
    }
    try {
      for (;;) {
        const entries = await this.claim(CLAIM_DUE, [this.options.leaseMs, this.options.batchSize]);
        await Promise.all(entries.map((entry) => this.perform(entry)));
        if (entries.length < this.options.batchSize || this.stopped) return;
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, "outbox relay could not claim entries; retrying at the next poll");
    }
  }

  /**
   * Deletes processed entries older than the retention and returns how many. Abandoned entries
   * are kept, because they are the record of side effects that never happened.
   */
  async purgeProcessed(): Promise<number> {
    let deleted = 0;
    for (let batch = 0; batch < PURGE_MAX_BATCHES; batch += 1) {
      const result = await this.orm.em
        .getConnection()
        .execute<{ affectedRows: number }>(PURGE_PROCESSED, [this.options.retentionSeconds, PURGE_BATCH_SIZE], "run");
      deleted += result.affectedRows;
      if (result.affectedRows < PURGE_BATCH_SIZE) break;
    }
    if (deleted > 0) {
      this.options.logger.info({ deleted, retentionSeconds: this.options.retentionSeconds }, "deleted processed outbox entries past their retention");
    }
    return deleted;
  }

  /**
   * Performs a new job's dispatch entry now. The entry must be leased to the caller, as JobService
   * writes it, so no relay takes it meanwhile. `job` is the job as its creating transaction wrote
   * it, which saves reading it again. Returns the job as it is after the dispatch, or undefined
   * when the dispatch failed and was scheduled for retry.
   */
  async deliverDispatch(entry: OutboxEntryEntity, job: JobEntity): Promise<JobEntity | undefined> {
    const claimed: ClaimedEntry = { id: entry.id, kind: entry.kind, job_id: entry.jobId, payload: entry.payload, attempts: entry.attempts };
    return this.perform(claimed, job);
  }

  private async claim(sql: string, params: unknown[]): Promise<ClaimedEntry[]> {
    const rows = await this.orm.em.getConnection().execute<ClaimedEntry[]>(sql, params);
    return rows.map((row) => ({ ...row, id: String(row.id) }));
  }

  /**
   * Performs one claimed entry and records its outcome. Returns the job after a dispatch, or
   * undefined after a notice or a failure, which is scheduled for retry or abandoned.
   */
  private async perform(entry: ClaimedEntry, knownJob?: JobEntity): Promise<JobEntity | undefined> {
    try {
      let job: JobEntity | undefined;
      if (entry.kind === "dispatch") job = await this.dispatch(entry, knownJob);
      else await this.notify(entry);
      this.options.onAttempt?.(entry.kind, "done");
      return job;
    } catch (error) {
      await this.recordFailureSafely(entry, error);
      return undefined;
    }
  }

  /**
   * Adds the job to BullMQ unless it has left PENDING, then marks it QUEUED and the entry done in
   * one transaction. Returns the job as that transaction left it.
   */
  private async dispatch(entry: ClaimedEntry, known?: JobEntity): Promise<JobEntity | undefined> {
    const job = known ?? (await this.orm.em.fork().findOne(JobEntity, entry.job_id));
    if (!job) {
      await this.markProcessed(entry.id, "the job no longer exists");
      return undefined;
    }
    if (job.status === "PENDING") await this.dispatcher.dispatch(job);
    return this.jobs.markDispatched(entry.id, job);
  }

  private async notify(entry: ClaimedEntry): Promise<void> {
    if (this.notifier) await this.notifier.send(entry.payload.notice as unknown as JobNotice);
    await this.markProcessed(entry.id, this.notifier ? null : "no notifier configured; notice dropped");
  }

  private async markProcessed(entryId: string, note: string | null): Promise<void> {
    await this.orm.em.getConnection().execute("update outbox set processed_at = now(), locked_until = null, last_error = ? where id = ?", [
      note,
      entryId,
    ]);
  }

  private async recordFailureSafely(entry: ClaimedEntry, error: unknown): Promise<void> {
    await this.recordFailure(entry, error).catch((recordError) =>
      this.options.logger.error(
        { err: recordError, outboxId: entry.id },
        "could not record an outbox failure; the lease will expire and the entry be retried",
      ),
    );
  }

  private async recordFailure(entry: ClaimedEntry, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const permanent = entry.kind === "notify" && this.notifier?.isPermanent(error) === true;
    const logContext = { err: error, outboxId: entry.id, kind: entry.kind, jobId: entry.job_id, attempt: entry.attempts };
    this.options.onAttempt?.(entry.kind, permanent ? "abandoned" : "retry");
    if (permanent) {
      this.options.logger.error(logContext, "outbox entry abandoned: the side effect cannot succeed");
      await this.orm.em.getConnection().execute(
        "update outbox set abandoned_at = now(), locked_until = null, last_error = ? where id = ?",
        [message.slice(0, 2000), entry.id],
      );
      return;
    }
    const delayMs = backoffDelayMs(entry.attempts, this.options.baseBackoffMs ?? 500, this.options.maxBackoffMs);
    this.options.logger.warn({ ...logContext, retryInMs: delayMs }, "outbox attempt failed; will retry");
    await this.orm.em.getConnection().execute(
      "update outbox set locked_until = null, available_at = now() + make_interval(secs => ?::double precision / 1000), last_error = ? where id = ?",
      [delayMs, message.slice(0, 2000), entry.id],
    );
  }
}
