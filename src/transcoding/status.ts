import { create, toJson, type DescMessage, type JsonObject, type JsonValue, type Registry } from "@bufbuild/protobuf";
import { AnySchema, anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/es/google/rpc/error_details_pb";

/**
 * An error raised by the transcoder itself, before a handler runs. It carries the
 * HTTP status to send, because some statuses (405, 413, 415) have no gRPC code of
 * their own.
 */
export class TranscodingError extends Error {
  constructor(
    message: string,
    readonly code: Code,
    readonly httpStatus: number,
    readonly details: { desc: DescMessage; value: unknown }[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "TranscodingError";
  }
}

/** Returns a 400 INVALID_ARGUMENT error with a google.rpc.BadRequest detail listing the field violations. */
export function invalidArgument(
  message: string,
  fieldViolations: { field: string; description: string }[] = [],
): TranscodingError {
  const details =
    fieldViolations.length === 0 ? [] : [{ desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations }) }];
  return new TranscodingError(message, Code.InvalidArgument, 400, details);
}

/**
 * Returns the HTTP status for a gRPC code, as in google/rpc/code.proto, except that
 * RESOURCE_EXHAUSTED for a message over the handler's read limit is 413, not 429.
 */
export function httpStatusForCode(code: Code, message: string): number {
  switch (code) {
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
      return 400;
    case Code.Unauthenticated:
      return 401;
    case Code.PermissionDenied:
      return 403;
    case Code.NotFound:
      return 404;
    case Code.Aborted:
    case Code.AlreadyExists:
      return 409;
    case Code.ResourceExhausted:
      // NOTE: @connectrpc/connect 2.1.2 has no structured marker for this case, so the
      // check relies on the message of its readMaxBytes error.
      return /larger than configured readMaxBytes/.test(message) ? 413 : 429;
    case Code.Canceled:
      return 499;
    case Code.Unimplemented:
      return 501;
    case Code.Unavailable:
      return 503;
    case Code.DeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

/** A google.rpc.Status JSON error response, ready to write. */
export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: JsonObject;
}

/**
 * Builds the google.rpc.Status JSON response for a handler's ConnectError or a
 * TranscodingError. Each detail becomes proto3 JSON with "@type". A detail whose type
 * the registry does not contain is left out and reported through `onDroppedDetail`.
 * `handlerHeaders` are the handler's response headers that may reach the client.
 * UNAUTHENTICATED gets `WWW-Authenticate: Bearer` unless those headers set one.
 */
export function buildErrorResponse(
  error: ConnectError | TranscodingError,
  registry: Registry,
  onDroppedDetail: (typeUrl: string, reason: unknown) => void,
  handlerHeaders: Record<string, string> = {},
): ErrorResponse {
  const isOwn = error instanceof TranscodingError;
  const message = isOwn ? error.message : error.rawMessage;
  const status = isOwn ? error.httpStatus : httpStatusForCode(error.code, message);
  const headers: Record<string, string> = isOwn ? { ...error.headers } : { ...handlerHeaders };
  if (error.code === Code.Unauthenticated && headers["www-authenticate"] === undefined) {
    headers["www-authenticate"] = "Bearer";
  }

  const details: JsonValue[] = [];
  for (const any of detailsAsAny(error)) {
    try {
      details.push(toJson(AnySchema, any, { registry }));
    } catch (reason) {
      onDroppedDetail(any.typeUrl, reason);
    }
  }
  return { status, headers, body: { code: error.code, message, details } };
}

function detailsAsAny(error: ConnectError | TranscodingError): Any[] {
  return error.details.map((detail) => {
    if ("desc" in detail) {
      return anyPack(detail.desc, create(detail.desc, detail.value as never));
    }
    return create(AnySchema, { typeUrl: `type.googleapis.com/${detail.type}`, value: detail.value });
  });
}
