import { HealthStatus } from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { startCoordinatorServer, type CoordinatorHarness } from "./coordinator-harness";
import { send, sendJson } from "./http-client";

let harness: CoordinatorHarness;

beforeEach(async () => {
  harness = await startCoordinatorServer();
});

afterEach(async () => {
  await harness.close();
});

const createJobBody = {
  requestId: "delivery-42",
  type: "code-task",
  priority: 3,
  source: { forge: "gitea", repository: "acme/widgets", issueNumber: 7 },
  payload: { labels: ["bug"], urgent: true },
};

const createdJobResponse = {
  job: {
    id: "job-1",
    requestId: "delivery-42",
    type: "code-task",
    queue: "default",
    priority: 3,
    status: "JOB_STATUS_QUEUED",
    source: { forge: "gitea", repository: "acme/widgets", issueNumber: 7 },
    payload: { labels: ["bug"], urgent: true },
    version: "1",
    createdAt: "2024-05-01T10:00:00Z",
  },
  created: true,
  dispatched: true,
};

describe("transcoder success responses", () => {
  test.each(["/coordinator/jobs", "/api/coordinator/jobs"])("POST %s creates job", async (path) => {
    const response = await sendJson(harness.baseUrl, "POST", path, createJobBody);

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.json).toEqual(createdJobResponse);
    expect(harness.calls).toHaveLength(1);
    expect(harness.calls[0].method).toBe("CreateJob");
    expect(harness.calls[0].request).toEqual({
      requestId: "delivery-42",
      type: "code-task",
      priority: 3,
      source: { forge: "gitea", repository: "acme/widgets", issueNumber: 7 },
      payload: { labels: ["bug"], urgent: true },
    });
  });

  test("call goes through Connect handler", async () => {
    await sendJson(harness.baseUrl, "POST", "/coordinator/jobs", createJobBody, {
      authorization: "Bearer token-1",
      "x-api-key": "key-1",
      "x-request-id": "req-1",
      "x-user": "alice",
    });

    const call = harness.calls[0];
    expect(call.protocol).toBe("connect");
    expect(call.user).toBe("alice");
    expect(call.headers).toEqual({
      authorization: "Bearer token-1",
      "x-api-key": "key-1",
      "x-request-id": "req-1",
      "content-type": "application/json",
      "connect-protocol-version": "1",
      host: harness.baseUrl.replace("http://", ""),
    });
  });

  test("interceptor response headers reach client", async () => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs", createJobBody);

    expect(response.headers.get("x-served-by")).toBe("test-router");
  });

  test("body accepts proto field names", async () => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs", {
      request_id: "delivery-42",
      type: "code-task",
      source: { pull_request_number: 9 },
    });

    expect(response.status).toBe(200);
    expect(harness.calls[0].request).toEqual({
      requestId: "delivery-42",
      type: "code-task",
      source: { pullRequestNumber: 9 },
    });
  });

  test.each([
    ["no body", undefined],
    ["empty body", ""],
  ])("POST with %s counts as empty object", async (_, body) => {
    const response = await send(harness.baseUrl, "/coordinator/jobs/job-9/complete", { method: "POST", body });

    expect(response.status).toBe(200);
    expect(response.json).toEqual({ job: { id: "job-9", status: "JOB_STATUS_COMPLETED" } });
    expect(harness.calls[0].request).toEqual({ id: "job-9" });
  });

  test("PATCH status binds path id, enum and int64", async () => {
    const response = await sendJson(harness.baseUrl, "PATCH", "/coordinator/jobs/job-5/status", {
      status: "JOB_STATUS_RUNNING",
      message: "picked up",
      expectedVersion: "41",
    });

    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      job: { id: "job-5", status: "JOB_STATUS_RUNNING", error: "picked up", version: "42" },
    });
    expect(harness.calls[0].request).toEqual({
      id: "job-5",
      status: "JOB_STATUS_RUNNING",
      message: "picked up",
      expectedVersion: "41",
    });
  });

  test("path id replaces id in body", async () => {
    await sendJson(harness.baseUrl, "PATCH", "/api/coordinator/jobs/job-5/progress", {
      id: "other",
      percent: 40,
      step: { name: "implement", phase: "build" },
    });

    expect(harness.calls[0].request).toEqual({ id: "job-5", percent: 40, step: { name: "implement", phase: "build" } });
  });

  test("enum by number in body", async () => {
    const response = await sendJson(harness.baseUrl, "PATCH", "/coordinator/jobs/job-5/status", { status: 4 });

    expect(response.json).toEqual({ job: { id: "job-5", status: "JOB_STATUS_COMPLETED", version: "1" } });
  });

  test.each(["/coordinator/jobs/job-3", "/api/coordinator/jobs/job-3"])("GET %s binds query parameters", async (path) => {
    const response = await send(harness.baseUrl, `${path}?page_size=25&pageToken=abc`);

    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      job: { id: "job-3", priority: 25, summary: "abc", status: "JOB_STATUS_RUNNING", version: "7" },
      nextPageToken: "next",
    });
    expect(harness.calls[0].request).toEqual({ id: "job-3", pageSize: 25, pageToken: "abc" });
  });

  test("encoded slash stays inside id", async () => {
    const response = await send(harness.baseUrl, "/coordinator/jobs/team%2Fjob%20one");

    expect(response.status).toBe(200);
    expect(harness.calls[0].request).toEqual({ id: "team/job one" });
  });

  test("GET health returns 200 when serving", async () => {
    const response = await send(harness.baseUrl, "/coordinator/health");

    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      status: "HEALTH_STATUS_SERVING",
      dependencies: [{ name: "database", status: "HEALTH_STATUS_SERVING", latencyMs: "3", counts: { waiting: "2" } }],
      checkedAt: "2024-05-01T10:00:00Z",
    });
  });

  test("successStatus hook answers 503 when not serving", async () => {
    harness.health.status = HealthStatus.NOT_SERVING;

    const response = await send(harness.baseUrl, "/api/coordinator/health");

    expect(response.status).toBe(503);
    expect(response.json).toEqual({
      status: "HEALTH_STATUS_NOT_SERVING",
      dependencies: [{ name: "database", status: "HEALTH_STATUS_SERVING", latencyMs: "3", counts: { waiting: "2" } }],
      checkedAt: "2024-05-01T10:00:00Z",
    });
  });

  test("HEAD is served by GET route without body", async () => {
    const response = await send(harness.baseUrl, "/coordinator/health", { method: "HEAD" });

    expect(response.status).toBe(200);
    expect(response.text).toBe("");
    expect(Number(response.headers.get("content-length"))).toBeGreaterThan(0);
    expect(harness.calls[0].method).toBe("GetHealth");
  });

  test("connect-timeout-ms reaches handler", async () => {
    await send(harness.baseUrl, "/coordinator/health", { headers: { "connect-timeout-ms": "30000" } });

    expect(harness.calls[0].timeoutMs).toBeGreaterThan(29000);
    expect(harness.calls[0].timeoutMs).toBeLessThanOrEqual(30000);
  });

  test("grpc-timeout becomes Connect deadline", async () => {
    await send(harness.baseUrl, "/coordinator/health", { headers: { "grpc-timeout": "20S" } });

    expect(harness.calls[0].timeoutMs).toBeGreaterThan(19000);
    expect(harness.calls[0].timeoutMs).toBeLessThanOrEqual(20000);
  });

  test("client compression headers do not reach handler", async () => {
    const response = await send(harness.baseUrl, "/coordinator/health", { headers: { "accept-encoding": "gzip" } });

    expect(response.headers.get("content-encoding")).toBeNull();
    expect(harness.calls[0].headers["accept-encoding"]).toBeUndefined();
  });

  test("path outside served prefixes falls through", async () => {
    const response = await send(harness.baseUrl, "/metrics");

    expect(response.status).toBe(418);
    expect(response.text).toBe("not transcoded");
  });

  test("routes and prefixes come from annotations", () => {
    const routes = harness.transcoder.routes.map((route) => `${route.httpMethod} ${route.template.source} ${route.method.name}`);

    expect(routes).toHaveLength(14);
    expect(routes).toEqual(
      expect.arrayContaining([
        "POST /coordinator/jobs CreateJob",
        "POST /api/coordinator/jobs CreateJob",
        "PATCH /coordinator/jobs/{id}/status UpdateJobStatus",
        "GET /api/coordinator/jobs/{id} GetJob",
        "GET /coordinator/health GetHealth",
      ]),
    );
    expect(harness.transcoder.pathPrefixes).toEqual(["/coordinator", "/api/coordinator"]);
  });
});
