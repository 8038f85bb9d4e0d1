import { create, createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, file_google_protobuf_timestamp } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  CoordinatorJobsService,
  HealthStatus,
  file_coordinator_v1_coordinator_jobs_service,
} from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { file_grpc_health_v1_health } from "../../gen/es/grpc/health/v1/health_pb";
import {
  type ServerReflectionRequest,
  type ServerReflectionResponse,
  ServerReflection as ServerReflectionV1,
  ServerReflectionRequestSchema,
} from "../../gen/es/grpc/reflection/v1/reflection_pb";
import {
  ServerReflection as ServerReflectionV1alpha,
  ServerReflectionRequestSchema as ServerReflectionRequestSchemaV1alpha,
} from "../../gen/es/grpc/reflection/v1alpha/reflection_pb";
import { createGrpcHealthService } from "../../src/grpc-health";
import { createReflectionServices } from "../../src/reflection";
import { bufCurl } from "./buf-cli";
import { type TestServer, startConnectServer } from "./connect-server";

const SERVICE_FILE = "coordinator/v1/coordinator_jobs_service.proto";
const LISTED_SERVICES = [
  "coordinator.v1.CoordinatorJobsService",
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];
/** The field number of the google.api.http extension of google.protobuf.MethodOptions. */
const HTTP_EXTENSION_NUMBER = 72295728;

let server: TestServer;

beforeAll(async () => {
  const reflection = createReflectionServices([file_coordinator_v1_coordinator_jobs_service, file_grpc_health_v1_health], LISTED_SERVICES);
  const health = createGrpcHealthService(async () => "SERVING", { services: ["coordinator.v1.CoordinatorJobsService"] });
  server = await startConnectServer((router) => {
    router.service(CoordinatorJobsService, {
      getHealth: async () => ({ status: HealthStatus.SERVING, checkedAt: { seconds: 1_800_000_000n, nanos: 0 } }),
    });
    health.register(router);
    reflection.register(router);
  });
});

afterAll(async () => {
  await server.close();
});

type RequestInit = Parameters<typeof create<typeof ServerReflectionRequestSchema>>[1];

/** Sends the requests on one v1 stream and returns the responses in order. */
async function reflect(requests: RequestInit[]): Promise<ServerReflectionResponse[]> {
  const client = createClient(ServerReflectionV1, createGrpcTransport({ baseUrl: server.baseUrl }));
  async function* send(): AsyncIterable<ServerReflectionRequest> {
    for (const request of requests) yield create(ServerReflectionRequestSchema, request);
  }
  const responses: ServerReflectionResponse[] = [];
  for await (const response of client.serverReflectionInfo(send())) responses.push(response);
  return responses;
}

async function reflectOne(request: RequestInit): Promise<ServerReflectionResponse> {
  const responses = await reflect([request]);
  expect(responses).toHaveLength(1);
  return responses[0];
}

/** Returns the names of the files in a file_descriptor_response, in the order sent. */
function fileNames(response: ServerReflectionResponse): string[] {
  if (response.messageResponse.case !== "fileDescriptorResponse") {
    throw new Error(`expected a file_descriptor_response, got ${JSON.stringify(response.messageResponse.case)}`);
  }
  return response.messageResponse.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);
}

function errorOf(response: ServerReflectionResponse): { errorCode: number; errorMessage: string } {
  if (response.messageResponse.case !== "errorResponse") {
    throw new Error(`expected an error_response, got ${JSON.stringify(response.messageResponse.case)}`);
  }
  return response.messageResponse.value;
}

test("list_services returns the listed services", async () => {
  const response = await reflectOne({ messageRequest: { case: "listServices", value: "*" } });
  expect(response.messageResponse.case).toBe("listServicesResponse");
  const names = response.messageResponse.case === "listServicesResponse" ? response.messageResponse.value.service.map((service) => service.name) : [];
  expect(names).toEqual(LISTED_SERVICES);
});

test("file_by_filename returns the file, then its imports", async () => {
  const names = fileNames(await reflectOne({ messageRequest: { case: "fileByFilename", value: SERVICE_FILE } }));
  expect(names[0]).toBe(SERVICE_FILE);
  expect([...names].sort()).toEqual([
    "coordinator/v1/coordinator_jobs_service.proto",
    "coordinator/v1/job.proto",
    "google/api/annotations.proto",
    "google/api/http.proto",
    "google/protobuf/descriptor.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
  ]);
});

