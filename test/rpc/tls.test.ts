import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { CoordinatorJobsService, HealthStatus } from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { type TestApp, startTestApp } from "../support/test-app";

let directory: string;
let certificate: Buffer;
let harness: TestApp;

beforeAll(async () => {
  directory = mkdtempSync(path.join(os.tmpdir(), "coordinator-tls-"));
  const keyFile = path.join(directory, "key.pem");
  const certFile = path.join(directory, "cert.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { stdio: "ignore" });
  certificate = readFileSync(certFile);
  harness = await startTestApp("tls", { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile });
});

afterAll(async () => {
  await harness.close();
  rmSync(directory, { recursive: true, force: true });
});

test("serves HTTP/1.1 over TLS on the same port", async () => {
  const { status, body, protocol } = await new Promise<{ status: number; body: string; protocol: string }>((resolve, reject) => {
    const request = https.get({ host: "127.0.0.1", port: harness.port, path: "/coordinator/health", ca: certificate }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text, protocol: `HTTP/${response.httpVersion}` }));
    });
    request.on("error", reject);
  });
  expect(protocol).toBe("HTTP/1.1");
  expect(status).toBe(200);
  const report = JSON.parse(body) as { dependencies: { name: string }[] };
  expect(report.dependencies.map((dependency) => dependency.name)).toEqual(["database", "queue", "herald", "outbox"]);
});

test("serves gRPC over TLS with HTTP/2 negotiated by ALPN", async () => {
  const client = createClient(
    CoordinatorJobsService,
    createGrpcTransport({ baseUrl: `https://localhost:${harness.port}`, nodeOptions: { ca: certificate } }),
  );
  const health = await client.getHealth({});
  expect([HealthStatus.SERVING, HealthStatus.DEGRADED]).toContain(health.status);
  expect(health.dependencies.map((dependency) => dependency.name)).toEqual(["database", "queue", "herald", "outbox"]);
});
