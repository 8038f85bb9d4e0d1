/**
 * The job service: every read and change of a job, each change in one transaction that locks the
 * job row, validates the move, updates the row, appends its events and queues its side effects.
 */
import { randomUUID } from "node:crypto";
import { UniqueConstraintViolationException } from "@mikro-orm/core";
import type { Orm } from "../database";
import { JobError, invalidPageToken, jobNotFound, requestIdConflict, versionMismatch } from "../domain/errors";
import type {
  CompleteJobInput,
  CreateJobInput,
  FailJobInput,
  GetJobInput,
  JsonObject,
  UpdateProgressInput,
  UpdateStatusInput,
} from "../domain/inputs";
import type { JobStatus } from "../domain/job-status";
import { LIMITS } from "../domain/limits";
import * as validate from "../domain/validation";
import { JobEntity, JobEventEntity, JobStepEntity, OutboxEntryEntity } from "../entities";
import { type SqlClient, sqlTransaction, withSqlConnection } from "../plain-sql";
import { canonicalJson, sha256Hex } from "./canonical-json";
import { JobChange } from "./job-change";
import {
  type EventRow,
  INSERT_NEW_JOB,
  type JobRow,
  MARK_DISPATCHED,
  OUTBOX_COLUMNS,
  SELECT_EVENTS_PAGE,
  SELECT_JOB,
  SELECT_JOB_BY_REQUEST_ID,
  SELECT_JOB_FOR_UPDATE,
  SELECT_STEPS,
  type StepRow,
  eventFromRow,
  insertRows,
  jobFromRow,
  outboxEntryRow,
  stepFromRow,
} from "./job-sql";
import { noticeFromJob } from "./notice";
import { type Plan, UNCHANGED, planComplete, planFail, planProgress, planStatus } from "./transitions";

export interface JobServiceOptions {
  defaultQueue: string;
  /** Event types that queue a Discord notification. */
  heraldEvents: ReadonlySet<string>;
  /** How long a new job's dispatch entry is reserved for the call that created it. */
  dispatchLeaseMs: number;
  /** Called after a commit that queued outbox entries, so the relay runs at once. */
  onOutboxWritten?: () => void;
}

/** The caller of a call and the signal that ends its work at the deadline. */
export interface CallContext {
  actor: string;
  signal?: AbortSignal;
}

export interface CreateJobResult {
  job: JobEntity;
  created: boolean;
  /**
   * The dispatch entry written with a new job. The relay is not woken for it: the caller delivers
   * it at once (OutboxRelay.deliver) and wakes the relay only if that fails.
   */
  dispatch?: OutboxEntryEntity;
}

export interface JobPage {
  job: JobEntity;
  steps: JobStepEntity[];
  events: JobEventEntity[];
  nextPageToken: string;
}

export const SYSTEM_ACTOR = "system";

export class JobService {
  constructor(
    private readonly orm: Orm,
    private readonly options: JobServiceOptions,
  ) {}

