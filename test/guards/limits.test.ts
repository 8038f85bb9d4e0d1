import { Code } from "@connectrpc/connect";
import { jobsClient } from "../support/clients";
import { createJobRequest, expectConnectError, summarizeError } from "../support/requests";
import { rowCounts } from "../support/database";
import { TEST_API_KEY, type TestApp, startTestApp } from "../support/test-app";

const MAX_BODY_BYTES = 64 * 1024;
let harness: TestApp;

beforeAll(async () => {
  harness = await startTestApp("limits", { MAX_BODY_BYTES: String(MAX_BODY_BYTES) });
});

afterAll(async () => {
  await harness.close();
});

const oversized = () => createJobRequest({ payload: { blob: "x".repeat(MAX_BODY_BYTES + 100) } });

test.each(["connect-json-http1", "connect-binary-http2", "grpc-http2", "grpc-web-http1"] as const)(
  "rejects a body over the limit with RESOURCE_EXHAUSTED over %s",
  async (protocol) => {
    const before = await rowCounts(harness.app);
    const error = await expectConnectError(jobsClient(harness.baseUrl, protocol).createJob(oversized()));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(await rowCounts(harness.app)).toBe(before);
  },
);

test("answers a REST body over the limit with 413", async () => {
  const before = await rowCounts(harness.app);
  const response = await fetch(`${harness.baseUrl}/coordinator/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": TEST_API_KEY.secret },
    body: JSON.stringify({ requestId: "too-big", type: "code-task", payload: { blob: "x".repeat(MAX_BODY_BYTES) } }),
  });
  expect(response.status).toBe(413);
  expect(((await response.json()) as { code: number }).code).toBe(8);
  expect(await rowCounts(harness.app)).toBe(before);
});

test("rejects JSON nested deeper than the limit, naming the field", async () => {
  let nested: Record<string, unknown> = { leaf: true };
  for (let level = 0; level < 40; level += 1) nested = { nested };
  const error = await expectConnectError(jobsClient(harness.baseUrl).createJob(createJobRequest({ payload: nested as never })));
  expect(summarizeError(error).fields).toEqual(["payload"]);
  expect(error.rawMessage).toBe("invalid payload: must be nested at most 32 levels deep, got 41");
});

test("rejects strings over their maximum length, naming the field", async () => {
  const { job } = await jobsClient(harness.baseUrl).createJob(createJobRequest());
  const error = await expectConnectError(jobsClient(harness.baseUrl).failJob({ id: job!.id, error: "e".repeat(10_001) }));
  expect(error.rawMessage).toBe("invalid error: must be at most 10000 characters, got 10001");
  const gates = Array.from({ length: 101 }, (_, index) => ({ name: `gate-${index}`, passed: true }));
  const tooMany = await expectConnectError(jobsClient(harness.baseUrl).failJob({ id: job!.id, error: "e", gates }));
  expect(tooMany.rawMessage).toBe("invalid gates: must have at most 100 entries, got 101");
});
