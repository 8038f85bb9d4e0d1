/**
 * One change to one job inside its transaction: appends events with the next sequence numbers,
 * opens and closes steps, and queues outbox entries, all in the transaction's EntityManager.
 */
import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { JsonObject } from "../domain/inputs";
import { JobEntity, JobEventEntity, JobStepEntity, OutboxEntryEntity, type OutboxKind, type StepStatus } from "../entities";

export class JobChange {
  readonly now = new Date();
  private openStepCache: JobStepEntity | null | undefined;
  readonly eventTypes: string[] = [];

  constructor(
    readonly em: EntityManager,
    readonly job: JobEntity,
    readonly actor: string,
  ) {}

  /** Appends an audit event; its sequence follows the job's latest. */
  addEvent(type: string, payload: JsonObject = {}): void {
    this.job.lastEventSequence += 1;
    const event = new JobEventEntity();
    Object.assign(event, {
      id: randomUUID(),
      jobId: this.job.id,
      sequence: this.job.lastEventSequence,
      type,
      actor: this.actor,
      time: this.now,
      payload,
    });
    this.em.persist(event);
    this.eventTypes.push(type);
  }

  /** Records a side effect to perform after commit; returns the entry so callers can act on it at once. */
  addOutbox(kind: OutboxKind, payload: JsonObject): OutboxEntryEntity {
    const entry = new OutboxEntryEntity();
    Object.assign(entry, { kind, jobId: this.job.id, payload, createdAt: this.now, availableAt: this.now });
    this.em.persist(entry);
    return entry;
  }

  async openStep(): Promise<JobStepEntity | null> {
    if (this.openStepCache === undefined) {
      this.openStepCache = await this.em.findOne(JobStepEntity, { jobId: this.job.id, status: "RUNNING" });
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
    const ordinal = (await this.em.count(JobStepEntity, { jobId: this.job.id })) + 1;
    const step = new JobStepEntity();
    Object.assign(step, {
      id: randomUUID(),
      jobId: this.job.id,
      ordinal,
      name,
      phase,
      status: "RUNNING",
      startedAt: this.now,
      output,
    });
    this.em.persist(step);
    this.openStepCache = step;
    this.addEvent("step.started", { step: name, phase, ordinal });
  }
}
