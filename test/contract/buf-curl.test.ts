/**
 * Calls every RPC of the real service with `buf curl`, as a user of the API would: over gRPC,
 * Connect and gRPC-Web on h2c with the schema from server reflection, and over HTTP/1.1 with the
 * released contract image as the schema. Needs the local PostgreSQL and Redis (see startTestApp).
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/es/grpc/health/v1/health_pb";
import { TEST_API_KEY, type TestApp, startTestApp } from "../support/test-app";
import { type BufResult, REPOSITORY_ROOT, bufCurl } from "./buf-cli";

const RELEASED_IMAGE = path.join(REPOSITORY_ROOT, "test/contract/released.binpb");
const SERVICE = "coordinator.v1.CoordinatorJobsService";
const KEY_HEADER = ["-H", `x-api-key: ${TEST_API_KEY.secret}`];
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** gRPC status codes, as buf curl shifts them into its exit code (code << 3). */
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const UNAUTHENTICATED = 16;

const TRANSPORTS = [
  { name: "grpc on h2c with reflection", flags: ["--protocol", "grpc", "--http2-prior-knowledge"] },
  { name: "connect on h2c with reflection", flags: ["--protocol", "connect", "--http2-prior-knowledge"] },
  { name: "grpcweb on h2c with reflection", flags: ["--protocol", "grpcweb", "--http2-prior-knowledge"] },
  { name: "connect on HTTP/1.1 with the released schema", flags: ["--protocol", "connect", "--schema", RELEASED_IMAGE] },
  { name: "grpcweb on HTTP/1.1 with the released schema", flags: ["--protocol", "grpcweb", "--schema", RELEASED_IMAGE] },
];

let harness: TestApp;

beforeAll(async () => {
  harness = await startTestApp("buf_curl");
});

afterAll(async () => {
  await harness.close();
});

