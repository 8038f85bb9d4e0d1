import { Writable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import pino from "pino";
import { CoordinatorJobsService, GetJobResponseSchema } from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { createAuthInterceptor } from "../../src/rpc/interceptors";

const KEY = { name: "coordinator", secret: "logging-test-secret-0123" };
const WARN_INTERVAL_MS = 300;

/** Creates a real pino logger that keeps its JSON lines in `lines`. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}

function clientWith(logger: pino.Logger) {
  const transport = createRouterTransport(
    (router) => router.service(CoordinatorJobsService, { getJob: async () => create(GetJobResponseSchema, {}) }),
    { router: { interceptors: [createAuthInterceptor([KEY], logger, WARN_INTERVAL_MS)] } },
  );
  return createClient(CoordinatorJobsService, transport);
}

async function rejectedCall(client: ReturnType<typeof clientWith>): Promise<ConnectError> {
  try {
    await client.getJob({ id: "00000000-0000-4000-8000-000000000000" }, { headers: { "x-api-key": "wrong-key-0123456789" } });
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call with a wrong key succeeded");
}

test("warns about rejected calls at most once per interval, with a count", async () => {
  const { logger, lines } = capturingLogger();
  const client = clientWith(logger);

  for (let i = 0; i < 5; i += 1) {
    expect((await rejectedCall(client)).code).toBe(Code.Unauthenticated);
  }
  await new Promise((resolve) => setTimeout(resolve, WARN_INTERVAL_MS + 50));
  await rejectedCall(client);

  const warnings = lines.filter((line) => line.msg === "rejected a call without a valid API key");
  expect(warnings).toHaveLength(2);
  expect(warnings[0]).toMatchObject({ level: 40, method: "GetJob", keyPresented: true, rejectedSinceLastWarning: 0 });
  expect(warnings[1]).toMatchObject({ level: 40, rejectedSinceLastWarning: 4 });
});
