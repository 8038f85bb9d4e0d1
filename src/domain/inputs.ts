import type { JobStatus } from "./job-status";

/** JSON value as stored in jsonb columns and carried by google.protobuf.Struct. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface JobSource {
  forge: string;
  repository: string;
  issueNumber: number;
  pullRequestNumber: number;
  url: string;
  event: string;
  action: string;
  deliveryId: string;
}

export interface GateResult {
  name: string;
  passed: boolean;
  message: string;
  details: JsonObject;
}

/**
 * A status as the transport received it: a known name, or the raw number of an enum value this
 * version does not know, which validation rejects.
 */
export type RequestedStatus = JobStatus | "UNSPECIFIED" | number;

export interface CreateJobInput {
  requestId: string;
  type: string;
  queue: string;
  priority: number;
  source: JobSource;
  payload: JsonObject;
}

export interface UpdateStatusInput {
  id: string;
  status: RequestedStatus;
  message: string;
  expectedVersion?: bigint;
}

export interface StepReport {
  name: string;
  phase: string;
}

export interface UpdateProgressInput {
  id: string;
  percent: number;
  message: string;
  step?: StepReport;
  expectedVersion?: bigint;
}

export interface CompleteJobInput {
  id: string;
  result: JsonObject;
  summary: string;
  expectedVersion?: bigint;
}

export interface FailJobInput {
  id: string;
  error: string;
  gates: GateResult[];
  expectedVersion?: bigint;
}

export interface GetJobInput {
  id: string;
  pageSize: number;
  pageToken: string;
}
