/**
 * The job service's SQL, written by hand because it runs on every call. MikroORM's unit of work
 * cost more CPU than the rest of a call. The benchmark's floor (bench/floor.ts) runs the CreateJob
 * statements straight through pg. JSON values are passed as JSON text, because pg would turn a
 * JavaScript array into a PostgreSQL array.
 */
import type { GateResult, JobSource, JsonObject } from "../domain/inputs";
import type { JobStatus } from "../domain/job-status";
import { JobEntity, JobEventEntity, JobStepEntity, type OutboxKind, type StepStatus } from "../entities";
import type { SqlClient } from "../plain-sql";

/**
 * Inserts a new job, its job.created event and its dispatch entry, and returns the entry's id.
 * One statement saves two round trips, and the foreign keys to jobs are checked at commit.
 *
 * $1 job id, $2 request_id, $3 request hash, $4 type, $5 queue, $6 priority, $7 source, $8 payload,
 * $9 time, $10 event id, $11 actor, $12 event payload, $13 entry payload, $14 entry lease end.
 */
export const INSERT_NEW_JOB = `with new_job as (
    insert into jobs (id, request_id, request_hash, type, queue, priority, status, progress_percent, progress_message,
      source, payload, result, summary, error, gates, version, last_event_sequence, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, 'PENDING', 0, '', $7, $8, null, '', '', '[]', 1, 1, $9, $9)
  ), created_event as (
    insert into job_events (id, job_id, sequence, type, actor, time, payload)
    values ($10, $1, 1, 'job.created', $11, $9, $12)
  )
  insert into outbox (kind, job_id, payload, created_at, available_at, locked_until, attempts)
  values ('dispatch', $1, $13, $9, $9, $14, 1)
  returning id`;

/**
 * Marks a dispatch entry processed and, if the job is still PENDING, moves it to QUEUED with its
 * job.queued event, in one statement. The update takes the job's row lock and reserves the event's
 * sequence number. Returns the job's new row, or no row when the job had already left PENDING.
 *
 * $1 job id, $2 time, $3 event id, $4 actor, $5 event payload, $6 entry id.
 */
export const MARK_DISPATCHED = `with queued as (
    update jobs set status = 'QUEUED', queued_at = $2, updated_at = $2, version = version + 1,
      last_event_sequence = last_event_sequence + 1
    where id = $1 and status = 'PENDING'
    returning *
  ), queued_event as (
    insert into job_events (id, job_id, sequence, type, actor, time, payload)
    select $3::uuid, id, last_event_sequence, 'job.queued', $4::varchar, $2::timestamptz, $5::jsonb from queued
  ), processed as (
    update outbox set processed_at = now(), locked_until = null, last_error = null where id = $6
  )
  select * from queued`;

export const SELECT_JOB = "select * from jobs where id = $1";

export const SELECT_JOB_BY_REQUEST_ID = "select * from jobs where request_id = $1";

export const SELECT_JOB_FOR_UPDATE = "select * from jobs where id = $1 for update";

/** Writes every field a change may set. $1 is the job id. */
export const UPDATE_JOB = `update jobs set status = $2, progress_percent = $3, progress_message = $4, result = $5, summary = $6,
    error = $7, gates = $8, version = $9, last_event_sequence = $10, queued_at = $11, started_at = $12, completed_at = $13,
    updated_at = $14
  where id = $1`;

export const SELECT_OPEN_STEP = "select * from job_steps where job_id = $1 and status = 'RUNNING' limit 1";

export const COUNT_STEPS = "select count(*)::int as count from job_steps where job_id = $1";

export const UPDATE_STEP = "update job_steps set status = $2, completed_at = $3, output = $4 where id = $1";

export const SELECT_STEPS = "select * from job_steps where job_id = $1 order by ordinal";

/** One page of a job's events, through the (job_id, sequence) unique index. $2 is the last sequence already read. */
export const SELECT_EVENTS_PAGE = "select * from job_events where job_id = $1 and sequence > $2 order by sequence limit $3";

/** Columns of a new outbox entry, in the order of outboxEntryRow's values. */
export const OUTBOX_COLUMNS = ["kind", "job_id", "payload", "created_at", "available_at", "attempts"] as const;

