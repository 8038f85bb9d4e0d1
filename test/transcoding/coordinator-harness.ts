/**
 * A real Connect router with a small CoordinatorJobsService that records each call it
 * receives, behind the transcoder on an HTTP server bound to 127.0.0.1.
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, createRegistry, toJson, type JsonValue, type Registry } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  createConnectRouter,
  createContextKey,
  createContextValues,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import { codeFromString } from "@connectrpc/connect/protocol-connect";
import {
  CoordinatorJobsService,
  HealthStatus,
  StepReportSchema,
  type GetHealthResponse,
} from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { JobStatus } from "../../gen/es/coordinator/v1/job_pb";
import { BadRequestSchema, ErrorInfoSchema, file_google_rpc_error_details } from "../../gen/es/google/rpc/error_details_pb";
import { createTranscoder, type Transcoder } from "../../src/transcoding";

/** What the service implementation saw of one call. */
export interface ReceivedCall {
  method: string;
  request: JsonValue;
  headers: Record<string, string>;
  protocol: string;
  timeoutMs: number | undefined;
  user: string | undefined;
}

export interface LogEntry {
  level: "warn" | "error";
  details: object;
  message: string;
}

export interface CoordinatorHarness {
  baseUrl: string;
  transcoder: Transcoder;
  calls: ReceivedCall[];
  logs: LogEntry[];
  /** The overall status that GetHealth reports. */
  health: { status: HealthStatus };
  /** Resolves when CompleteJob with summary "wait" starts waiting for its signal. */
  waitingStarted: Promise<void>;
  /** Resolves with the abort reason that CompleteJob with summary "wait" observed. */
  waitingAborted: Promise<unknown>;
  close(): Promise<void>;
}

export const createdAt = timestampFromDate(new Date("2024-05-01T10:00:00Z"));

const userKey = createContextKey<string | undefined>(undefined, { description: "test user" });

/** Headers that the tests check to see what reached the handler. */
const recordedHeaders = ["authorization", "x-api-key", "x-request-id", "content-type", "accept-encoding", "connect-protocol-version", "host"];

