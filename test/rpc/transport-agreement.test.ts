/**
 * The same request over REST, Connect JSON and gRPC gives the same response, for every RPC, both for
 * successes and for errors. Responses are compared as proto3 JSON with the per-job values (ids,
 * request ids, times) set aside.
 */
import { fromJson, toJson } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { CoordinatorJobsService } from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { TEST_API_KEY, type TestApp, startTestApp } from "../support/test-app";

type Json = Record<string, unknown>;
let harness: TestApp;

beforeAll(async () => {
  harness = await startTestApp("agreement");
});

afterAll(async () => {
  await harness.close();
});

const headers = { "x-api-key": TEST_API_KEY.secret, "content-type": "application/json" };

/** One call made three ways; each returns proto3 JSON of the response, or of the error as { code, message }. */
interface Transport {
  name: string;
  call(method: keyof typeof CoordinatorJobsService.method, request: Json, rest: { verb: string; path: string; body?: Json }): Promise<Json>;
}

const rest: Transport = {
  name: "REST",
  async call(_method, _request, { verb, path, body }) {
    const response = await fetch(`${harness.baseUrl}${path}`, { method: verb, headers, body: body ? JSON.stringify(body) : undefined });
    const json = (await response.json()) as Json;
    return response.ok ? json : { error: { code: json.code, message: json.message } };
  },
};

const connectJson: Transport = {
  name: "Connect JSON",
  async call(method, request) {
    const name = CoordinatorJobsService.method[method].name;
    const response = await fetch(`${harness.baseUrl}/coordinator.v1.CoordinatorJobsService/${name}`, {
      method: "POST",
      headers,
      body: JSON.stringify(request),
    });
    const json = (await response.json()) as Json;
    if (response.ok) return json;
    return { error: { code: codeFromConnectName(String(json.code)), message: json.message } };
  },
};

const grpcClient = () =>
  createClient(
    CoordinatorJobsService,
    createGrpcTransport({
      baseUrl: harness.baseUrl,
      interceptors: [(next) => (request) => (request.header.set("x-api-key", TEST_API_KEY.secret), next(request))],
    }),
  );

const grpc: Transport = {
  name: "gRPC",
  async call(method, request) {
    const descriptor = CoordinatorJobsService.method[method];
    try {
      const invoke = grpcClient()[method] as unknown as (request: unknown) => Promise<never>;
      const response = await invoke(fromJson(descriptor.input, request as never));
      return toJson(descriptor.output, response) as Json;
    } catch (thrown) {
      const error = ConnectError.from(thrown);
      return { error: { code: error.code, message: error.rawMessage } };
    }
  },
};

/** Maps a Connect error code name ("not_found") to its gRPC number. */
function codeFromConnectName(name: string): number {
  const names = ["ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists", "permission_denied",
    "resource_exhausted", "failed_precondition", "aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated"];
  return names.indexOf(name);
}

const PER_JOB_KEYS = new Set(["id", "requestId", "createdAt", "queuedAt", "startedAt", "completedAt", "updatedAt", "time", "checkedAt", "latencyMs", "nextPageToken"]);

/** Removes values that differ from job to job, and the job id from messages. */
function normalise(value: unknown, jobId?: string): unknown {
  if (typeof value === "string") return jobId ? value.replaceAll(jobId, "<id>") : value;
  if (Array.isArray(value)) return value.map((item) => normalise(item, jobId));
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !PER_JOB_KEYS.has(key))
      .map(([key, child]) => [key, normalise(child, jobId)]),
  );
}

const TRANSPORTS = [rest, connectJson, grpc];

/** Runs a job through every RPC on one transport and returns each response, normalised. */
async function scenario(transport: Transport): Promise<Record<string, unknown>> {
  const answers: Record<string, unknown> = {};
  const requestId = `agreement-${transport.name}-${Date.now()}`;
  const createBody = { requestId, type: "code-task", priority: 2, source: { repository: "octo/widgets", issueNumber: 3 }, payload: { a: [1, "x"] } };
  const created = await transport.call("createJob", createBody, { verb: "POST", path: "/coordinator/jobs", body: createBody });
  const id = (created.job as Json).id as string;
  answers.createJob = normalise(created, id);
  answers.createJobAgain = normalise(await transport.call("createJob", createBody, { verb: "POST", path: "/coordinator/jobs", body: createBody }), id);

  const statusBody = { status: "JOB_STATUS_RUNNING", message: "go" };
  answers.updateJobStatus = normalise(
    await transport.call("updateJobStatus", { id, ...statusBody }, { verb: "PATCH", path: `/coordinator/jobs/${id}/status`, body: statusBody }),
    id,
  );
  const progressBody = { percent: 25, message: "step one", step: { name: "plan", phase: "plan" } };
  answers.updateJobProgress = normalise(
    await transport.call("updateJobProgress", { id, ...progressBody }, { verb: "PATCH", path: `/coordinator/jobs/${id}/progress`, body: progressBody }),
    id,
  );
  const badProgress = { percent: 101 };
  answers.updateJobProgressInvalid = normalise(
    await transport.call("updateJobProgress", { id, ...badProgress }, { verb: "PATCH", path: `/coordinator/jobs/${id}/progress`, body: badProgress }),
    id,
  );
  const completeBody = { result: { merged: false }, summary: "done" };
  answers.completeJob = normalise(
    await transport.call("completeJob", { id, ...completeBody }, { verb: "POST", path: `/coordinator/jobs/${id}/complete`, body: completeBody }),
    id,
  );
  const failBody = { error: "late failure", gates: [{ name: "tests", passed: false }] };
  answers.failJobRejected = normalise(
    await transport.call("failJob", { id, ...failBody }, { verb: "POST", path: `/coordinator/jobs/${id}/fail`, body: failBody }),
    id,
  );
  answers.getJob = normalise(await transport.call("getJob", { id, pageSize: 3 }, { verb: "GET", path: `/coordinator/jobs/${id}?pageSize=3` }), id);
  const missing = "00000000-0000-4000-8000-000000000000";
  answers.getJobMissing = normalise(await transport.call("getJob", { id: missing }, { verb: "GET", path: `/coordinator/jobs/${missing}` }));
  const health = await transport.call("getHealth", {}, { verb: "GET", path: "/coordinator/health" });
  answers.getHealth = { status: health.status, names: (health.dependencies as Json[]).map((dependency) => dependency.name) };
  return answers;
}

test("gives the same answers over REST, Connect JSON and gRPC for every RPC", async () => {
  const [viaRest, viaConnect, viaGrpc] = await Promise.all(TRANSPORTS.map((transport) => scenario(transport)));
  expect(Object.keys(viaRest)).toHaveLength(10);
  expect(viaConnect).toEqual(viaRest);
  expect(viaGrpc).toEqual(viaRest);
  expect((viaRest.updateJobProgressInvalid as Json).error).toEqual({ code: 3, message: "invalid percent: must be a whole number from 0 to 100, got 101" });
  expect((viaRest.failJobRejected as Json).error).toEqual({ code: 9, message: "job <id> cannot move from COMPLETED to FAILED" });
  expect((viaRest.createJobAgain as Json).created).toBeUndefined();
  expect((viaRest.createJob as Json).created).toBe(true);
});
