/**
 * The one place where thrown values become transport errors. Domain errors keep their code and
 * gain google.rpc ErrorInfo and BadRequest details. Database, Redis and timeout failures are
 * mapped by class or SQLSTATE to UNAVAILABLE, ABORTED or DEADLINE_EXCEEDED with a generic message,
 * and anything else is INTERNAL. The original error stays as `cause` for the log and never reaches the
 * client's message.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ConnectionException, DeadlockException, DriverException, LockWaitTimeoutException } from "@mikro-orm/core";
import { BadRequestSchema, BadRequest_FieldViolationSchema, ErrorInfoSchema } from "../../gen/es/google/rpc/error_details_pb";
import { ERROR_DOMAIN, type ErrorCode, JobError } from "../domain/errors";
import { TimeoutError } from "../timeout";

const CODES: Record<ErrorCode, Code> = {
  INVALID_ARGUMENT: Code.InvalidArgument,
  NOT_FOUND: Code.NotFound,
  ALREADY_EXISTS: Code.AlreadyExists,
  FAILED_PRECONDITION: Code.FailedPrecondition,
  ABORTED: Code.Aborted,
  RESOURCE_EXHAUSTED: Code.ResourceExhausted,
  UNAVAILABLE: Code.Unavailable,
  DEADLINE_EXCEEDED: Code.DeadlineExceeded,
  UNAUTHENTICATED: Code.Unauthenticated,
  INTERNAL: Code.Internal,
};

/** SQLSTATE classes and codes that mean the database is unreachable or shutting down. */
const UNAVAILABLE_SQLSTATES = /^(08|57P0[1-3]|53)/;
/** 57014: the statement was cancelled by statement_timeout or by the client's deadline. */
const CANCELLED_SQLSTATE = "57014";

function errorInfo(reason: string, metadata: Record<string, string>) {
  return { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { domain: ERROR_DOMAIN, reason, metadata }) };
}

export function fromJobError(error: JobError): ConnectError {
  const details: ConstructorParameters<typeof ConnectError>[3] = [errorInfo(error.reason, error.metadata)];
  if (error.violations.length > 0) {
    const fieldViolations = error.violations.map((violation) => create(BadRequest_FieldViolationSchema, violation));
    details.push({ desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations }) });
  }
  return new ConnectError(error.message, CODES[error.code], undefined, details, error);
}

function unavailable(what: string, cause: unknown): ConnectError {
  return new ConnectError(`${what}; retry later`, Code.Unavailable, undefined, [errorInfo("DEPENDENCY_UNAVAILABLE", {})], cause);
}

/** Normalises any thrown value to a ConnectError; the input is kept as `cause`. */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof JobError) return fromJobError(error);
  if (error instanceof DeadlockException || error instanceof LockWaitTimeoutException) {
    return new ConnectError("the job was changed concurrently; retry", Code.Aborted, undefined, [errorInfo("CONCURRENT_CHANGE", {})], error);
  }
  if (error instanceof ConnectionException) return unavailable("the database is unreachable", error);
  if (error instanceof DriverException) {
    const sqlState = (error as DriverException & { code?: string }).code ?? "";
    if (sqlState === CANCELLED_SQLSTATE) {
      return new ConnectError("the database did not respond in time", Code.DeadlineExceeded, undefined, [], error);
    }
    if (UNAVAILABLE_SQLSTATES.test(sqlState)) return unavailable("the database is unavailable", error);
    // Without a SQLSTATE the error came from the client library, not the server: the connection
    // broke (for example "Connection terminated unexpectedly" when the server went away).
    if (sqlState === "") return unavailable("the database is unreachable", error);
  }
  if (error instanceof TimeoutError) return unavailable("a dependency did not respond in time", error);
  if (isConnectionFailure(error)) return unavailable("the database is unreachable", error);
  return new ConnectError("internal error", Code.Internal, undefined, [], error);
}

/** Pool and socket failures that knex and pg raise as plain errors, recognised by name or errno code. */
function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (
    error.name === "KnexTimeoutError" ||
    (typeof code === "string" && ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH"].includes(code))
  );
}
