import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { createRegistry } from "@bufbuild/protobuf";
import { createConnectRouter, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { CoordinatorJobsService, HealthStatus } from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { file_google_rpc_error_details } from "../../gen/es/google/rpc/error_details_pb";
import { createTranscoder } from "../../src/transcoding";
import { send, sendJson } from "./http-client";

/** The transcoder as the fallback of connectNodeAdapter, so one port serves Connect, gRPC and REST. */
describe("transcoder behind connectNodeAdapter", () => {
  let server: http.Server;
  let baseUrl: string;

  beforeAll(async () => {
    const routes = (router: ConnectRouter) =>
      router.service(CoordinatorJobsService, {
        getHealth: () => ({ status: HealthStatus.SERVING }),
      });
    const router = createConnectRouter();
    routes(router);
    const transcoder = createTranscoder({
      services: [CoordinatorJobsService],
      handlers: router.handlers,
      registry: createRegistry(file_google_rpc_error_details),
      maxBodyBytes: 1024,
    });
    const adapter = connectNodeAdapter({
      routes,
      fallback: (request, response) => {
        void transcoder.handle(request, response).then((handled) => {
          if (!handled) {
            response.writeHead(404);
            response.end();
          }
        });
      },
    });
    server = http.createServer(adapter);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test("Connect call reaches adapter", async () => {
    const response = await sendJson(baseUrl, "POST", "/coordinator.v1.CoordinatorJobsService/GetHealth", {});

    expect(response.status).toBe(200);
    expect(response.json).toEqual({ status: "HEALTH_STATUS_SERVING" });
  });

  test("REST call reaches transcoder", async () => {
    const response = await send(baseUrl, "/coordinator/health");

    expect(response.status).toBe(200);
    expect(response.json).toEqual({ status: "HEALTH_STATUS_SERVING" });
  });

  test("unimplemented method is 501 over REST", async () => {
    const response = await send(baseUrl, "/coordinator/jobs/job-1");

    expect(response.status).toBe(501);
    expect(response.json).toEqual({
      code: 12,
      message: "coordinator.v1.CoordinatorJobsService.GetJob is not implemented",
      details: [],
    });
  });

  test("other paths reach final fallback", async () => {
    const response = await send(baseUrl, "/index.html");

    expect(response.status).toBe(404);
    expect(response.text).toBe("");
  });
});
