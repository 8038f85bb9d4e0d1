/**
 * The job service: every read and change of a job, each change in one transaction that locks the
 * job row, validates the move, updates the row, appends its events and queues its side effects.
 */
import { randomUUID } from "node:crypto";
import { LockMode, UniqueConstraintViolationException } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
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
import { canonicalJson, sha256Hex } from "./canonical-json";
import { JobChange } from "./job-change";
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
      const result = await this.orm.em.fork().transactional(async (em) => {
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
        const event = new JobEventEntity();
        Object.assign(event, {
          id: randomUUID(),
          jobId: job.id,
          sequence: 1,
          type: "job.created",
          actor: context.actor,
          time: now,
          payload: { queue, type: input.type, requestId: input.requestId },
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
        // Plain inserts: a new job needs none of the unit of work's change tracking.
        await em.insert(job);
        await em.insert(event);
        dispatch.id = String(await em.insert(dispatch));
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
    return this.mutate(input.id, input.expectedVersion, context, (job, em) =>
      planProgress(job, input, () => em.findOne(JobStepEntity, { jobId: job.id, status: "RUNNING" })),
    );
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
   * Moves a dispatched job from PENDING to QUEUED inside the relay's transaction. A job that has
   * already left PENDING (a coordinator may start it directly) is left as it is.
   */
  async markQueued(em: EntityManager, jobId: string, details: JsonObject): Promise<JobEntity | undefined> {
    if (this.options.heraldEvents.has("job.queued")) return this.markQueuedWithChange(em, jobId, details);
    // The common case in three statements: one conditional update takes the row lock, moves the
    // job and reserves the event's sequence number, and its RETURNING row is the new state.
    const now = new Date();
    const connection = em.getConnection();
    const context = em.getTransactionContext();
    const [row] = await connection.execute<Record<string, unknown>[]>(
      `update jobs set status = 'QUEUED', queued_at = ?, updated_at = ?, version = version + 1,
         last_event_sequence = last_event_sequence + 1
       where id = ? and status = 'PENDING' returning *`,
      [now, now, jobId],
      "all",
      context,
    );
    if (!row) return (await em.findOne(JobEntity, jobId)) ?? undefined;
    const job = em.map(JobEntity, row);
    await connection.execute(
      "insert into job_events (id, job_id, sequence, type, actor, time, payload) values (?, ?, ?, ?, ?, ?, ?)",
      [randomUUID(), jobId, job.lastEventSequence, "job.queued", SYSTEM_ACTOR, now, JSON.stringify({ from: "PENDING", to: "QUEUED", ...details })],
      "run",
      context,
    );
    return job;
  }

  /** Moves the job to QUEUED through JobChange, which also queues a notice when job.queued is a Herald event. */
  private async markQueuedWithChange(em: EntityManager, jobId: string, details: JsonObject): Promise<JobEntity | undefined> {
    const job = await em.findOne(JobEntity, jobId, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!job || job.status !== "PENDING") return job ?? undefined;
    const apply = planStatus(job, "QUEUED", "", details);
    if (apply !== UNCHANGED) await this.applyChange(em, job, SYSTEM_ACTOR, apply);
    return job;
  }

  async get(input: GetJobInput): Promise<JobPage> {
    validate.validateGetJob(input);
    const em = this.orm.em.fork();
    const job = await em.findOne(JobEntity, input.id);
    if (!job) throw jobNotFound(input.id);
    const after = this.decodePageToken(input.pageToken, job.id);
    const pageSize = input.pageSize || LIMITS.defaultPageSize;
    const [steps, events] = await Promise.all([
      em.find(JobStepEntity, { jobId: job.id }, { orderBy: { ordinal: "asc" } }),
      em.find(JobEventEntity, { jobId: job.id, sequence: { $gt: after } }, { orderBy: { sequence: "asc" }, limit: pageSize + 1 }),
    ]);
    const more = events.length > pageSize;
    if (more) events.pop();
    const nextPageToken = more ? this.encodePageToken(job.id, events[events.length - 1].sequence) : "";
    return { job, steps, events, nextPageToken };
  }

  private async findByRequestId(requestId: string, requestHash: string): Promise<JobEntity | null> {
    const job = await this.orm.em.fork().findOne(JobEntity, { requestId });
    if (job && job.requestHash !== requestHash) throw requestIdConflict(requestId, job.id);
    return job;
  }

  /**
   * Runs one change: locks the job row, calls `plan` to decide the change, checks the expected version
   * (after the repeat check, so a retried request succeeds) and applies the plan.
   */
  private async mutate(
    id: string,
    expectedVersion: bigint | undefined,
    context: CallContext,
    plan: (job: JobEntity, em: EntityManager) => Promise<Plan>,
  ): Promise<JobEntity> {
    let wroteOutbox = false;
    const job = await this.orm.em.fork().transactional(async (em) => {
      const job = await em.findOne(JobEntity, id, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!job) throw jobNotFound(id);
      const apply = await plan(job, em);
      if (apply === UNCHANGED) return job;
      if (expectedVersion !== undefined && BigInt(job.version) !== expectedVersion) {
        throw versionMismatch(id, expectedVersion, BigInt(job.version));
      }
      wroteOutbox = await this.applyChange(em, job, context.actor, apply);
      await em.flush();
      // Checked after the writes and just before COMMIT, so a call past its deadline rolls back.
      this.throwIfAborted(context);
      return job;
    });
    if (wroteOutbox) this.options.onOutboxWritten?.();
    return job;
  }

  /** Applies a plan, bumps the version, and queues a notification for the event types the Herald posts. */
  private async applyChange(em: EntityManager, job: JobEntity, actor: string, apply: Exclude<Plan, typeof UNCHANGED>): Promise<boolean> {
    const change = new JobChange(em, job, actor);
    await apply(change);
    job.version += 1;
    job.updatedAt = change.now;
    if (!change.eventTypes.some((type) => this.options.heraldEvents.has(type))) return false;
    change.addOutbox("notify", { notice: noticeFromJob(job) as unknown as JsonObject });
    return true;
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
