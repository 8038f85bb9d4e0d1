/**
 * REST error cases against the running service: each answers the right status and google.rpc.Status
 * body, and none changes the database.
 */
import { rowCounts } from "../support/database";
import { TEST_API_KEY, type TestApp, startTestApp } from "../support/test-app";

const JOB_ID = "00000000-0000-4000-8000-000000000001";
let harness: TestApp;

beforeAll(async () => {
  harness = await startTestApp("rest_errors");
});

afterAll(async () => {
  await harness.close();
});

interface Case {
  name: string;
  method: string;
  path: string;
  contentType?: string;
  body?: string;
  headers?: Record<string, string>;
  status: number;
  code: number;
  /** Exact message, or a pattern where the text comes from the JavaScript engine. */
  message: string | RegExp;
  allow?: string;
}

const CASES: Case[] = [
  {
    name: "unknown path",
    method: "GET",
    path: "/coordinator/nothing",
    status: 404,
    code: 5,
    message: "no route matches GET /coordinator/nothing",
  },
  {
    name: "path outside every route prefix",
    method: "GET",
    path: "/nothing/here?x=1",
    status: 404,
    code: 5,
    message: "no route matches GET /nothing/here",
  },
  {
    name: "wrong method",
    method: "DELETE",
    path: `/coordinator/jobs/${JOB_ID}`,
    status: 405,
    code: 12,
    message: "method DELETE is not allowed for this path; use GET, HEAD",
    allow: "GET, HEAD",
  },
  {
    name: "method override header ignored",
    method: "POST",
    path: `/coordinator/jobs/${JOB_ID}`,
    headers: { "x-http-method-override": "GET" },
    status: 405,
    code: 12,
    message: "method POST is not allowed for this path; use GET, HEAD",
    allow: "GET, HEAD",
  },
  {
    name: "wrong content type",
    method: "POST",
    path: "/coordinator/jobs",
    contentType: "text/plain",
    body: "requestId=a",
    status: 415,
    code: 3,
    message: 'request body must be application/json in UTF-8, got "text/plain"',
  },
  {
    name: "malformed JSON",
    method: "POST",
    path: "/coordinator/jobs",
    contentType: "application/json",
    body: '{"requestId": "a",',
    status: 400,
    code: 3,
    message: /^request body is not valid JSON: .*position 18/,
  },
  {
    name: "invalid field",
    method: "PATCH",
    path: `/coordinator/jobs/${JOB_ID}/progress`,
    contentType: "application/json",
    body: '{"percent": 150}',
    status: 400,
    code: 3,
    message: "invalid percent: must be a whole number from 0 to 100, got 150",
  },
  {
    name: "unknown job",
    method: "POST",
    path: `/coordinator/jobs/${JOB_ID}/complete`,
    contentType: "application/json",
    body: "{}",
    status: 404,
    code: 5,
    message: `job ${JOB_ID} not found`,
  },
];

test.each(CASES)("answers $name with $status and changes nothing", async (errorCase) => {
  const before = await rowCounts(harness.app);
  const headers: Record<string, string> = { "x-api-key": TEST_API_KEY.secret, ...errorCase.headers };
  if (errorCase.contentType) headers["content-type"] = errorCase.contentType;
  const response = await fetch(`${harness.baseUrl}${errorCase.path}`, { method: errorCase.method, headers, body: errorCase.body });
  expect(response.status).toBe(errorCase.status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  if (errorCase.allow) expect(response.headers.get("allow")).toBe(errorCase.allow);
  const body = (await response.json()) as { code: number; message: string };
  expect(body.code).toBe(errorCase.code);
  if (typeof errorCase.message === "string") expect(body.message).toBe(errorCase.message);
  else expect(body.message).toMatch(errorCase.message);
  expect(await rowCounts(harness.app)).toBe(before);
});
