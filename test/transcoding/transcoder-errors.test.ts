import * as http from "node:http";
import { createRegistry } from "@bufbuild/protobuf";
import { file_coordinator_v1_coordinator_jobs_service } from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { file_google_rpc_error_details } from "../../gen/es/google/rpc/error_details_pb";
import { startCoordinatorServer, type CoordinatorHarness } from "./coordinator-harness";
import { send, sendJson } from "./http-client";

let harness: CoordinatorHarness;

beforeEach(async () => {
  harness = await startCoordinatorServer({ maxBodyBytes: 1024 });
});

afterEach(async () => {
  await harness.close();
});

const simulatedErrorInfo = (jobId: string) => ({
  "@type": "type.googleapis.com/google.rpc.ErrorInfo",
  reason: "SIMULATED",
  domain: "coordinator.test",
  metadata: { jobId },
});

describe("handler errors", () => {
  test.each([
    ["canceled", 1, 499],
    ["unknown", 2, 500],
    ["invalid_argument", 3, 400],
    ["deadline_exceeded", 4, 504],
    ["not_found", 5, 404],
    ["already_exists", 6, 409],
    ["permission_denied", 7, 403],
    ["resource_exhausted", 8, 429],
    ["failed_precondition", 9, 400],
    ["aborted", 10, 409],
    ["out_of_range", 11, 400],
    ["unimplemented", 12, 501],
    ["internal", 13, 500],
    ["unavailable", 14, 503],
    ["data_loss", 15, 500],
    ["unauthenticated", 16, 401],
  ])("%s maps to code %i and HTTP %i", async (name, code, status) => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs/job-1/fail", { error: name });

    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect((response.json as { code: number }).code).toBe(code);
    expect((response.json as { message: string }).message).toBe(`job job-1: simulated ${name}`);
  });

  test("NOT_FOUND body with ErrorInfo", async () => {
    const response = await send(harness.baseUrl, "/api/coordinator/jobs/missing");

    expect(response.status).toBe(404);
    expect(response.json).toEqual({
      code: 5,
      message: "job missing not found",
      details: [
        {
          "@type": "type.googleapis.com/google.rpc.ErrorInfo",
          reason: "JOB_NOT_FOUND",
          domain: "coordinator.test",
          metadata: { jobId: "missing" },
        },
      ],
    });
  });

  test("INVALID_ARGUMENT body with ErrorInfo and BadRequest", async () => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs/job-2/fail", { error: "invalid_argument" });

    expect(response.status).toBe(400);
    expect(response.json).toEqual({
      code: 3,
      message: "job job-2: simulated invalid_argument",
      details: [
        simulatedErrorInfo("job-2"),
        {
          "@type": "type.googleapis.com/google.rpc.BadRequest",
          fieldViolations: [{ field: "error", description: "must not be empty" }],
        },
      ],
    });
  });

  test("UNAUTHENTICATED adds Bearer challenge", async () => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs/job-1/fail", { error: "unauthenticated" });

    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe("Bearer");
    expect(response.json).toEqual({
      code: 16,
      message: "job job-1: simulated unauthenticated",
      details: [simulatedErrorInfo("job-1")],
    });
  });

  test("handler challenge header is kept", async () => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs/job-1/fail", {
      error: "unauthenticated_with_challenge",
    });

    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
  });

  test("interceptor rejection maps to 401", async () => {
    const response = await send(harness.baseUrl, "/coordinator/health", { headers: { "x-api-key": "revoked" } });

    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe("Bearer");
    expect(response.json).toEqual({ code: 16, message: "API key is revoked", details: [] });
    expect(harness.calls).toHaveLength(0);
  });

  test("error metadata becomes response header", async () => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs/job-1/fail", { error: "unavailable" });

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
  });

  test("read limit exhaustion maps to 413", async () => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs/job-1/fail", { error: "read_limit" });

    expect(response.status).toBe(413);
    expect(response.json).toEqual({
      code: 8,
      message: "message size 5000 is larger than configured readMaxBytes 4096",
      details: [],
    });
  });

  test("detail type missing from registry is dropped and logged", async () => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs/job-1/fail", { error: "unknown_detail" });

    expect(response.status).toBe(500);
    expect(response.json).toEqual({
      code: 13,
      message: "job job-1: simulated unknown detail",
      details: [simulatedErrorInfo("job-1")],
    });
    expect(harness.logs).toHaveLength(1);
    expect(harness.logs[0].level).toBe("warn");
    expect(harness.logs[0].message).toBe("dropped an error detail whose type is not in the registry");
    expect(harness.logs[0].details).toMatchObject({ typeUrl: "type.googleapis.com/coordinator.v1.StepReport" });
  });

  test("plain exception in handler is 500 internal", async () => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs", { type: "throw-plain" });

    expect(response.status).toBe(500);
    expect(response.json).toEqual({ code: 13, message: "internal error", details: [] });
  });

  test("deadline from connect-timeout-ms is 504", async () => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs/job-1/complete", { summary: "wait" }, {
      "connect-timeout-ms": "50",
    });

    expect(response.status).toBe(504);
    expect(response.json).toEqual({ code: 4, message: "the operation timed out", details: [] });
  });

  test("deadline from grpc-timeout is 504", async () => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs/job-1/complete", { summary: "wait" }, {
      "grpc-timeout": "50m",
    });

    expect(response.status).toBe(504);
    expect(response.json).toEqual({ code: 4, message: "the operation timed out", details: [] });
  });

  test("client disconnect aborts handler signal", async () => {
    const controller = new AbortController();
    const aborted = fetch(`${harness.baseUrl}/coordinator/jobs/job-2/complete`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ summary: "wait" }),
      signal: controller.signal,
    }).catch((error: unknown) => error);

    await harness.waitingStarted;
    controller.abort();
    await aborted;

    const reason = await harness.waitingAborted;
    expect((reason as { name?: string } | undefined)?.name).toBe("AbortError");
  });
});

