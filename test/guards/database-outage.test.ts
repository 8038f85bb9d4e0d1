import { Code } from "@connectrpc/connect";
import { HealthStatus } from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { jobsClient } from "../support/clients";
import { createJobRequest, expectConnectError, summarizeError } from "../support/requests";
import { TcpProxy } from "../support/tcp-proxy";
import { TEST_DATABASE_URL, type TestApp, startTestApp } from "../support/test-app";

describe("PostgreSQL outage", () => {
  let proxy: TcpProxy;
  let harness: TestApp;

  beforeAll(async () => {
    const target = new URL(TEST_DATABASE_URL);
    proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    const viaProxy = new URL(TEST_DATABASE_URL);
    viaProxy.port = String(proxy.port);
    harness = await startTestApp("pg_outage", { DATABASE_URL: viaProxy.toString(), HEALTH_PROBE_TIMEOUT_MS: "500" });
  });

  afterAll(async () => {
    await harness.close();
    await proxy.cut();
  });

  test("fails calls fast with UNAVAILABLE, reports NOT_SERVING, and recovers without a restart", async () => {
    const client = jobsClient(harness.baseUrl);
    const before = await client.createJob(createJobRequest());
    expect(before.created).toBe(true);

    await proxy.cut();
    const started = performance.now();
    const error = await expectConnectError(client.createJob(createJobRequest()));
    expect(performance.now() - started).toBeLessThan(7000);
    expect(summarizeError(error)).toEqual({ code: "Unavailable", reason: "DEPENDENCY_UNAVAILABLE", metadata: {} });
    expect(error.rawMessage).toBe("the database is unreachable; retry later");

    const readError = await expectConnectError(client.getJob({ id: before.job!.id }));
    expect(readError.code).toBe(Code.Unavailable);

    const health = await client.getHealth({});
    expect(health.status).toBe(HealthStatus.NOT_SERVING);
    expect(health.dependencies.find((dependency) => dependency.name === "database")?.status).toBe(HealthStatus.NOT_SERVING);
    const rest = await fetch(`${harness.baseUrl}/coordinator/health`);
    expect(rest.status).toBe(503);

    await proxy.start();
    const after = await client.createJob(createJobRequest());
    expect(after.created).toBe(true);
    const read = await client.getJob({ id: before.job!.id });
    expect(read.job!.id).toBe(before.job!.id);
    expect((await client.getHealth({})).status).toBe(HealthStatus.SERVING);
  });
});
