import * as grpc from "@grpc/grpc-js";
import {
  CreateJobRequest,
  GetJobRequest,
  UpdateJobProgressRequest,
  UpdateJobStatusRequest,
} from "../../gen/ts-proto/coordinator/v1/coordinator_jobs_service";
import { JobStatus } from "../../gen/ts-proto/coordinator/v1/job";
import { BadRequest, ErrorInfo } from "../../gen/ts-proto/google/rpc/error_details";
import { Status } from "../../gen/ts-proto/google/rpc/status";
import { keyMetadata, tsProtoClient } from "../support/grpc-js-clients";
import { lockJobRow } from "../support/database";
import { TEST_API_KEY, type TestApp, startTestApp } from "../support/test-app";

type CoordinatorClient = ReturnType<typeof tsProtoClient>;
let harness: TestApp;
let client: CoordinatorClient;

beforeAll(async () => {
  harness = await startTestApp("grpcjs");
  client = tsProtoClient(harness.port);
});

afterAll(async () => {
  client.close();
  await harness.close();
});

/** Turns a callback-style grpc-js call into a promise of the response or the ServiceError. */
function call<Request, Response>(
  method: (request: Request, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: (error: grpc.ServiceError | null, response: Response) => void) => unknown,
  request: Request,
  metadata = keyMetadata(TEST_API_KEY.secret),
  options: Partial<grpc.CallOptions> = {},
): Promise<Response> {
  return new Promise((resolve, reject) => {
    method.call(client, request, metadata, options, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

async function failure(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** Decodes google.rpc.Status from the grpc-status-details-bin trailer into its ErrorInfo and BadRequest. */
function richDetails(error: grpc.ServiceError): { status: Status; info?: ErrorInfo; badRequest?: BadRequest } {
  const [raw] = error.metadata.get("grpc-status-details-bin");
  const status = Status.decode(raw as Buffer);
  const info = status.details.find((any) => any.typeUrl.endsWith("/google.rpc.ErrorInfo"));
  const badRequest = status.details.find((any) => any.typeUrl.endsWith("/google.rpc.BadRequest"));
  return {
    status,
    info: info && ErrorInfo.decode(info.value),
    badRequest: badRequest && BadRequest.decode(badRequest.value),
  };
}

test("runs unary calls with the generated grpc-js client and the API key in metadata", async () => {
  const created = await call(client.createJob, CreateJobRequest.fromPartial({ requestId: `ts-proto-${Date.now()}`, type: "code-task" }));
  expect(created.created).toBe(true);
  expect(created.job?.status).toBe(JobStatus.JOB_STATUS_QUEUED);
  const id = created.job!.id;
  await call(client.updateJobStatus, UpdateJobStatusRequest.fromPartial({ id, status: JobStatus.JOB_STATUS_RUNNING }));
  const progress = await call(client.updateJobProgress, UpdateJobProgressRequest.fromPartial({ id, percent: 30, message: "working" }));
  expect(progress.job?.progressPercent).toBe(30);
  const read = await call(client.getJob, GetJobRequest.fromPartial({ id }));
  expect(read.events.map((event) => event.type)).toEqual(["job.created", "job.queued", "job.started", "job.progress"]);
  expect(read.events.map((event) => event.sequence)).toEqual([1, 2, 3, 4]);
});

test("reports UNAUTHENTICATED without the API key", async () => {
  const error = await failure(call(client.getJob, GetJobRequest.fromPartial({ id: "00000000-0000-4000-8000-000000000000" }), new grpc.Metadata()));
  expect(error.code).toBe(grpc.status.UNAUTHENTICATED);
  expect(error.details).toBe("missing API key: send it in the x-api-key header or as Authorization: Bearer <key>");
});

test("decodes ErrorInfo and BadRequest from grpc-status-details-bin", async () => {
  const invalid = await failure(call(client.updateJobProgress, UpdateJobProgressRequest.fromPartial({ id: "nope", percent: 101 })));
  expect(invalid.code).toBe(grpc.status.INVALID_ARGUMENT);
  const details = richDetails(invalid);
  expect(details.status.code).toBe(grpc.status.INVALID_ARGUMENT);
  expect(details.info?.reason).toBe("INVALID_FIELD");
  expect(details.info?.domain).toBe("coordinator-jobs");
  expect(details.badRequest?.fieldViolations.map((violation) => violation.field)).toEqual(["id", "percent"]);

  const missing = "00000000-0000-4000-8000-00000000abcd";
  const notFound = await failure(call(client.getJob, GetJobRequest.fromPartial({ id: missing })));
  expect(notFound.code).toBe(grpc.status.NOT_FOUND);
  expect(notFound.details).toBe(`job ${missing} not found`);
  expect(richDetails(notFound).info?.metadata).toEqual({ id: missing });
});

test("ends a call past its deadline with DEADLINE_EXCEEDED", async () => {
  const created = await call(client.createJob, CreateJobRequest.fromPartial({ requestId: `deadline-${Date.now()}`, type: "code-task" }));
  const lock = await lockJobRow(harness.config.databaseSchema, created.job!.id);
  try {
    const request = UpdateJobStatusRequest.fromPartial({ id: created.job!.id, status: JobStatus.JOB_STATUS_RUNNING });
    const error = await failure(call(client.updateJobStatus, request, keyMetadata(TEST_API_KEY.secret), { deadline: Date.now() + 300 }));
    expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  } finally {
    await lock.release();
  }
});
