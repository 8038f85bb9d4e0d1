import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { type DescService, type FileRegistry, create, createFileRegistry, createRegistry, fromBinary, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, anyPack } from "@bufbuild/protobuf/wkt";
import { GetHealthResponseSchema, GetJobResponseSchema, HealthStatus } from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { JobStatus, StepStatus } from "../../gen/es/coordinator/v1/job_pb";
import { BadRequestSchema, file_google_rpc_error_details } from "../../gen/es/google/rpc/error_details_pb";
import { StatusSchema } from "../../gen/es/google/rpc/status_pb";
import { OPENAPI_FILE, renderOpenApiDocument } from "../../scripts/generate-openapi";
import { buildOpenApiDocument, createOpenApiHandler } from "../../src/openapi";

// Parsed OpenAPI JSON is walked freely in these tests.
type Json = any;

const document: Json = JSON.parse(readFileSync(OPENAPI_FILE, "utf8"));

/** Schema keywords the generator emits; the validator below understands each of them. */
const KNOWN_KEYWORDS = new Set([
  "$ref",
  "type",
  "format",
  "pattern",
  "enum",
  "properties",
  "additionalProperties",
  "items",
  "required",
  "minimum",
  "maximum",
  "description",
  "contentEncoding",
]);

/**
 * Validates a JSON value against a schema of the document, for the keywords in KNOWN_KEYWORDS.
 * Stricter than JSON Schema in one way: an object property missing from `properties` is an
 * error unless `additionalProperties` is set, so that a misnamed field is caught.
 */
function validate(schema: Json, value: Json, where = "$"): string[] {
  if (schema.$ref !== undefined) {
    const name = String(schema.$ref).replace("#/components/schemas/", "");
    const target = document.components.schemas[name];
    if (target === undefined) return [`${where}: unresolved ${schema.$ref}`];
    return validate(target, value, where);
  }

  const type = schema.type;
  const actual = jsonType(value);
  const typeMatches = type === undefined || (type === "integer" ? Number.isInteger(value) : type === actual);
  if (!typeMatches) return [`${where}: expected ${type}, got ${actual} ${JSON.stringify(value)}`];

  const errors: string[] = [];
  if (schema.enum !== undefined && !schema.enum.includes(value)) errors.push(`${where}: ${JSON.stringify(value)} is not in ${JSON.stringify(schema.enum)}`);
  if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) errors.push(`${where}: "${value}" does not match ${schema.pattern}`);
  if (schema.format === "date-time" && Number.isNaN(Date.parse(value))) errors.push(`${where}: "${value}" is not a date-time`);
  if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${where}: ${value} is below ${schema.minimum}`);
  if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${where}: ${value} is above ${schema.maximum}`);

  if (actual === "array" && schema.items !== undefined) {
    value.forEach((element: Json, index: number) => errors.push(...validate(schema.items, element, `${where}[${index}]`)));
  }
  if (actual === "object") {
    for (const name of schema.required ?? []) if (!(name in value)) errors.push(`${where}: missing required "${name}"`);
    for (const [name, property] of Object.entries(value)) {
      const propertySchema = schema.properties?.[name];
      if (propertySchema !== undefined) errors.push(...validate(propertySchema, property, `${where}.${name}`));
      else if (typeof schema.additionalProperties === "object") errors.push(...validate(schema.additionalProperties, property, `${where}.${name}`));
      else if (schema.additionalProperties !== true) errors.push(`${where}: unexpected property "${name}"`);
    }
  }
  return errors;
}

function jsonType(value: Json): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** Returns every schema object in the document: components, parameters, bodies and responses. */
function allSchemas(doc: Json): Json[] {
  const found: Json[] = [];
  const visitSchema = (schema: Json): void => {
    found.push(schema);
    for (const child of Object.values(schema.properties ?? {})) visitSchema(child);
    if (typeof schema.additionalProperties === "object") visitSchema(schema.additionalProperties);
    if (schema.items !== undefined) visitSchema(schema.items);
  };
  for (const schema of Object.values(doc.components.schemas)) visitSchema(schema);
  for (const pathItem of Object.values(doc.paths) as Json[]) {
    for (const operation of Object.values(pathItem) as Json[]) {
      for (const parameter of operation.parameters ?? []) visitSchema(parameter.schema);
      if (operation.requestBody) visitSchema(operation.requestBody.content["application/json"].schema);
      for (const response of Object.values(operation.responses) as Json[]) visitSchema(response.content["application/json"].schema);
    }
  }
  return found;
}