describe("request errors", () => {
  test("unknown path under prefix is 404", async () => {
    const response = await send(harness.baseUrl, "/coordinator/nope?x=1");

    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.json).toEqual({ code: 5, message: "no route matches GET /coordinator/nope", details: [] });
  });

  test("trailing slash is 404", async () => {
    const response = await send(harness.baseUrl, "/api/coordinator/jobs/");

    expect(response.status).toBe(404);
    expect(response.json).toEqual({ code: 5, message: "no route matches GET /api/coordinator/jobs/", details: [] });
  });

  test.each([
    ["GET", "/coordinator/jobs", "POST"],
    ["DELETE", "/api/coordinator/jobs/job-1", "GET, HEAD"],
    ["POST", "/coordinator/health", "GET, HEAD"],
    ["OPTIONS", "/coordinator/jobs/job-1/status", "PATCH"],
    ["PUT", "/coordinator/jobs/job-1/status", "PATCH"],
  ])("%s %s is 405 with Allow", async (method, path, allow) => {
    const response = await send(harness.baseUrl, path, { method });

    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe(allow);
    expect(response.json).toEqual({
      code: 12,
      message: `method ${method} is not allowed for this path; use ${allow}`,
      details: [],
    });
  });

  test("method override header is ignored", async () => {
    const response = await send(harness.baseUrl, "/coordinator/jobs/job-1", {
      method: "POST",
      headers: { "x-http-method-override": "GET" },
    });

    expect(response.status).toBe(405);
  });

  test.each([
    ["text/plain", '"text/plain"'],
    ["application/x-www-form-urlencoded", '"application/x-www-form-urlencoded"'],
    ["application/json; charset=iso-8859-1", '"application/json; charset=iso-8859-1"'],
  ])("Content-Type %s is 415", async (contentType, shown) => {
    const response = await send(harness.baseUrl, "/coordinator/jobs", {
      method: "POST",
      headers: { "content-type": contentType },
      body: '{"type":"code-task"}',
    });

    expect(response.status).toBe(415);
    expect(response.json).toEqual({
      code: 3,
      message: `request body must be application/json in UTF-8, got ${shown}`,
      details: [],
    });
    expect(harness.calls).toHaveLength(0);
  });

  test("missing Content-Type with body is 415", async () => {
    const response = await send(harness.baseUrl, "/coordinator/jobs", {
      method: "POST",
      body: new TextEncoder().encode('{"type":"code-task"}'),
    });

    expect(response.status).toBe(415);
    expect(response.json).toEqual({
      code: 3,
      message: "request body must be application/json in UTF-8, got no Content-Type",
      details: [],
    });
  });

  test("charset utf-8 parameter is accepted", async () => {
    const response = await send(harness.baseUrl, "/coordinator/jobs", {
      method: "POST",
      headers: { "content-type": "Application/JSON; Charset=UTF-8" },
      body: '{"type":"code-task"}',
    });

    expect(response.status).toBe(200);
  });

  test("compressed body is 415", async () => {
    const response = await send(harness.baseUrl, "/coordinator/jobs", {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: '{"type":"code-task"}',
    });

    expect(response.status).toBe(415);
    expect(response.json).toEqual({
      code: 3,
      message: 'Content-Encoding "gzip" is not supported; send the request body uncompressed',
      details: [],
    });
  });

  test("body over limit with Content-Length is 413", async () => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs", { type: "x".repeat(2000) });

    expect(response.status).toBe(413);
    expect(response.json).toEqual({
      code: 8,
      message: "request body is 2011 bytes, more than the maximum of 1024 bytes",
      details: [],
    });
    expect(harness.calls).toHaveLength(0);
  });

  test("chunked body over limit is 413", async () => {
    const chunk = new TextEncoder().encode(" ".repeat(600));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(chunk);
        controller.enqueue(chunk);
        controller.close();
      },
    });

    const response = await send(harness.baseUrl, "/coordinator/jobs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);

    expect(response.status).toBe(413);
    expect(response.json).toEqual({
      code: 8,
      message: "request body is larger than the maximum of 1024 bytes",
      details: [],
    });
  });

  test("connection stays usable after 413", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const post = (body: string) =>
      new Promise<number>((resolve, reject) => {
        const request = http.request(
          `${harness.baseUrl}/coordinator/jobs`,
          { method: "POST", agent, headers: { "content-type": "application/json" } },
          (response) => {
            response.resume();
            response.on("end", () => resolve(response.statusCode ?? 0));
          },
        );
        request.on("error", reject);
        // Two writes without Content-Length make a chunked body, so the limit trips while reading.
        request.write(body.slice(0, body.length / 2));
        request.end(body.slice(body.length / 2));
      });

    const first = await post(JSON.stringify({ type: "x".repeat(3000) }));
    const second = await post(JSON.stringify({ type: "code-task" }));
    agent.destroy();

    expect(first).toBe(413);
    expect(second).toBe(200);
  });

  test.each([
    ['{"type": "code-task",}', "Expected double-quoted property name in JSON at position 21 (line 1, column 22)"],
    ['{\n  "type" "code-task"\n}', "Expected ':' after property name in JSON at position 11 (line 2, column 10)"],
    ['{"type": "code-task"', "Expected ',' or '}' after property value in JSON at position 20 (line 1, column 21)"],
    ["nul", "Unexpected end of JSON input"],
    ["{'type': 1}", "Expected property name or '}' in JSON at position 1 (line 1, column 2)"],
  ])("malformed JSON %j is 400 with position", async (body, detail) => {
    const response = await send(harness.baseUrl, "/coordinator/jobs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });

    expect(response.status).toBe(400);
    expect(response.json).toEqual({ code: 3, message: `request body is not valid JSON: ${detail}`, details: [] });
  });

  test("invalid UTF-8 body is 400", async () => {
    const response = await send(harness.baseUrl, "/coordinator/jobs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]),
    });

    expect(response.status).toBe(400);
    expect(response.json).toEqual({ code: 3, message: "request body is not valid UTF-8", details: [] });
  });

  test.each([
    ["[1, 2]", "an array"],
    ['"job"', "a string"],
    ["null", "null"],
  ])("body %s that is not an object is 400", async (body, kind) => {
    const response = await send(harness.baseUrl, "/coordinator/jobs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });

    expect(response.status).toBe(400);
    expect(response.json).toEqual({
      code: 3,
      message: `request body must be a JSON object with the fields of coordinator.v1.CreateJobRequest, got ${kind}`,
      details: [],
    });
  });

  test.each([
    [
      "unknown field",
      { type: "code-task", colour: "red" },
      "colour",
      'unknown field "colour" in coordinator.v1.CreateJobRequest',
      'unknown field "colour" in coordinator.v1.CreateJobRequest',
    ],
    [
      "wrong scalar type",
      { type: "code-task", priority: "high" },
      "priority",
      'expected number (int32), got "high"',
      'field "priority": expected number (int32), got "high"',
    ],
    [
      "nested field",
      { source: { forge: "gitea", issueNumber: "seven" } },
      "source.issue_number",
      'expected number (int32), got "seven"',
      'field "source.issue_number": expected number (int32), got "seven"',
    ],
    [
      "unknown nested field",
      { source: { forge: "gitea", stars: 5 } },
      "source.stars",
      'unknown field "source.stars" in coordinator.v1.JobSource',
      'unknown field "source.stars" in coordinator.v1.JobSource',
    ],
    [
      "payload that is not an object",
      { payload: [1, 2] },
      "payload",
      "cannot decode message google.protobuf.Struct from JSON Array(2)",
      'field "payload": cannot decode message google.protobuf.Struct from JSON Array(2)',
    ],
  ])("%s in body is 400 naming it", async (_, body, field, description, problem) => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs", body);

    expect(response.status).toBe(400);
    expect(response.json).toEqual({
      code: 3,
      message: `invalid request body: ${problem}`,
      details: [
        {
          "@type": "type.googleapis.com/google.rpc.BadRequest",
          fieldViolations: [{ field, description }],
        },
      ],
    });
    expect(harness.calls).toHaveLength(0);
  });

  test("invalid field in repeated message is named by index", async () => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs/job-1/fail", {
      error: "tests failed",
      gates: [{ name: "lint", passed: true }, { name: "tests", passed: "no" }],
    });

    expect(response.status).toBe(400);
    expect((response.json as { message: string }).message).toBe(
      'invalid request body: field "gates[1].passed": expected boolean, got "no"',
    );
  });

  test("invalid enum name in body is 400 naming field", async () => {
    const response = await sendJson(harness.baseUrl, "PATCH", "/coordinator/jobs/job-1/status", { status: "DONE" });

    expect(response.status).toBe(400);
    expect((response.json as { message: string }).message).toBe(
      'invalid request body: field "status": cannot decode enum coordinator.v1.JobStatus from JSON: "DONE"',
    );
  });

  test("same field under both names is 400", async () => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs", { requestId: "a", request_id: "b" });

    expect(response.status).toBe(400);
    expect(response.json).toEqual({
      code: 3,
      message:
        "invalid request body: cannot decode field coordinator.v1.CreateJobRequest.request_id from JSON: set multiple times",
      details: [],
    });
  });

  test("unknown query parameter is 400", async () => {
    const response = await send(harness.baseUrl, "/coordinator/jobs/job-1?page_size=5&verbose=1");

    expect(response.status).toBe(400);
    expect(response.json).toEqual({
      code: 3,
      message: 'unknown query parameter "verbose"; GET /coordinator/jobs/{id} accepts page_size, page_token',
      details: [
        {
          "@type": "type.googleapis.com/google.rpc.BadRequest",
          fieldViolations: [{ field: "verbose", description: "the request message has no such field" }],
        },
      ],
    });
  });

  test("query parameter on health is 400", async () => {
    const response = await send(harness.baseUrl, "/coordinator/health?full=true");

    expect(response.status).toBe(400);
    expect((response.json as { message: string }).message).toBe(
      'unknown query parameter "full"; GET /coordinator/health accepts no query parameters',
    );
  });

  test("invalid query value is 400", async () => {
    const response = await send(harness.baseUrl, "/coordinator/jobs/job-1?pageSize=many");

    expect(response.status).toBe(400);
    expect(response.json).toEqual({
      code: 3,
      message: 'invalid query parameter "pageSize": expected an integer, got "many"',
      details: [
        {
          "@type": "type.googleapis.com/google.rpc.BadRequest",
          fieldViolations: [{ field: "pageSize", description: 'expected an integer, got "many"' }],
        },
      ],
    });
  });

  test("query parameter with whole-body route is 400", async () => {
    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs?priority=2", { type: "code-task" });

    expect(response.status).toBe(400);
    expect((response.json as { message: string }).message).toBe(
      'POST /coordinator/jobs takes the whole request in the body, so query parameters are not allowed; move "priority" into the JSON body',
    );
  });

  test("body on GET route is 400", async () => {
    // fetch cannot send a GET body, so this uses node:http.
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(
        `${harness.baseUrl}/coordinator/jobs/job-1`,
        { method: "GET", headers: { "content-type": "application/json", "content-length": "15" } },
        (response) => {
          let text = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => (text += chunk));
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
        },
      );
      request.on("error", reject);
      request.end('{"pageSize": 5}');
    });

    expect(status).toBe(400);
    expect(JSON.parse(body)).toEqual({
      code: 3,
      message: "GET /coordinator/jobs/{id} does not take a request body; send the fields as query parameters",
      details: [],
    });
    expect(harness.calls).toHaveLength(0);
  });

  test("invalid percent-encoding in path is 400", async () => {
    const response = await send(harness.baseUrl, "/coordinator/jobs/%FF");

    expect(response.status).toBe(400);
    expect(response.json).toEqual({
      code: 3,
      message: 'path segment "%FF" for field "id" is not valid percent-encoded UTF-8',
      details: [
        {
          "@type": "type.googleapis.com/google.rpc.BadRequest",
          fieldViolations: [
            { field: "id", description: 'path segment "%FF" for field "id" is not valid percent-encoded UTF-8' },
          ],
        },
      ],
    });
  });

  test("invalid grpc-timeout is 400", async () => {
    const response = await send(harness.baseUrl, "/coordinator/health", { headers: { "grpc-timeout": "soon" } });

    expect(response.status).toBe(400);
    expect(response.json).toEqual({
      code: 3,
      message: 'invalid grpc-timeout header "soon": expected up to 8 digits and a unit H, M, S, m, u or n',
      details: [],
    });
  });

  test("invalid connect-timeout-ms is 400 from handler", async () => {
    const response = await send(harness.baseUrl, "/coordinator/health", { headers: { "connect-timeout-ms": "soon" } });

    expect(response.status).toBe(400);
    expect(response.json).toEqual({
      code: 3,
      message: "protocol error: invalid connect timeout value: soon",
      details: [],
    });
  });
});

describe("registry with request types", () => {
  test("known detail types are all rendered", async () => {
    await harness.close();
    harness = await startCoordinatorServer({
      registry: createRegistry(file_google_rpc_error_details, file_coordinator_v1_coordinator_jobs_service),
    });

    const response = await sendJson(harness.baseUrl, "POST", "/coordinator/jobs/job-1/fail", { error: "unknown_detail" });

    expect(response.json).toEqual({
      code: 13,
      message: "job job-1: simulated unknown detail",
      details: [
        { "@type": "type.googleapis.com/coordinator.v1.StepReport", name: "plan" },
        simulatedErrorInfo("job-1"),
      ],
    });
    expect(harness.logs).toEqual([]);
  });
});
