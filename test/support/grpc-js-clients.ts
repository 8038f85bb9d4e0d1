/**
 * grpc-js clients: one built at run time from proto/ with @grpc/proto-loader, sharing no generated
 * code with the server, and the ts-proto generated client.
 */
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { CoordinatorJobsServiceClient } from "../../gen/ts-proto/coordinator/v1/coordinator_jobs_service";

const ROOT = path.resolve(__dirname, "../..");

/** Plain-object view of the contract loaded from the .proto files; enums as names, longs as strings. */
export function loadDynamicClient(port: number): grpc.Client & Record<string, Function> {
  const definition = protoLoader.loadSync("coordinator/v1/coordinator_jobs_service.proto", {
    includeDirs: [path.join(ROOT, "proto"), path.join(ROOT, "node_modules/google-proto-files")],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    coordinator: { v1: { CoordinatorJobsService: grpc.ServiceClientConstructor } };
  };
  const Service = loaded.coordinator.v1.CoordinatorJobsService;
  return new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Function>;
}

export function tsProtoClient(port: number): CoordinatorJobsServiceClient {
  return new CoordinatorJobsServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

/** Calls a unary method of a grpc-js client and resolves with the response or rejects with the ServiceError. */
export function unary<T>(client: grpc.Client, method: string, request: unknown, metadata = new grpc.Metadata(), options: grpc.CallOptions = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const call = (client as unknown as Record<string, Function>)[method].bind(client);
    call(request, metadata, options, (error: grpc.ServiceError | null, response: T) => (error ? reject(error) : resolve(response)));
  });
}

export function keyMetadata(secret: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("x-api-key", secret);
  return metadata;
}