export async function startCoordinatorServer(
  options: { registry?: Registry; maxBodyBytes?: number; http2?: boolean } = {},
): Promise<CoordinatorHarness> {
  const calls: ReceivedCall[] = [];
  const logs: LogEntry[] = [];
  const health = { status: HealthStatus.SERVING };
  let markWaitingStarted = () => {};
  let markWaitingAborted: (reason: unknown) => void = () => {};
  const waitingStarted = new Promise<void>((resolve) => (markWaitingStarted = resolve));
  const waitingAborted = new Promise<unknown>((resolve) => (markWaitingAborted = resolve));

  const record = (context: HandlerContext, request: JsonValue) => {
    const headers: Record<string, string> = {};
    for (const name of recordedHeaders) {
      const value = context.requestHeader.get(name);
      if (value !== null) {
        headers[name] = value;
      }
    }
    calls.push({
      method: context.method.name,
      request,
      headers,
      protocol: context.protocolName,
      timeoutMs: context.timeoutMs(),
      user: context.values.get(userKey),
    });
  };

  const rejectRevokedKeys: Interceptor = (next) => async (request) => {
    if (request.header.get("x-api-key") === "revoked") {
      throw new ConnectError("API key is revoked", Code.Unauthenticated);
    }
    const response = await next(request);
    response.header.set("x-served-by", "test-router");
    return response;
  };

  const router = createConnectRouter({ interceptors: [rejectRevokedKeys] });
  router.service(CoordinatorJobsService, {
    createJob(request, context) {
      record(context, toJson(context.method.input, request));
      if (request.type === "throw-plain") {
        throw new Error("database connection refused");
      }
      return {
        job: {
          id: "job-1",
          requestId: request.requestId,
          type: request.type,
          queue: request.queue || "default",
          priority: request.priority,
          status: JobStatus.QUEUED,
          source: request.source,
          payload: request.payload,
          version: 1n,
          createdAt,
        },
        created: true,
        dispatched: true,
      };
    },
    updateJobStatus(request, context) {
      record(context, toJson(context.method.input, request));
      const version = (request.expectedVersion ?? 0n) + 1n;
      return { job: { id: request.id, status: request.status, error: request.message, version } };
    },
    updateJobProgress(request, context) {
      record(context, toJson(context.method.input, request));
      return { job: { id: request.id, progressPercent: request.percent, progressMessage: request.message } };
    },
    async completeJob(request, context) {
      record(context, toJson(context.method.input, request));
      if (request.summary === "wait") {
        markWaitingStarted();
        await new Promise((resolve) => context.signal.addEventListener("abort", resolve, { once: true }));
        markWaitingAborted(context.signal.reason);
        throw context.signal.reason;
      }
      return { job: { id: request.id, status: JobStatus.COMPLETED, summary: request.summary, result: request.result } };
    },
    failJob(request, context) {
      record(context, toJson(context.method.input, request));
      throw simulatedError(request.id, request.error);
    },
    getJob(request, context) {
      record(context, toJson(context.method.input, request));
      if (request.id === "missing") {
        throw new ConnectError("job missing not found", Code.NotFound, undefined, [
          { desc: ErrorInfoSchema, value: { reason: "JOB_NOT_FOUND", domain: "coordinator.test", metadata: { jobId: "missing" } } },
        ]);
      }
      return {
        job: { id: request.id, priority: request.pageSize, summary: request.pageToken, status: JobStatus.RUNNING, version: 7n },
        nextPageToken: "next",
      };
    },
    getHealth(request, context) {
      record(context, toJson(context.method.input, request));
      return {
        status: health.status,
        dependencies: [{ name: "database", status: HealthStatus.SERVING, latencyMs: 3n, counts: { waiting: 2n } }],
        checkedAt: createdAt,
      };
    },
  });

  const transcoder = createTranscoder({
    services: [CoordinatorJobsService],
    handlers: router.handlers,
    registry: options.registry ?? createRegistry(file_google_rpc_error_details),
    maxBodyBytes: options.maxBodyBytes ?? 1024,
    successStatus: new Map([
      [
        CoordinatorJobsService.method.getHealth,
        (response) => ((response as GetHealthResponse).status === HealthStatus.NOT_SERVING ? 503 : undefined),
      ],
    ]),
    contextValues: (request) => {
      const user = request.headers["x-user"];
      return createContextValues().set(userKey, typeof user === "string" ? user : undefined);
    },
    logger: {
      warn: (details, message) => logs.push({ level: "warn", details, message }),
      error: (details, message) => logs.push({ level: "error", details, message }),
    },
  });

  const listener = (
    request: http.IncomingMessage | http2.Http2ServerRequest,
    response: http.ServerResponse | http2.Http2ServerResponse,
  ) => {
    void transcoder.handle(request, response).then((handled) => {
      if (!handled) {
        response.writeHead(418, { "content-type": "text/plain" });
        response.end("not transcoded");
      }
    });
  };
  // http2.createServer without TLS serves HTTP/2 over cleartext (h2c), which fetch cannot speak.
  const server = options.http2 ? http2.createServer(listener) : http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    transcoder,
    calls,
    logs,
    health,
    waitingStarted,
    waitingAborted,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        if (server instanceof http.Server) {
          server.closeAllConnections();
        }
      }),
  };
}

/**
 * Returns the error that FailJob throws for `error`, a Connect code name such as
 * "not_found". Every error carries an ErrorInfo. Some names add more:
 * "invalid_argument" a BadRequest, "unavailable" a Retry-After header,
 * "unauthenticated_with_challenge" its own WWW-Authenticate header, and
 * "unknown_detail" a detail of a type that the transcoder registry lacks.
 */
function simulatedError(jobId: string, error: string): ConnectError {
  const errorInfo = {
    desc: ErrorInfoSchema,
    value: create(ErrorInfoSchema, { reason: "SIMULATED", domain: "coordinator.test", metadata: { jobId } }),
  };
  switch (error) {
    case "invalid_argument":
      return new ConnectError(`job ${jobId}: simulated invalid_argument`, Code.InvalidArgument, undefined, [
        errorInfo,
        { desc: BadRequestSchema, value: { fieldViolations: [{ field: "error", description: "must not be empty" }] } },
      ]);
    case "unavailable":
      return new ConnectError(`job ${jobId}: simulated unavailable`, Code.Unavailable, { "retry-after": "5" }, [errorInfo]);
    case "unauthenticated_with_challenge":
      return new ConnectError(`job ${jobId}: token expired`, Code.Unauthenticated, {
        "www-authenticate": 'Bearer error="invalid_token"',
      });
    case "unknown_detail":
      return new ConnectError(`job ${jobId}: simulated unknown detail`, Code.Internal, undefined, [
        { desc: StepReportSchema, value: { name: "plan" } },
        errorInfo,
      ]);
    case "read_limit":
      return new ConnectError("message size 5000 is larger than configured readMaxBytes 4096", Code.ResourceExhausted);
  }
  const code = codeFromString(error);
  if (code === undefined) {
    throw new Error(`test bug: "${error}" is not a Connect code name`);
  }
  return new ConnectError(`job ${jobId}: simulated ${error}`, code, undefined, [errorInfo]);
}
