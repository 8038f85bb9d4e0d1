import * as grpc from "@grpc/grpc-js";
import { Code } from "@connectrpc/connect";
import { jobsClient } from "../support/clients";
import { keyMetadata, loadDynamicClient, unary } from "../support/grpc-js-clients";
import { createJobRequest, expectConnectError } from "../support/requests";
import { rowCounts } from "../support/database";
import { TEST_API_KEY, type TestApp, startTestApp } from "../support/test-app";

let harness: TestApp;

beforeAll(async () => {
  harness = await startTestApp("auth", { COORDINATOR_API_KEYS: `${TEST_API_KEY.name}:${TEST_API_KEY.secret},runner:runner-secret-abcdefghij` });
});

afterAll(async () => {
  await harness.close();
});

test("rejects Connect calls without a key or with a wrong key and changes nothing", async () => {
  const before = await rowCounts(harness.app);
  const missing = await expectConnectError(jobsClient(harness.baseUrl, "connect-json-http1", null).createJob(createJobRequest()));
  expect(missing.code).toBe(Code.Unauthenticated);
  expect(missing.rawMessage).toBe("missing API key: send it in the x-api-key header or as Authorization: Bearer <key>");
  const wrong = await expectConnectError(jobsClient(harness.baseUrl, "grpc-http2", "wrong-secret-0123456789").createJob(createJobRequest()));
  expect(wrong.code).toBe(Code.Unauthenticated);
  expect(wrong.rawMessage).toBe("invalid API key");
  expect(await rowCounts(harness.app)).toBe(before);
});

test("answers REST calls without a key with 401 and WWW-Authenticate", async () => {
  const response = await fetch(`${harness.baseUrl}/coordinator/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ requestId: "no-key", type: "code-task" }),
  });
  expect(response.status).toBe(401);
  expect(response.headers.get("www-authenticate")).toBe("Bearer");
  const body = (await response.json()) as { code: number; message: string };
  expect(body.code).toBe(16);
  expect(body.message).toBe("missing API key: send it in the x-api-key header or as Authorization: Bearer <key>");
});

test("accepts a Bearer token and records the key's name as the actor", async () => {
  const response = await fetch(`${harness.baseUrl}/coordinator/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer runner-secret-abcdefghij" },
    body: JSON.stringify({ requestId: `bearer-${Date.now()}`, type: "code-task" }),
  });
  expect(response.status).toBe(200);
  const { job } = (await response.json()) as { job: { id: string } };
  const page = await jobsClient(harness.baseUrl).getJob({ id: job.id });
  expect(page.events[0].actor).toBe("runner");
});

test("rejects grpc-js calls without a key and serves health without one", async () => {
  const client = loadDynamicClient(harness.port);
  try {
    const error = (await unary(client, "createJob", { requestId: "grpc-no-key", type: "code-task" }).catch((thrown) => thrown)) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.UNAUTHENTICATED);
    const health = await unary<{ status: string }>(client, "getHealth", {});
    expect(health.status).toBe("HEALTH_STATUS_SERVING");
    const created = await unary<{ created: boolean }>(client, "createJob", { requestId: `grpc-key-${Date.now()}`, type: "code-task" }, keyMetadata(TEST_API_KEY.secret));
    expect(created.created).toBe(true);
  } finally {
    client.close();
  }
});