describe("coordinator document", () => {
  test("committed file matches the generator", () => {
    expect(renderOpenApiDocument()).toBe(readFileSync(OPENAPI_FILE, "utf8"));
  });

  test("lists every binding with its HTTP method", () => {
    const operations = Object.entries(document.paths).flatMap(([route, item]) => Object.keys(item as object).map((method) => `${method.toUpperCase()} ${route}`));
    expect(operations).toEqual([
      "POST /coordinator/jobs",
      "POST /api/coordinator/jobs",
      "PATCH /coordinator/jobs/{id}/status",
      "PATCH /api/coordinator/jobs/{id}/status",
      "PATCH /coordinator/jobs/{id}/progress",
      "PATCH /api/coordinator/jobs/{id}/progress",
      "POST /coordinator/jobs/{id}/complete",
      "POST /api/coordinator/jobs/{id}/complete",
      "POST /coordinator/jobs/{id}/fail",
      "POST /api/coordinator/jobs/{id}/fail",
      "GET /coordinator/jobs/{id}",
      "GET /api/coordinator/jobs/{id}",
      "GET /coordinator/health",
      "GET /api/coordinator/health",
    ]);
  });

  test("operation ids are unique", () => {
    const ids = Object.values(document.paths).flatMap((item) => Object.values(item as object).map((operation: Json) => operation.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain("CoordinatorJobsService_CreateJob");
    expect(ids).toContain("CoordinatorJobsService_CreateJob_2");
  });

  test("every path placeholder has a path parameter", () => {
    for (const [route, item] of Object.entries(document.paths)) {
      const placeholders = [...route.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
      for (const operation of Object.values(item as object) as Json[]) {
        const pathParameters = (operation.parameters ?? []).filter((parameter: Json) => parameter.in === "path").map((parameter: Json) => parameter.name);
        expect(pathParameters).toEqual(placeholders);
      }
    }
  });

  test("uses only schema keywords the test validator checks", () => {
    const unknown = allSchemas(document).flatMap((schema) => Object.keys(schema).filter((keyword) => !KNOWN_KEYWORDS.has(keyword)));
    expect(unknown).toEqual([]);
  });

  test("every $ref resolves", () => {
    const refs = allSchemas(document).filter((schema) => schema.$ref !== undefined).map((schema) => schema.$ref as string);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(document.components.schemas[ref.replace("#/components/schemas/", "")]).toBeDefined();
  });

  test("body star request omits the path field", () => {
    const operation = document.paths["/coordinator/jobs/{id}/status"].patch;
    const schema = operation.requestBody.content["application/json"].schema;
    expect(Object.keys(schema.properties)).toEqual(["status", "message", "expectedVersion"]);
    expect(schema.properties.expectedVersion).toEqual({ type: "string", format: "int64", pattern: "^-?[0-9]+$" });
    expect(operation.parameters).toEqual([{ name: "id", in: "path", required: true, schema: { type: "string" } }]);
  });

  test("create takes the whole request message", () => {
    const operation = document.paths["/coordinator/jobs"].post;
    expect(operation.requestBody).toEqual({
      required: true,
      content: { "application/json": { schema: { $ref: "#/components/schemas/coordinator.v1.CreateJobRequest" } } },
    });
    expect(operation.parameters).toBeUndefined();
  });

  test("GetJob takes paging as query parameters", () => {
    const operation = document.paths["/coordinator/jobs/{id}"].get;
    expect(operation.parameters.map((parameter: Json) => `${parameter.in}:${parameter.name}`)).toEqual(["path:id", "query:pageSize", "query:pageToken"]);
    expect(operation.requestBody).toBeUndefined();
  });

  test("GetHealth needs no key and documents 503", () => {
    const operation = document.paths["/coordinator/health"].get;
    expect(operation.security).toEqual([]);
    expect(Object.keys(operation.responses)).toEqual(["200", "503", "default"]);
    expect(document.paths["/coordinator/jobs"].post.security).toBeUndefined();
    expect(document.security).toEqual([{ apiKey: [] }, { bearerAuth: [] }]);
    expect(document.components.securitySchemes.apiKey).toEqual({ type: "apiKey", in: "header", name: "x-api-key" });
  });

  test("schemas use the proto3 JSON forms", () => {
    const job = document.components.schemas["coordinator.v1.Job"].properties;
    expect(job.requestId).toEqual({ type: "string" });
    expect(job.version).toEqual({ type: "string", format: "int64", pattern: "^-?[0-9]+$" });
    expect(job.status).toEqual({ $ref: "#/components/schemas/coordinator.v1.JobStatus" });
    expect(job.createdAt).toEqual({ type: "string", format: "date-time" });
    expect(job.payload).toEqual({ type: "object", additionalProperties: true });
    expect(job.gates).toEqual({ type: "array", items: { $ref: "#/components/schemas/coordinator.v1.GateResult" } });
    expect(document.components.schemas["coordinator.v1.JobStatus"].enum).toContain("JOB_STATUS_QUEUED");
    expect(document.components.schemas["google.rpc.Status"].properties.details.items.required).toEqual(["@type"]);
  });

  test("real responses validate against their schemas", () => {
    const time = { seconds: 1_800_000_000n, nanos: 500_000_000 };
    const job = {
      id: "0b6a4a5e-3f7c-4a57-9d5e-2f8f7b2c1a10",
      requestId: "delivery-1",
      type: "code-task",
      queue: "default",
      priority: 3,
      status: JobStatus.FAILED,
      progressPercent: 40,
      progressMessage: "tests",
      source: { forge: "gitea", repository: "octo/widgets", issueNumber: 7, pullRequestNumber: 0, url: "https://forge/octo/widgets/issues/7", event: "issues", action: "opened", deliveryId: "d-1" },
      payload: { branch: "main", attempts: 2 },
      result: { ok: false },
      summary: "partial",
      error: "tests failed",
      gates: [{ name: "tests", passed: false, message: "2 failed", details: { failed: ["a", "b"] } }],
      version: 9n,
      createdAt: time,
      queuedAt: time,
      startedAt: time,
      completedAt: time,
      updatedAt: time,
    };
    const getJob = create(GetJobResponseSchema, {
      job,
      steps: [{ id: "s1", ordinal: 1, name: "implement", phase: "implement", status: StepStatus.FAILED, startedAt: time, completedAt: time, output: "done" }],
      events: [{ id: "e1", sequence: 1n, type: "job.created", actor: "coordinator", time, payload: { queue: "default" } }],
      nextPageToken: "token",
    });
    const health = create(GetHealthResponseSchema, {
      status: HealthStatus.DEGRADED,
      dependencies: [{ name: "queue", status: HealthStatus.DEGRADED, message: "slow", latencyMs: 12n, counts: { waiting: 3n }, details: { at: "now" } }],
      checkedAt: time,
    });
    const registry = createRegistry(file_google_rpc_error_details);
    const error = create(StatusSchema, {
      code: 3,
      message: "invalid id",
      details: [anyPack(BadRequestSchema, create(BadRequestSchema, { fieldViolations: [{ field: "id", description: "must be a UUID" }] }))],
    });

    const cases: [string, Json][] = [
      ["/coordinator/jobs/{id}", toJson(GetJobResponseSchema, getJob, { alwaysEmitImplicit: true })],
      ["/coordinator/health", toJson(GetHealthResponseSchema, health, { alwaysEmitImplicit: true })],
    ];
    for (const [route, json] of cases) {
      expect(validate(document.paths[route].get.responses["200"].content["application/json"].schema, json)).toEqual([]);
    }
    const errorSchema = document.paths["/coordinator/jobs"].post.responses.default.content["application/json"].schema;
    expect(validate(errorSchema, toJson(StatusSchema, error, { registry }))).toEqual([]);
  });

  test("validator rejects int64 numbers and unknown names", () => {
    const schema = { $ref: "#/components/schemas/coordinator.v1.JobEvent" };
    expect(validate(schema, { sequence: 1 })).toEqual(['$.sequence: expected string, got number 1']);
    expect(validate(schema, { sequence_number: "1" })).toEqual(['$: unexpected property "sequence_number"']);
  });
});

describe("generator on other bindings", () => {
  let registry: FileRegistry;
  const service = (name: string): DescService => registry.getService(`fixture.v1.${name}`)!;
  const build = (name: string) => buildOpenApiDocument({ services: [service(name)], title: "fixture", version: "1", errorMessage: StatusSchema }) as Json;

  beforeAll(() => {
    const directory = mkdtempSync(path.join(os.tmpdir(), "openapi-fixture-"));
    try {
      const output = path.join(directory, "fixture.binpb");
      const root = path.resolve(__dirname, "../..");
      execFileSync("protoc", [
        "--include_imports",
        `--descriptor_set_out=${output}`,
        `-I${path.join(root, "test/contract/fixtures")}`,
        `-I${path.join(root, "node_modules/google-proto-files")}`,
        "openapi_fixture.proto",
      ]);
      registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(output)));
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test("multi-segment variables become one parameter", () => {
    const doc = build("ShelfService");
    const getBook = doc.paths["/v1/{name}"].get;
    expect(getBook.parameters).toEqual([
      { name: "name", in: "path", required: true, schema: { type: "string" }, description: "Matches shelves/*/books/*, so the value contains slashes." },
    ]);
  });

  test("body field and nested path variable", () => {
    const updateBook = build("ShelfService").paths["/v1/{book.name}"].patch;
    expect(updateBook.parameters.map((parameter: Json) => `${parameter.in}:${parameter.name}`)).toEqual(["path:book.name", "query:updateMask"]);
    expect(updateBook.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/fixture.v1.Book" });
  });

  test("query parameters follow the transcoder's rules", () => {
    const listBooks = build("ShelfService").paths["/v1/shelves/{shelf}/books"].get;
    expect(listBooks.parameters).toEqual([
      { name: "shelf", in: "path", required: true, schema: { type: "string" } },
      { name: "filter.genre", in: "query", schema: { $ref: "#/components/schemas/fixture.v1.Genre" } },
      { name: "tags", in: "query", schema: { type: "array", items: { type: "string" } }, style: "form", explode: true },
      { name: "maxPages", in: "query", schema: { type: "string", format: "int64", pattern: "^-?[0-9]+$" } },
    ]);
  });

  test("response_body selects one field", () => {
    const listBooks = build("ShelfService").paths["/v1/shelves/{shelf}/books"].get;
    expect(listBooks.responses["200"].content["application/json"].schema).toEqual({ type: "array", items: { $ref: "#/components/schemas/fixture.v1.Book" } });
  });

  test("custom verb and custom method", () => {
    const doc = build("ShelfService");
    expect(Object.keys(doc.paths["/v1/books/{id}:archive"])).toEqual(["post"]);
    expect(doc.paths["/v1/books/{id}:archive"].post.requestBody.content["application/json"].schema).toEqual({
      type: "object",
      properties: { reason: { type: "string" } },
    });
    expect(Object.keys(doc.paths["/v1/ping"])).toEqual(["head"]);
  });

  test("scalar and well-known types", () => {
    const book = build("ShelfService").components.schemas["fixture.v1.Book"].properties;
    expect(book.pages).toEqual({ type: "string", format: "uint64", pattern: "^[0-9]+$" });
    expect(book.cover).toEqual({ type: "string", format: "byte", contentEncoding: "base64" });
    expect(book.rating).toEqual({ type: "number", format: "double" });
    expect(book.sequel).toEqual({ $ref: "#/components/schemas/fixture.v1.Book" });
    expect(book.readTime.type).toBe("string");
    expect(book.readTime.pattern).toBe("^-?[0-9]+(\\.[0-9]{1,9})?s$");
  });

  test.each([
    ["WildcardService", 'fixture.v1.WildcardService.Get: path template "/v1/*/books" has a wildcard outside a variable, which OpenAPI paths cannot express'],
    ["AnyMethodService", 'fixture.v1.AnyMethodService.Any: custom HTTP method "*" has no OpenAPI operation'],
    ["DuplicateService", "fixture.v1.DuplicateService.Second: GET /v1/same is bound by two methods"],
  ])("%s is rejected", (name, message) => {
    expect(() => build(name)).toThrow(message);
  });
});

describe("GET /openapi.json", () => {
  const handler = createOpenApiHandler();
  let http1: http.Server;
  let h2c: http2.Http2Server;
  let http1Url: string;
  let h2cUrl: string;

  beforeAll(async () => {
    const fallback = (handled: boolean, response: http.ServerResponse | http2.Http2ServerResponse) => {
      if (handled) return;
      response.writeHead(404);
      response.end();
    };
    http1 = http.createServer((request, response) => fallback(handler(request, response), response));
    h2c = http2.createServer((request, response) => fallback(handler(request, response), response));
    await new Promise<void>((resolve) => http1.listen(0, "127.0.0.1", resolve));
    await new Promise<void>((resolve) => h2c.listen(0, "127.0.0.1", resolve));
    http1Url = `http://127.0.0.1:${(http1.address() as AddressInfo).port}`;
    h2cUrl = `http://127.0.0.1:${(h2c.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => http1.close(resolve));
    await new Promise((resolve) => h2c.close(resolve));
  });

  test("serves the generated document", async () => {
    const response = await fetch(`${http1Url}/openapi.json?format=json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual(document);
  });

  test("HEAD sends headers only", async () => {
    const response = await fetch(`${http1Url}/openapi.json`, { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(Number(response.headers.get("content-length"))).toBe(Buffer.byteLength(JSON.stringify(document)));
    expect(await response.text()).toBe("");
  });

  test("other methods get 405", async () => {
    const response = await fetch(`${http1Url}/openapi.json`, { method: "POST", body: "{}" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
    expect(await response.json()).toEqual({ code: 12, message: "method POST is not allowed on /openapi.json; use GET", details: [] });
  });

  test("other paths are left to the next handler", async () => {
    const response = await fetch(`${http1Url}/openapi.yaml`);
    expect(response.status).toBe(404);
  });

  test("serves over HTTP/2 too", async () => {
    const session = http2.connect(h2cUrl);
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const stream = session.request({ ":path": "/openapi.json" });
        let status = 0;
        let body = "";
        stream.on("response", (headers) => {
          status = Number(headers[":status"]);
        });
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => {
          body += chunk;
        });
        stream.on("end", () => resolve({ status, body }));
        stream.on("error", reject);
      });
      expect(status).toBe(200);
      expect(JSON.parse(body)).toEqual(document);
    } finally {
      session.close();
    }
  });
});