test.each([
  ["a service", "coordinator.v1.CoordinatorJobsService", SERVICE_FILE],
  ["a method", "coordinator.v1.CoordinatorJobsService.GetHealth", SERVICE_FILE],
  ["a message", "coordinator.v1.Job", "coordinator/v1/job.proto"],
  ["a nested message", "google.protobuf.DescriptorProto.ExtensionRange", "google/protobuf/descriptor.proto"],
  ["a map entry message", "coordinator.v1.DependencyHealth.CountsEntry", SERVICE_FILE],
  ["a field", "coordinator.v1.Job.status", "coordinator/v1/job.proto"],
  ["a oneof", "grpc.reflection.v1.ServerReflectionRequest.message_request", "grpc/reflection/v1/reflection.proto"],
  ["an enum", "coordinator.v1.JobStatus", "coordinator/v1/job.proto"],
  ["an enum value", "coordinator.v1.JOB_STATUS_QUEUED", "coordinator/v1/job.proto"],
  ["a nested enum", "grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
  ["a nested enum value", "grpc.health.v1.HealthCheckResponse.SERVICE_UNKNOWN", "grpc/health/v1/health.proto"],
  ["an extension", "google.api.http", "google/api/annotations.proto"],
  ["a well-known type", "google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
  ["a name with a leading dot", ".coordinator.v1.Job", "coordinator/v1/job.proto"],
])("file_containing_symbol finds %s", async (_kind, symbol, file) => {
  const names = fileNames(await reflectOne({ messageRequest: { case: "fileContainingSymbol", value: symbol } }));
  expect(names[0]).toBe(file);
});

test.each<[string, RequestInit, string]>([
  ["file", { messageRequest: { case: "fileByFilename", value: "coordinator/v1/missing.proto" } }, 'file "coordinator/v1/missing.proto" not found'],
  ["symbol", { messageRequest: { case: "fileContainingSymbol", value: "coordinator.v1.Missing" } }, 'symbol "coordinator.v1.Missing" not found'],
  [
    "extension number",
    { messageRequest: { case: "fileContainingExtension", value: { containingType: "google.protobuf.MethodOptions", extensionNumber: 50000 } } },
    'extension 50000 of message "google.protobuf.MethodOptions" not found',
  ],
  [
    "extended message",
    { messageRequest: { case: "fileContainingExtension", value: { containingType: "coordinator.v1.Missing", extensionNumber: 1 } } },
    'message "coordinator.v1.Missing" not found',
  ],
  ["message of all_extension_numbers_of_type", { messageRequest: { case: "allExtensionNumbersOfType", value: "coordinator.v1.Missing" } }, 'message "coordinator.v1.Missing" not found'],
])("unknown %s gets a NOT_FOUND error_response", async (_kind, request, message) => {
  const error = errorOf(await reflectOne(request));
  expect(error.errorCode).toBe(Code.NotFound);
  expect(error.errorMessage).toBe(message);
});

test("file_containing_extension finds google.api.http", async () => {
  const response = await reflectOne({
    messageRequest: { case: "fileContainingExtension", value: { containingType: "google.protobuf.MethodOptions", extensionNumber: HTTP_EXTENSION_NUMBER } },
  });
  expect(fileNames(response)[0]).toBe("google/api/annotations.proto");
});

test("all_extension_numbers_of_type lists known extensions", async () => {
  const [options, job] = await reflect([
    { messageRequest: { case: "allExtensionNumbersOfType", value: "google.protobuf.MethodOptions" } },
    { messageRequest: { case: "allExtensionNumbersOfType", value: "coordinator.v1.Job" } },
  ]);
  expect(options.messageResponse).toEqual({
    case: "allExtensionNumbersResponse",
    value: expect.objectContaining({ baseTypeName: "google.protobuf.MethodOptions", extensionNumber: [HTTP_EXTENSION_NUMBER] }),
  });
  expect(job.messageResponse).toEqual({
    case: "allExtensionNumbersResponse",
    value: expect.objectContaining({ baseTypeName: "coordinator.v1.Job", extensionNumber: [] }),
  });
});

test("stream sends each import once", async () => {
  const [service, job, serviceAgain] = await reflect([
    { messageRequest: { case: "fileByFilename", value: SERVICE_FILE } },
    { messageRequest: { case: "fileContainingSymbol", value: "coordinator.v1.Job" } },
    { messageRequest: { case: "fileByFilename", value: SERVICE_FILE } },
  ]);
  expect(fileNames(service)).toContain("coordinator/v1/job.proto");
  expect(fileNames(job)).toEqual(["coordinator/v1/job.proto"]);
  expect(fileNames(serviceAgain)).toEqual([SERVICE_FILE]);
});

test("response echoes the host and the request", async () => {
  const response = await reflectOne({ host: "jobs.example", messageRequest: { case: "fileContainingSymbol", value: "coordinator.v1.Job" } });
  expect(response.validHost).toBe("jobs.example");
  expect(response.originalRequest?.host).toBe("jobs.example");
  expect(response.originalRequest?.messageRequest).toEqual({ case: "fileContainingSymbol", value: "coordinator.v1.Job" });
});

test("request without message_request is INVALID_ARGUMENT", async () => {
  const error = await reflect([{ host: "" }]).catch((thrown: unknown) => ConnectError.from(thrown));
  expect(error).toBeInstanceOf(ConnectError);
  expect((error as ConnectError).code).toBe(Code.InvalidArgument);
  expect((error as ConnectError).rawMessage).toMatch(/^invalid reflection request: set one of file_by_filename/);
});

test("v1alpha answers like v1", async () => {
  const client = createClient(ServerReflectionV1alpha, createGrpcTransport({ baseUrl: server.baseUrl }));
  async function* send() {
    yield create(ServerReflectionRequestSchemaV1alpha, { messageRequest: { case: "listServices", value: "" } });
    yield create(ServerReflectionRequestSchemaV1alpha, { messageRequest: { case: "fileContainingSymbol", value: "coordinator.v1.JobStatus" } });
  }
  const responses = [];
  for await (const response of client.serverReflectionInfo(send())) responses.push(response);
  expect(responses).toHaveLength(2);
  expect(responses[0].$typeName).toBe("grpc.reflection.v1alpha.ServerReflectionResponse");
  expect(responses[0].messageResponse.case === "listServicesResponse" && responses[0].messageResponse.value.service.map((service) => service.name)).toEqual(LISTED_SERVICES);
  expect(responses[1].messageResponse.case).toBe("fileDescriptorResponse");
  const files = responses[1].messageResponse.case === "fileDescriptorResponse" ? responses[1].messageResponse.value.fileDescriptorProto : [];
  expect(fromBinary(FileDescriptorProtoSchema, files[0]).name).toBe("coordinator/v1/job.proto");
});

test("sent descriptors build a complete registry", async () => {
  const response = await reflectOne({ messageRequest: { case: "fileContainingSymbol", value: "coordinator.v1.CoordinatorJobsService" } });
  if (response.messageResponse.case !== "fileDescriptorResponse") throw new Error("expected a file_descriptor_response");
  // Imports come after the files that import them, so the set is built in reverse order.
  const files = response.messageResponse.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes)).reverse();
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: files }));
  const service = registry.getService("coordinator.v1.CoordinatorJobsService");
  expect(service?.methods.map((method) => method.name)).toEqual(CoordinatorJobsService.methods.map((method) => method.name));
  expect(registry.getMessage("coordinator.v1.Job")?.field.createdAt.message?.typeName).toBe("google.protobuf.Timestamp");
});