/** Returns the values of a new outbox entry, due at `time`, for insertRows. */
export function outboxEntryRow(kind: OutboxKind, jobId: string, payload: JsonObject, time: Date): unknown[] {
  return [kind, jobId, JSON.stringify(payload), time, time, 0];
}

/** A row of the jobs table as pg returns it with its default type parsers. */
export interface JobRow {
  id: string;
  request_id: string;
  request_hash: string;
  type: string;
  queue: string;
  priority: number;
  status: JobStatus;
  progress_percent: number;
  progress_message: string;
  source: JobSource;
  payload: JsonObject;
  result: JsonObject | null;
  summary: string;
  error: string;
  gates: GateResult[];
  version: number;
  last_event_sequence: number;
  created_at: Date;
  queued_at: Date | null;
  started_at: Date | null;
  completed_at: Date | null;
  updated_at: Date;
}

/** A row of the job_steps table as pg returns it with its default type parsers. */
export interface StepRow {
  id: string;
  job_id: string;
  ordinal: number;
  name: string;
  phase: string;
  status: StepStatus;
  started_at: Date;
  completed_at: Date | null;
  output: string;
}

export function stepFromRow(row: StepRow): JobStepEntity {
  const step = new JobStepEntity();
  step.id = row.id;
  step.jobId = row.job_id;
  step.ordinal = row.ordinal;
  step.name = row.name;
  step.phase = row.phase;
  step.status = row.status;
  step.startedAt = row.started_at;
  step.completedAt = row.completed_at;
  step.output = row.output;
  return step;
}

/** A row of the job_events table as pg returns it with its default type parsers. */
export interface EventRow {
  id: string;
  job_id: string;
  sequence: number;
  type: string;
  actor: string;
  time: Date;
  payload: JsonObject;
}

export function eventFromRow(row: EventRow): JobEventEntity {
  const event = new JobEventEntity();
  event.id = row.id;
  event.jobId = row.job_id;
  event.sequence = row.sequence;
  event.type = row.type;
  event.actor = row.actor;
  event.time = row.time;
  event.payload = row.payload;
  return event;
}

/** Returns the parameters of UPDATE_JOB for the job as it is now. */
export function updateJobValues(job: JobEntity): unknown[] {
  return [
    job.id,
    job.status,
    job.progressPercent,
    job.progressMessage,
    job.result === null ? null : JSON.stringify(job.result),
    job.summary,
    job.error,
    JSON.stringify(job.gates),
    job.version,
    job.lastEventSequence,
    job.queuedAt,
    job.startedAt,
    job.completedAt,
    job.updatedAt,
  ];
}

/**
 * Inserts rows into `table` with one statement. Each row lists its values in the order of
 * `columns`, and JSON values must already be JSON text.
 */
export async function insertRows(sql: SqlClient, table: string, columns: readonly string[], rows: unknown[][]): Promise<void> {
  if (rows.length === 0) return;
  const values: unknown[] = [];
  const tuples = rows.map((row) => {
    const placeholders = row.map((value) => {
      values.push(value);
      return `$${values.length}`;
    });
    return `(${placeholders.join(", ")})`;
  });
  await sql.query(`insert into ${table} (${columns.join(", ")}) values ${tuples.join(", ")}`, values);
}

export function jobFromRow(row: JobRow): JobEntity {
  const job = new JobEntity();
  job.id = row.id;
  job.requestId = row.request_id;
  job.requestHash = row.request_hash;
  job.type = row.type;
  job.queue = row.queue;
  job.priority = row.priority;
  job.status = row.status;
  job.progressPercent = row.progress_percent;
  job.progressMessage = row.progress_message;
  job.source = row.source;
  job.payload = row.payload;
  job.result = row.result;
  job.summary = row.summary;
  job.error = row.error;
  job.gates = row.gates;
  job.version = row.version;
  job.lastEventSequence = row.last_event_sequence;
  job.createdAt = row.created_at;
  job.queuedAt = row.queued_at;
  job.startedAt = row.started_at;
  job.completedAt = row.completed_at;
  job.updatedAt = row.updated_at;
  return job;
}
