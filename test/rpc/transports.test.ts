import * as grpc from "@grpc/grpc-js";
import { JobStatus } from "../../gen/es/coordinator/v1/job_pb";
import { type Protocol, jobsClient } from "../support/clients";
import { keyMetadata, loadDynamicClient, unary } from "../support/grpc-js-clients";
import { createJobRequest } from "../support/requests";
import { TEST_API_KEY, type TestApp, startTestApp } from "../support/test-app";

let harness: TestApp;

beforeAll(async () => {
  harness = await startTestApp("transports");
});

afterAll(async () => {
  await harness.close();
});

const PROTOCOLS: Protocol[] = ["connect-json-http1", "connect-binary-http2", "grpc-web-http1", "grpc-http2"];

test.each(PROTOCOLS)("serves the job lifecycle over %s on the one port", async (protocol) => {
  const client = jobsClient(harness.baseUrl, protocol);
  const { job } = await client.createJob(createJobRequest());
  await client.updateJobStatus({ id: job!.id, status: JobStatus.RUNNING });
  await client.updateJobProgress({ id: job!.id, percent: 50, message: "halfway", step: { name: "implement" } });
  await client.completeJob({ id: job!.id, result: { protocol }, summary: protocol });
  const page = await client.getJob({ id: job!.id });
  expect(page.job!.status).toBe(JobStatus.COMPLETED);
  expect(page.job!.result).toEqual({ protocol });
  expect(page.events.map((event) => event.type)).toEqual([
    "job.created",
    "job.queued",
    "job.started",
    "step.started",
    "job.progress",
    "step.completed",
    "job.completed",
  ]);
});

test("answers a grpc-js client built from the .proto files at run time", async () => {
  const client = loadDynamicClient(harness.port);
  try {
    const metadata = keyMetadata(TEST_API_KEY.secret);
    const created = await unary<{ job: { id: string; status: string; version: string } }>(
      client,
      "createJob",
      { requestId: `dynamic-${Date.now()}`, type: "code-task", source: { repository: "octo/widgets" } },
      metadata,
    );
    expect(created.job.status).toBe("JOB_STATUS_QUEUED");
    expect(created.job.version).toBe("2");
    const read = await unary<{ job: { id: string }; events: { type: string; actor: string }[] }>(client, "getJob", { id: created.job.id }, metadata);
    expect(read.job.id).toBe(created.job.id);
    expect(read.events.map((event) => `${event.type}/${event.actor}`)).toEqual(["job.created/coordinator", "job.queued/system"]);

    const error = await unary(client, "getJob", { id: "not-a-uuid" }, metadata).catch((thrown: grpc.ServiceError) => thrown);
    expect((error as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((error as grpc.ServiceError).details).toBe('invalid id: must be a UUID, got "not-a-uuid"');
  } finally {
    client.close();
  }
});

test("returns the same job over REST, Connect JSON and gRPC", async () => {
  const { job } = await jobsClient(harness.baseUrl).createJob(createJobRequest());
  const headers = { "x-api-key": TEST_API_KEY.secret };
  type JobAnswer = { job: { id: string; requestId: string; status: string; version: string } };
  const rest = (await (await fetch(`${harness.baseUrl}/coordinator/jobs/${job!.id}`, { headers })).json()) as JobAnswer;
  const connect = await (
    await fetch(`${harness.baseUrl}/coordinator.v1.CoordinatorJobsService/GetJob`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ id: job!.id }),
    })
  ).json();
  const client = loadDynamicClient(harness.port);
  try {
    const grpcAnswer = await unary<{ job: { id: string; requestId: string; status: string; version: string } }>(
      client,
      "getJob",
      { id: job!.id },
      keyMetadata(TEST_API_KEY.secret),
    );
    expect(rest).toEqual(connect);
    expect(rest.job.id).toBe(job!.id);
    expect(grpcAnswer.job.id).toBe(rest.job.id);
    expect(grpcAnswer.job.requestId).toBe(rest.job.requestId);
    expect(grpcAnswer.job.status).toBe(rest.job.status);
    expect(grpcAnswer.job.version).toBe(rest.job.version);
  } finally {
    client.close();
  }
});
