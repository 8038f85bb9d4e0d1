/**
 * Property tests: generated malformed JSON and protobuf bodies sent to every REST route, Connect
 * method (JSON and binary) and gRPC method never get a server error, never crash the service and
 * never change the database.
 */
import http2 from "node:http2";
import fc from "fast-check";
import { CoordinatorJobsService } from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { rowCounts } from "../support/database";
import { TEST_API_KEY, type TestApp, startTestApp } from "../support/test-app";

const RUNS = 150;
const METHODS = CoordinatorJobsService.methods.map((method) => method.name);
const EXISTING_ID = "00000000-0000-4000-8000-000000000001";
const REST_ROUTES: [string, string][] = [
  ["POST", "/coordinator/jobs"],
  ["PATCH", `/coordinator/jobs/${EXISTING_ID}/status`],
  ["PATCH", `/coordinator/jobs/${EXISTING_ID}/progress`],
  ["POST", `/coordinator/jobs/${EXISTING_ID}/complete`],
  ["POST", `/api/coordinator/jobs/${EXISTING_ID}/fail`],
  ["GET", `/coordinator/jobs/${EXISTING_ID}`],
  ["GET", "/coordinator/health"],
];

let harness: TestApp;
let session: http2.ClientHttp2Session;

beforeAll(async () => {
  harness = await startTestApp("malformed");
  session = http2.connect(harness.baseUrl);
});

afterAll(async () => {
  session.close();
  await harness.close();
});

/** Bodies that are not a valid request: broken JSON text, or JSON of the wrong shape. */
const malformedJsonText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify({ id: value, status: value, percent: value, gates: value, payload: value })),
  fc.constantFrom("{", "[1,", '{"percent": NaN}', '{"percent": 1e999}', '{"id": "\\ud800"}', "\u0000", '{"a":'.repeat(300)),
);

function grpcCall(method: string, message: Uint8Array): Promise<{ httpStatus: number; grpcStatus: string | undefined }> {
  return new Promise((resolve, reject) => {
    const frame = Buffer.alloc(5 + message.byteLength);
    frame.writeUInt32BE(message.byteLength, 1);
    Buffer.from(message).copy(frame, 5);
    const stream = session.request({
      ":method": "POST",
      ":path": `/coordinator.v1.CoordinatorJobsService/${method}`,
      "content-type": "application/grpc",
      te: "trailers",
      "x-api-key": TEST_API_KEY.secret,
    });
    let httpStatus = 0;
    let grpcStatus: string | undefined;
    stream.on("response", (headers) => {
      httpStatus = Number(headers[":status"]);
      grpcStatus = headers["grpc-status"] as string | undefined;
    });
    stream.on("trailers", (trailers) => {
      grpcStatus = trailers["grpc-status"] as string | undefined;
    });
    stream.on("error", reject);
    stream.on("close", () => resolve({ httpStatus, grpcStatus }));
    stream.resume();
    stream.end(frame);
  });
}

/** gRPC codes that blame the server: UNKNOWN, INTERNAL, DATA_LOSS. */
const SERVER_FAULT_CODES = new Set(["2", "13", "15"]);

test("REST routes answer malformed bodies with a 4xx and change nothing", async () => {
  const before = await rowCounts(harness.app);
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...REST_ROUTES), malformedJsonText, async ([method, path], body) => {
      const response = await fetch(`${harness.baseUrl}${path}`, {
        method,
        headers: { "content-type": "application/json", "x-api-key": TEST_API_KEY.secret },
        body: method === "GET" ? undefined : body,
      });
      await response.arrayBuffer();
      expect(response.status).toBeLessThan(500);
    }),
    { numRuns: RUNS },
  );
  expect(await rowCounts(harness.app)).toBe(before);
});

test("Connect methods answer malformed JSON and protobuf bodies without a server error and change nothing", async () => {
  const before = await rowCounts(harness.app);
  const body = fc.oneof(
    malformedJsonText.map((text) => ({ contentType: "application/json", bytes: Buffer.from(text) })),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ contentType: "application/proto", bytes: Buffer.from(bytes) })),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...METHODS.filter((name) => name !== "GetHealth")), body, async (method, { contentType, bytes }) => {
      const response = await fetch(`${harness.baseUrl}/coordinator.v1.CoordinatorJobsService/${method}`, {
        method: "POST",
        headers: { "content-type": contentType, "x-api-key": TEST_API_KEY.secret },
        body: bytes,
      });
      await response.arrayBuffer();
      expect(response.status).toBeLessThan(500);
    }),
    { numRuns: RUNS },
  );
  expect(await rowCounts(harness.app)).toBe(before);
});

test("gRPC methods answer undecodable messages without a server fault and change nothing", async () => {
  const before = await rowCounts(harness.app);
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...METHODS.filter((name) => name !== "GetHealth")),
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      async (method, message) => {
        const { httpStatus, grpcStatus } = await grpcCall(method, message);
        expect(httpStatus).toBe(200);
        expect(grpcStatus).toBeDefined();
        expect(SERVER_FAULT_CODES.has(grpcStatus!)).toBe(false);
      },
    ),
    { numRuns: RUNS },
  );
  expect(await rowCounts(harness.app)).toBe(before);
  const health = await fetch(`${harness.baseUrl}/coordinator/health`);
  expect(health.status).toBe(200);
});