test("default list is the given files' services and reflection", () => {
  const reflection = createReflectionServices([file_coordinator_v1_coordinator_jobs_service]);
  expect(reflection.serviceNames).toEqual([
    "coordinator.v1.CoordinatorJobsService",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
  ]);
});

test("listing an undeclared service throws", () => {
  expect(() => createReflectionServices([file_google_protobuf_timestamp], ["coordinator.v1.CoordinatorJobsService"])).toThrow(
    'reflection cannot list the service "coordinator.v1.CoordinatorJobsService": none of the given files declares it; pass its file descriptor too',
  );
});

describe("buf curl without --schema", () => {
  const grpcFlags = ["--protocol", "grpc", "--http2-prior-knowledge"];

  test("--list-methods lists every method", async () => {
    const result = await bufCurl(server.baseUrl, [...grpcFlags, "--list-methods"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual([
      ...CoordinatorJobsService.methods.map((method) => `coordinator.v1.CoordinatorJobsService/${method.name}`).sort(),
      "grpc.health.v1.Health/Check",
      "grpc.health.v1.Health/List",
      "grpc.health.v1.Health/Watch",
      "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    ]);
  });

  test.each([
    ["grpc", grpcFlags],
    ["connect", ["--protocol", "connect", "--http2-prior-knowledge"]],
    ["grpcweb", ["--protocol", "grpcweb", "--http2-prior-knowledge"]],
  ])("calls GetHealth over %s", async (_protocol, flags) => {
    const result = await bufCurl(`${server.baseUrl}/coordinator.v1.CoordinatorJobsService/GetHealth`, flags);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ status: "HEALTH_STATUS_SERVING", checkedAt: "2027-01-15T08:00:00Z" });
  });

  test("v1alpha reflection serves buf curl", async () => {
    const result = await bufCurl(`${server.baseUrl}/coordinator.v1.CoordinatorJobsService/GetHealth`, [...grpcFlags, "--reflect-protocol", "grpc-v1alpha"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).status).toBe("HEALTH_STATUS_SERVING");
  });
});