  async create(input: CreateJobInput, context: CallContext): Promise<CreateJobResult> {
    validate.validateCreateJob(input);
    const queue = input.queue || this.options.defaultQueue;
    const requestHash = sha256Hex(canonicalJson({ ...input, queue }));
    // The unique index on request_id decides between a new job and a repeat, so the common case
    // (a new request) needs no read first.
    try {
      const result = await sqlTransaction(this.orm, async (sql) => {
        const now = new Date();
        const job = new JobEntity();
        Object.assign(job, {
          id: randomUUID(),
          requestId: input.requestId,
          requestHash,
          type: input.type,
          queue,
          priority: input.priority,
          status: "PENDING" satisfies JobStatus,
          source: input.source,
          payload: input.payload,
          lastEventSequence: 1,
          createdAt: now,
          updatedAt: now,
        });
        // The entry is leased to this call, so the relay leaves it alone while the caller
        // dispatches it at once. If the caller dies, the relay takes it when the lease ends.
        const dispatch = new OutboxEntryEntity();
        Object.assign(dispatch, {
          kind: "dispatch",
          jobId: job.id,
          payload: { queue, priority: input.priority },
          createdAt: now,
          availableAt: now,
          lockedUntil: new Date(now.getTime() + this.options.dispatchLeaseMs),
          attempts: 1,
        });
        const [entry] = await sql.query<{ id: string }>(INSERT_NEW_JOB, [
          job.id,
          job.requestId,
          requestHash,
          job.type,
          queue,
          job.priority,
          JSON.stringify(job.source),
          JSON.stringify(job.payload),
          now,
          randomUUID(),
          context.actor,
          JSON.stringify({ queue, type: input.type, requestId: input.requestId }),
          JSON.stringify(dispatch.payload),
          dispatch.lockedUntil,
        ]);
        dispatch.id = entry.id;
        this.throwIfAborted(context);
        return { job, dispatch };
      });
      return { ...result, created: true };
    } catch (error) {
      // Another call with the same request_id committed first.
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      const winner = await this.findByRequestId(input.requestId, requestHash);
      if (!winner) throw error;
      return { job: winner, created: false };
    }
  }

  async updateStatus(input: UpdateStatusInput, context: CallContext): Promise<JobEntity> {
    validate.validateUpdateStatus(input);
    const to = input.status as JobStatus;
    return this.mutate(input.id, input.expectedVersion, context, async (job) => planStatus(job, to, input.message));
  }

  async updateProgress(input: UpdateProgressInput, context: CallContext): Promise<JobEntity> {
    validate.validateUpdateProgress(input);
    return this.mutate(input.id, input.expectedVersion, context, (job, change) => planProgress(job, input, () => change.openStep()));
  }

  async complete(input: CompleteJobInput, context: CallContext): Promise<JobEntity> {
    validate.validateCompleteJob(input);
    return this.mutate(input.id, input.expectedVersion, context, async (job) => planComplete(job, input));
  }

  async fail(input: FailJobInput, context: CallContext): Promise<JobEntity> {
    validate.validateFailJob(input);
    return this.mutate(input.id, input.expectedVersion, context, async (job) => planFail(job, input));
  }

  /**
   * Marks a dispatch entry processed and moves its job from PENDING to QUEUED, atomically. A job
   * that has already left PENDING (a coordinator may start it directly) is left as it is. Returns
   * the job as it is afterwards, or undefined if it no longer exists.
   */
  async markDispatched(entryId: string, job: JobEntity): Promise<JobEntity | undefined> {
    const now = new Date();
    const payload = JSON.stringify({ from: "PENDING", to: "QUEUED", queue: job.queue });
    const values = [job.id, now, randomUUID(), SYSTEM_ACTOR, payload, entryId];
    if (!this.options.heraldEvents.has("job.queued")) {
      return withSqlConnection(this.orm, async (sql) => {
        const [row] = await sql.query<JobRow>(MARK_DISPATCHED, values);
        return this.currentJob(sql, row, job.id);
      });
    }
    // The notice is built from the queued row, so it needs a second statement in the same transaction.
    let notified = false;
    const queued = await sqlTransaction(this.orm, async (sql) => {
      const [row] = await sql.query<JobRow>(MARK_DISPATCHED, values);
      if (!row) return this.currentJob(sql, row, job.id);
      const queuedJob = jobFromRow(row);
      const notice = noticeFromJob(queuedJob) as unknown as JsonObject;
      await insertRows(sql, "outbox", OUTBOX_COLUMNS, [outboxEntryRow("notify", job.id, { notice }, now)]);
      notified = true;
      return queuedJob;
    });
    if (notified) this.options.onOutboxWritten?.();
    return queued;
  }

  /** Returns the job of `row`, or reads it when the statement returned no row. */
  private async currentJob(sql: SqlClient, row: JobRow | undefined, jobId: string): Promise<JobEntity | undefined> {
    if (row) return jobFromRow(row);
    const [current] = await sql.query<JobRow>(SELECT_JOB, [jobId]);
    return current ? jobFromRow(current) : undefined;
  }

