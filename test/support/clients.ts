/** Connect-ES clients for tests, over each protocol the port serves, authenticated with the test key. */
import { type Client, type Interceptor, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { CoordinatorJobsService } from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { TEST_API_KEY } from "./test-app";

export type JobsClient = Client<typeof CoordinatorJobsService>;
export type Protocol = "connect-json-http1" | "connect-binary-http2" | "grpc-web-http1" | "grpc-http2";

const withKey =
  (key: string | null): Interceptor =>
  (next) =>
  async (request) => {
    if (key !== null) request.header.set("x-api-key", key);
    return next(request);
  };

export function jobsClient(baseUrl: string, protocol: Protocol = "connect-json-http1", key: string | null = TEST_API_KEY.secret): JobsClient {
  const interceptors = [withKey(key)];
  switch (protocol) {
    case "connect-json-http1":
      return createClient(CoordinatorJobsService, createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false, interceptors }));
    case "connect-binary-http2":
      return createClient(CoordinatorJobsService, createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true, interceptors }));
    case "grpc-web-http1":
      return createClient(CoordinatorJobsService, createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors }));
    case "grpc-http2":
      return createClient(CoordinatorJobsService, createGrpcTransport({ baseUrl, interceptors }));
  }
}
