/** Conversions between protobuf messages and the domain's inputs and entities. */
import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type CompleteJobRequest,
  type CreateJobRequest,
  type FailJobRequest,
  type GetJobRequest,
  type UpdateJobProgressRequest,
  type UpdateJobStatusRequest,
} from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import {
  type GateResult,
  GateResultSchema,
  type Job,
  type JobEvent,
  JobEventSchema,
  JobSchema,
  JobSourceSchema,
  JobStatus as JobStatusEnum,
  type JobStep,
  JobStepSchema,
  StepStatus as StepStatusEnum,
} from "../../gen/es/coordinator/v1/job_pb";
import type * as domain from "../domain/inputs";
import { JOB_STATUSES, type JobStatus } from "../domain/job-status";
import type { JobEntity, JobEventEntity, JobStepEntity } from "../entities";

function timestamp(date: Date | null): Timestamp | undefined {
  return date ? timestampFromDate(date) : undefined;
}

export function jobStatusToProto(status: JobStatus): JobStatusEnum {
  return JobStatusEnum[status];
}

/** Maps a received enum value to its name; a number this version does not know stays a number. */
export function requestedStatus(value: JobStatusEnum): domain.RequestedStatus {
  if (value === JobStatusEnum.UNSPECIFIED) return "UNSPECIFIED";
  const name = JobStatusEnum[value] as JobStatus | undefined;
  return name !== undefined && JOB_STATUSES.includes(name) ? name : value;
}

function gateToProto(gate: domain.GateResult): GateResult {
  return create(GateResultSchema, { name: gate.name, passed: gate.passed, message: gate.message, details: gate.details });
}

export function jobToProto(job: JobEntity): Job {
  return create(JobSchema, {
    id: job.id,
    requestId: job.requestId,
    type: job.type,
    queue: job.queue,
    priority: job.priority,
    status: jobStatusToProto(job.status),
    progressPercent: job.progressPercent,
    progressMessage: job.progressMessage,
    source: create(JobSourceSchema, job.source),
    payload: job.payload,
    result: job.result ?? undefined,
    summary: job.summary,
    error: job.error,
    gates: job.gates.map(gateToProto),
    version: BigInt(job.version),
    createdAt: timestamp(job.createdAt),
    queuedAt: timestamp(job.queuedAt),
    startedAt: timestamp(job.startedAt),
    completedAt: timestamp(job.completedAt),
    updatedAt: timestamp(job.updatedAt),
  });
}

export function eventToProto(event: JobEventEntity): JobEvent {
  return create(JobEventSchema, {
    id: event.id,
    sequence: BigInt(event.sequence),
    type: event.type,
    actor: event.actor,
    time: timestamp(event.time),
    payload: event.payload,
  });
}

export function stepToProto(step: JobStepEntity): JobStep {
  return create(JobStepSchema, {
    id: step.id,
    ordinal: step.ordinal,
    name: step.name,
    phase: step.phase,
    status: StepStatusEnum[step.status],
    startedAt: timestamp(step.startedAt),
    completedAt: timestamp(step.completedAt),
    output: step.output,
  });
}

export function createJobInput(request: CreateJobRequest): domain.CreateJobInput {
  const source = request.source;
  return {
    requestId: request.requestId,
    type: request.type,
    queue: request.queue,
    priority: request.priority,
    source: {
      forge: source?.forge ?? "",
      repository: source?.repository ?? "",
      issueNumber: source?.issueNumber ?? 0,
      pullRequestNumber: source?.pullRequestNumber ?? 0,
      url: source?.url ?? "",
      event: source?.event ?? "",
      action: source?.action ?? "",
      deliveryId: source?.deliveryId ?? "",
    },
    payload: (request.payload ?? {}) as domain.JsonObject,
  };
}

export function updateStatusInput(request: UpdateJobStatusRequest): domain.UpdateStatusInput {
  return {
    id: request.id,
    status: requestedStatus(request.status),
    message: request.message,
    expectedVersion: request.expectedVersion,
  };
}

export function updateProgressInput(request: UpdateJobProgressRequest): domain.UpdateProgressInput {
  return {
    id: request.id,
    percent: request.percent,
    message: request.message,
    step: request.step ? { name: request.step.name, phase: request.step.phase } : undefined,
    expectedVersion: request.expectedVersion,
  };
}

export function completeJobInput(request: CompleteJobRequest): domain.CompleteJobInput {
  return {
    id: request.id,
    result: (request.result ?? {}) as domain.JsonObject,
    summary: request.summary,
    expectedVersion: request.expectedVersion,
  };
}

export function failJobInput(request: FailJobRequest): domain.FailJobInput {
  return {
    id: request.id,
    error: request.error,
    gates: request.gates.map((gate) => ({
      name: gate.name,
      passed: gate.passed,
      message: gate.message,
      details: (gate.details ?? {}) as domain.JsonObject,
    })),
    expectedVersion: request.expectedVersion,
  };
}

export function getJobInput(request: GetJobRequest): domain.GetJobInput {
  return { id: request.id, pageSize: request.pageSize, pageToken: request.pageToken };
}
