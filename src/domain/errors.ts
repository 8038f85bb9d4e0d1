/**
 * The domain's error vocabulary. Codes are the gRPC code names; the RPC layer turns a JobError
 * into a transport error with google.rpc ErrorInfo (domain, reason, metadata) and BadRequest
 * field violations. Messages say what failed, on which value, and what to do instead.
 */

export type ErrorCode =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "FAILED_PRECONDITION"
  | "ABORTED"
  | "RESOURCE_EXHAUSTED"
  | "UNAVAILABLE"
  | "DEADLINE_EXCEEDED"
  | "UNAUTHENTICATED"
  | "INTERNAL";

export interface FieldViolation {
  /** Field path in the request, in the proto's snake_case, e.g. `source.repository`. */
  field: string;
  description: string;
}

/** Domain name placed in ErrorInfo.domain. */
export const ERROR_DOMAIN = "coordinator-jobs";

export class JobError extends Error {
  constructor(
    readonly code: ErrorCode,
    /** Stable machine-readable reason, UPPER_SNAKE_CASE. */
    readonly reason: string,
    message: string,
    readonly metadata: Record<string, string> = {},
    readonly violations: FieldViolation[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "JobError";
  }
}

export function invalidArgument(violations: FieldViolation[]): JobError {
  const first = violations[0];
  const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : "";
  return new JobError(
    "INVALID_ARGUMENT",
    "INVALID_FIELD",
    `invalid ${first.field}: ${first.description}${more}`,
    { field: first.field },
    violations,
  );
}

export function jobNotFound(id: string): JobError {
  return new JobError("NOT_FOUND", "JOB_NOT_FOUND", `job ${id} not found`, { id });
}

export function invalidTransition(id: string, from: string, to: string): JobError {
  return new JobError(
    "FAILED_PRECONDITION",
    "INVALID_TRANSITION",
    `job ${id} cannot move from ${from} to ${to}`,
    { id, from, to },
  );
}

export function jobNotRunning(id: string, status: string): JobError {
  return new JobError(
    "FAILED_PRECONDITION",
    "JOB_NOT_RUNNING",
    `job ${id} is ${status}: progress is accepted only while it is RUNNING`,
    { id, status },
  );
}

export function alreadyFinished(id: string, status: string, what: string): JobError {
  return new JobError(
    "FAILED_PRECONDITION",
    "JOB_ALREADY_FINISHED",
    `job ${id} is already ${status} with a different ${what}; a finished job cannot change`,
    { id, status },
  );
}

export function versionMismatch(id: string, expected: bigint, actual: bigint): JobError {
  return new JobError(
    "ABORTED",
    "VERSION_MISMATCH",
    `job ${id} is at version ${actual}, not the expected ${expected}: read it again and retry`,
    { id, expected_version: String(expected), version: String(actual) },
  );
}

export function requestIdConflict(requestId: string, jobId: string): JobError {
  return new JobError(
    "ALREADY_EXISTS",
    "REQUEST_ID_REUSED",
    `request_id ${requestId} was already used for job ${jobId} with a different request; use a new request_id`,
    { request_id: requestId, id: jobId },
  );
}

export function invalidPageToken(): JobError {
  return invalidArgument([{ field: "page_token", description: "not a token returned by GetJob; omit it to read from the start" }]);
}
