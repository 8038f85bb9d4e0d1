/**
 * One change to one job inside its transaction: appends events with the next sequence numbers,
 * opens and closes steps, and queues outbox entries. Reads go to the database at once, and writes are
 * collected and sent by `write`, after the change is complete.
 */
import { randomUUID } from "node:crypto";
import type { JsonObject } from "../domain/inputs";
import { type JobEntity, JobStepEntity, type OutboxKind, type StepStatus } from "../entities";
import type { SqlClient } from "../plain-sql";
import {
  COUNT_STEPS,
  OUTBOX_COLUMNS,
  SELECT_OPEN_STEP,
  type StepRow,
  UPDATE_JOB,
  UPDATE_STEP,
  insertRows,
  outboxEntryRow,
  stepFromRow,
  updateJobValues,
} from "./job-sql";

const EVENT_COLUMNS = ["id", "job_id", "sequence", "type", "actor", "time", "payload"] as const;
const STEP_COLUMNS = ["id", "job_id", "ordinal", "name", "phase", "status", "started_at", "completed_at", "output"] as const;

/** A step read from the database, with the fields a change may set as they were read. */
interface LoadedStep {
  step: JobStepEntity;
  status: StepStatus;
  completedAt: Date | null;
  output: string;
}

export class JobChange {
  readonly now = new Date();
  readonly eventTypes: string[] = [];
  private openStepCache: JobStepEntity | null | undefined;
  private readonly loadedSteps: LoadedStep[] = [];
  private readonly newSteps: JobStepEntity[] = [];
  private readonly events: unknown[][] = [];
  private readonly outboxEntries: unknown[][] = [];

  constructor(
    private readonly sql: SqlClient,
    readonly job: JobEntity,
    readonly actor: string,
  ) {}

  /** Appends an audit event; its sequence follows the job's latest. */
  addEvent(type: string, payload: JsonObject = {}): void {
    this.job.lastEventSequence += 1;
    this.events.push([randomUUID(), this.job.id, this.job.lastEventSequence, type, this.actor, this.now, JSON.stringify(payload)]);
    this.eventTypes.push(type);
  }

  /** Records a side effect to perform after commit. */
  addOutbox(kind: OutboxKind, payload: JsonObject): void {
    this.outboxEntries.push(outboxEntryRow(kind, this.job.id, payload, this.now));
  }

  /** Returns the job's RUNNING step, if any. Changes to its fields are written by `write`. */
  async openStep(): Promise<JobStepEntity | null> {
    if (this.openStepCache === undefined) {
      const [row] = await this.sql.query<StepRow>(SELECT_OPEN_STEP, [this.job.id]);
      this.openStepCache = row ? this.track(stepFromRow(row)) : null;
    }
    return this.openStepCache;
  }

  /** Closes the open step, if any, with the given status and a `step.*` event. */
  async closeOpenStep(status: Exclude<StepStatus, "RUNNING">): Promise<void> {
    const step = await this.openStep();
    if (!step) return;
    step.status = status;
    step.completedAt = this.now;
    this.addEvent(`step.${status.toLowerCase()}`, { step: step.name, ordinal: step.ordinal });
    this.openStepCache = null;
  }

  async startStep(name: string, phase: string, output: string): Promise<void> {
    const [{ count }] = await this.sql.query<{ count: number }>(COUNT_STEPS, [this.job.id]);
    const step = new JobStepEntity();
    Object.assign(step, {
      id: randomUUID(),
      jobId: this.job.id,
      ordinal: count + this.newSteps.length + 1,
      name,
      phase,
      status: "RUNNING",
      startedAt: this.now,
      output,
    });
    this.newSteps.push(step);
    this.openStepCache = step;
    this.addEvent("step.started", { step: name, phase, ordinal: step.ordinal });
  }

  /** Writes the job row, the steps that changed, and the new steps, events and outbox entries. */
  async write(): Promise<void> {
    await this.sql.query(UPDATE_JOB, updateJobValues(this.job));
    for (const loaded of this.loadedSteps) {
      const { step } = loaded;
      if (step.status === loaded.status && step.completedAt === loaded.completedAt && step.output === loaded.output) continue;
      await this.sql.query(UPDATE_STEP, [step.id, step.status, step.completedAt, step.output]);
    }
    const stepRows = this.newSteps.map((step) => [
      step.id,
      step.jobId,
      step.ordinal,
      step.name,
      step.phase,
      step.status,
      step.startedAt,
      step.completedAt,
      step.output,
    ]);
    await insertRows(this.sql, "job_steps", STEP_COLUMNS, stepRows);
    await insertRows(this.sql, "job_events", EVENT_COLUMNS, this.events);
    await insertRows(this.sql, "outbox", OUTBOX_COLUMNS, this.outboxEntries);
  }

  private track(step: JobStepEntity): JobStepEntity {
    this.loadedSteps.push({ step, status: step.status, completedAt: step.completedAt, output: step.output });
    return step;
  }
}