/** Expects a successful buf curl run and returns its JSON output. */
function succeeded(result: BufResult): Record<string, any> {
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

/** Expects a failed RPC: buf curl exits with the gRPC code shifted left by three and prints the error JSON. */
function failed(result: BufResult, grpcCode: number): Record<string, any> {
  expect(result.stdout).toBe("");
  expect(result.code).toBe(grpcCode << 3);
  return JSON.parse(result.stderr);
}

describe.each(TRANSPORTS)("$name", ({ name, flags }) => {
  const call = (method: string, body: unknown, headers: string[] = KEY_HEADER) => bufCurl(`${harness.baseUrl}/${SERVICE}/${method}`, [...flags, ...headers], body);

  test("job lifecycle through every mutation", async () => {
    const requestId = `buf-curl-${randomUUID()}`;
    const request = { requestId, type: "code-task", source: { forge: "gitea", repository: "octo/widgets", issueNumber: 7 }, payload: { transport: name } };

    const created = succeeded(await call("CreateJob", request));
    expect(created.created).toBe(true);
    expect(created.dispatched).toBe(true);
    expect(created.job.id).toMatch(UUID_PATTERN);
    expect(created.job.requestId).toBe(requestId);
    expect(created.job.status).toBe("JOB_STATUS_QUEUED");
    expect(created.job.version).toBe("2");
    expect(created.job.payload).toEqual({ transport: name });
    const id: string = created.job.id;

    // Proto3 JSON leaves out fields with default values, so created: false is absent.
    const repeated = succeeded(await call("CreateJob", request));
    expect(repeated).not.toHaveProperty("created");
    expect(repeated.job.id).toBe(id);

    const running = succeeded(await call("UpdateJobStatus", { id, status: "JOB_STATUS_RUNNING", message: "picked up" }));
    expect(running.job.status).toBe("JOB_STATUS_RUNNING");
    expect(running.job.startedAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    const progressed = succeeded(await call("UpdateJobProgress", { id, percent: 50, message: "halfway", step: { name: "implement", phase: "implement" } }));
    expect(progressed.job.progressPercent).toBe(50);
    expect(progressed.job.progressMessage).toBe("halfway");

    const completed = succeeded(await call("CompleteJob", { id, result: { transport: name }, summary: "done", expectedVersion: progressed.job.version }));
    expect(completed.job.status).toBe("JOB_STATUS_COMPLETED");
    expect(completed.job.result).toEqual({ transport: name });
    expect(completed.job.progressPercent).toBe(100);
    expect(BigInt(completed.job.version)).toBeGreaterThan(BigInt(progressed.job.version));

    const read = succeeded(await call("GetJob", { id, pageSize: 100 }));
    expect(read.job.status).toBe("JOB_STATUS_COMPLETED");
    expect(read.steps.map((step: { name: string; status: string }) => `${step.name}/${step.status}`)).toEqual(["implement/STEP_STATUS_COMPLETED"]);
    expect(read.events.map((event: { type: string }) => event.type)).toEqual([
      "job.created",
      "job.queued",
      "job.started",
      "step.started",
      "job.progress",
      "step.completed",
      "job.completed",
    ]);
    expect(read.events[0].actor).toBe(TEST_API_KEY.name);
    expect(read.events[0].sequence).toBe("1");
  });

  test("FailJob records the error and gates", async () => {
    const created = succeeded(await call("CreateJob", { requestId: `buf-curl-${randomUUID()}`, type: "code-task" }));
    const id: string = created.job.id;
    succeeded(await call("UpdateJobStatus", { id, status: "JOB_STATUS_RUNNING" }));

    const failedJob = succeeded(await call("FailJob", { id, error: "tests failed", gates: [{ name: "tests", passed: false, message: "2 failed" }] }));
    expect(failedJob.job.status).toBe("JOB_STATUS_FAILED");
    expect(failedJob.job.error).toBe("tests failed");
    expect(failedJob.job.gates).toEqual([{ name: "tests", message: "2 failed", details: {} }]);
  });

  test("GetHealth answers without an API key", async () => {
    const health = succeeded(await call("GetHealth", {}, []));
    expect(health.status).toBe("HEALTH_STATUS_SERVING");
    expect(health.dependencies.map((dependency: { name: string }) => dependency.name)).toEqual(["database", "queue", "herald", "outbox"]);
    expect(health.checkedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  test("invalid id prints INVALID_ARGUMENT", async () => {
    const error = failed(await call("GetJob", { id: "not-a-uuid" }), INVALID_ARGUMENT);
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toBe('invalid id: must be a UUID, got "not-a-uuid"');
    expect(error.details.map((detail: { type: string }) => detail.type)).toContain("google.rpc.BadRequest");
  });

  test("unknown job prints NOT_FOUND", async () => {
    const id = randomUUID();
    const error = failed(await call("GetJob", { id }), NOT_FOUND);
    expect(error.code).toBe("not_found");
    expect(error.message).toContain(id);
  });

  test("missing API key prints UNAUTHENTICATED", async () => {
    const error = failed(await call("CreateJob", { requestId: `buf-curl-${randomUUID()}`, type: "code-task" }, []), UNAUTHENTICATED);
    expect(error).toEqual({ code: "unauthenticated", message: "missing API key: send it in the x-api-key header or as Authorization: Bearer <key>" });
  });
});

test("--list-methods lists the service, health and reflection", async () => {
  const listed = await bufCurl(harness.baseUrl, ["--protocol", "grpc", "--http2-prior-knowledge", "--list-methods"]);
  expect(listed.stderr).toBe("");
  expect(listed.code).toBe(0);
  expect(listed.stdout.trim().split("\n")).toEqual([
    `${SERVICE}/CompleteJob`,
    `${SERVICE}/CreateJob`,
    `${SERVICE}/FailJob`,
    `${SERVICE}/GetHealth`,
    `${SERVICE}/GetJob`,
    `${SERVICE}/UpdateJobProgress`,
    `${SERVICE}/UpdateJobStatus`,
    "grpc.health.v1.Health/Check",
    "grpc.health.v1.Health/List",
    "grpc.health.v1.Health/Watch",
    "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
  ]);
});

test("grpc.health.v1 Check reports the service SERVING", async () => {
  const result = await bufCurl(`${harness.baseUrl}/grpc.health.v1.Health/Check`, ["--protocol", "grpc", "--http2-prior-knowledge"], { service: SERVICE });
  expect(succeeded(result)).toEqual({ status: "SERVING" });
});

test("grpc.health.v1 Watch sends SERVING at once", async () => {
  const client = createClient(Health, createGrpcTransport({ baseUrl: harness.baseUrl }));
  const abort = new AbortController();
  try {
    const stream = client.watch({ service: "" }, { signal: abort.signal })[Symbol.asyncIterator]();
    const first = await stream.next();
    expect(first.done).toBe(false);
    expect(first.value.status).toBe(ServingStatus.SERVING);
  } finally {
    abort.abort();
  }
});

test("GET /openapi.json serves the REST description", async () => {
  const response = await fetch(`${harness.baseUrl}/openapi.json`);
  expect(response.status).toBe(200);
  const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
  expect(document.openapi).toBe("3.1.0");
  expect(Object.keys(document.paths)).toContain("/coordinator/jobs/{id}");
});