  async get(input: GetJobInput): Promise<JobPage> {
    validate.validateGetJob(input);
    const pageSize = input.pageSize || LIMITS.defaultPageSize;
    return withSqlConnection(this.orm, async (sql) => {
      const [row] = await sql.query<JobRow>(SELECT_JOB, [input.id]);
      if (!row) throw jobNotFound(input.id);
      // The stored id, because the request may spell the UUID in capitals.
      const jobId = row.id;
      const after = this.decodePageToken(input.pageToken, jobId);
      const steps = (await sql.query<StepRow>(SELECT_STEPS, [jobId])).map(stepFromRow);
      // One more than the page, to know whether a next page exists.
      const events = (await sql.query<EventRow>(SELECT_EVENTS_PAGE, [jobId, after, pageSize + 1])).map(eventFromRow);
      const more = events.length > pageSize;
      if (more) events.pop();
      const nextPageToken = more ? this.encodePageToken(jobId, events[events.length - 1].sequence) : "";
      return { job: jobFromRow(row), steps, events, nextPageToken };
    });
  }

  private async findByRequestId(requestId: string, requestHash: string): Promise<JobEntity | null> {
    const [row] = await withSqlConnection(this.orm, (sql) => sql.query<JobRow>(SELECT_JOB_BY_REQUEST_ID, [requestId]));
    if (!row) return null;
    if (row.request_hash !== requestHash) throw requestIdConflict(requestId, row.id);
    return jobFromRow(row);
  }

  /**
   * Runs one change: locks the job row, calls `plan` to decide the change, checks the expected version
   * (after the repeat check, so a retried request succeeds), applies the plan and writes it.
   */
  private async mutate(
    id: string,
    expectedVersion: bigint | undefined,
    context: CallContext,
    plan: (job: JobEntity, change: JobChange) => Promise<Plan>,
  ): Promise<JobEntity> {
    let wroteOutbox = false;
    const job = await sqlTransaction(this.orm, async (sql) => {
      const [row] = await sql.query<JobRow>(SELECT_JOB_FOR_UPDATE, [id]);
      if (!row) throw jobNotFound(id);
      const job = jobFromRow(row);
      const change = new JobChange(sql, job, context.actor);
      const apply = await plan(job, change);
      if (apply === UNCHANGED) return job;
      if (expectedVersion !== undefined && BigInt(job.version) !== expectedVersion) {
        throw versionMismatch(id, expectedVersion, BigInt(job.version));
      }
      await apply(change);
      job.version += 1;
      job.updatedAt = change.now;
      // The Herald posts some event types, and their notice is queued in the same transaction.
      if (change.eventTypes.some((type) => this.options.heraldEvents.has(type))) {
        change.addOutbox("notify", { notice: noticeFromJob(job) as unknown as JsonObject });
        wroteOutbox = true;
      }
      await change.write();
      // Checked after the writes and just before COMMIT, so a call past its deadline rolls back.
      this.throwIfAborted(context);
      return job;
    });
    if (wroteOutbox) this.options.onOutboxWritten?.();
    return job;
  }

  private throwIfAborted(context: CallContext): void {
    if (context.signal?.aborted) {
      throw new JobError("DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED", "the request ran past its deadline; nothing was changed");
    }
  }

  private encodePageToken(jobId: string, sequence: number): string {
    return Buffer.from(`${jobId}:${sequence}`).toString("base64url");
  }

  private decodePageToken(token: string, jobId: string): number {
    if (token === "") return 0;
    const [tokenJobId, sequence] = Buffer.from(token, "base64url").toString().split(":");
    const value = Number(sequence);
    if (tokenJobId !== jobId || !Number.isInteger(value) || value < 0) throw invalidPageToken();
    return value;
  }
}
