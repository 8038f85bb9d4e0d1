import { EntitySchema } from "@mikro-orm/core";
import type { GateResult, JobSource, JsonObject } from "../domain/inputs";
import type { JobStatus } from "../domain/job-status";

/** A job row: its current state. Its history is in JobEventEntity. */
export class JobEntity {
  id!: string;
  requestId!: string;
  /** SHA-256 of the canonical CreateJob request, to tell a repeat from a reuse of request_id. */
  requestHash!: string;
  type!: string;
  queue!: string;
  priority!: number;
  status!: JobStatus;
  progressPercent = 0;
  progressMessage = "";
  source!: JobSource;
  payload!: JsonObject;
  result: JsonObject | null = null;
  summary = "";
  error = "";
  gates: GateResult[] = [];
  version = 1;
  /** Sequence of the job's latest event; the next event takes the value after it. */
  lastEventSequence = 0;
  createdAt!: Date;
  queuedAt: Date | null = null;
  startedAt: Date | null = null;
  completedAt: Date | null = null;
  updatedAt!: Date;
}

export const JobSchema = new EntitySchema<JobEntity>({
  class: JobEntity,
  tableName: "jobs",
  properties: {
    id: { type: "uuid", primary: true },
    requestId: { type: "string", length: 200, unique: "jobs_request_id_unique" },
    requestHash: { type: "string", length: 64 },
    type: { type: "string", length: 100 },
    queue: { type: "string", length: 100 },
    priority: { type: "integer" },
    status: { type: "string", length: 16, index: "jobs_status_index" },
    progressPercent: { type: "smallint" },
    progressMessage: { type: "text" },
    source: { type: "json" },
    payload: { type: "json" },
    result: { type: "json", nullable: true },
    summary: { type: "text" },
    error: { type: "text" },
    gates: { type: "json" },
    version: { type: "integer" },
    lastEventSequence: { type: "integer" },
    createdAt: { type: "Date", columnType: "timestamptz(3)" },
    queuedAt: { type: "Date", columnType: "timestamptz(3)", nullable: true },
    startedAt: { type: "Date", columnType: "timestamptz(3)", nullable: true },
    completedAt: { type: "Date", columnType: "timestamptz(3)", nullable: true },
    updatedAt: { type: "Date", columnType: "timestamptz(3)" },
  },
});
