import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { file_grpc_health_v1_health, Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/es/grpc/health/v1/health_pb";
import { type GrpcHealthService, type ServerHealth, createGrpcHealthService } from "../../src/grpc-health";
import { createReflectionServices } from "../../src/reflection";
import { WARN_LEVEL, captureLogs } from "../herald/capture-logs";
import { bufCurl } from "./buf-cli";
import { type TestServer, startConnectServer } from "./connect-server";

const JOBS_SERVICE = "coordinator.v1.CoordinatorJobsService";
const WATCH_INTERVAL_MS = 40;

/** A check function that returns the status the test sets, or rejects when it is set to "throw". */
class ScriptedCheck {
  current: ServerHealth | "throw" = "SERVING";
  calls = 0;
  readonly check = async (): Promise<ServerHealth> => {
    this.calls += 1;
    if (this.current === "throw") throw new Error("database probe timed out");
    return this.current;
  };
}

interface Harness {
  scripted: ScriptedCheck;
  health: GrpcHealthService;
  server: TestServer;
  client: Client<typeof Health>;
}

const open: Harness[] = [];

async function startHealth(options: { logger?: ReturnType<typeof captureLogs>["logger"] } = {}): Promise<Harness> {
  const scripted = new ScriptedCheck();
  const health = createGrpcHealthService(scripted.check, { services: [JOBS_SERVICE], watchIntervalMs: WATCH_INTERVAL_MS, logger: options.logger });
  const reflection = createReflectionServices([file_grpc_health_v1_health]);
  const server = await startConnectServer((router) => {
    health.register(router);
    reflection.register(router);
  });
  const harness = { scripted, health, server, client: createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl })) };
  open.push(harness);
  return harness;
}

afterEach(async () => {
  // The server closes first: closing the health service first would send NOT_SERVING on streams
  // whose cancellation is still on its way, while the server tears their sessions down.
  for (const harness of open.splice(0)) {
    await harness.server.close();
    harness.health.close();
  }
});

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads a server stream; a read that timed out stays pending and is picked up by the next read. */
class StreamReader<T> {
  private readonly iterator: AsyncIterator<T>;
  private pending: Promise<IteratorResult<T>> | undefined;

  constructor(stream: AsyncIterable<T>) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  next(): Promise<IteratorResult<T>> {
    const result = this.pending ?? this.iterator.next();
    this.pending = undefined;
    return result;
  }

  /** Resolves with the next message, or with "pending" when none arrives within `ms`. */
  async nextWithin(ms: number): Promise<IteratorResult<T> | "pending"> {
    this.pending ??= this.iterator.next();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"pending">((resolve) => {
      timer = setTimeout(() => resolve("pending"), ms);
    });
    try {
      const result = await Promise.race([this.pending, timeout]);
      if (result !== "pending") this.pending = undefined;
      return result;
    } finally {
      clearTimeout(timer);
    }
  }
}

describe("Check", () => {
  test.each([
    ["SERVING", "", ServingStatus.SERVING],
    ["SERVING", JOBS_SERVICE, ServingStatus.SERVING],
    ["DEGRADED", "", ServingStatus.SERVING],
    ["DEGRADED", JOBS_SERVICE, ServingStatus.SERVING],
    ["NOT_SERVING", "", ServingStatus.NOT_SERVING],
    ["NOT_SERVING", JOBS_SERVICE, ServingStatus.NOT_SERVING],
  ] as const)("reports %s for service %j", async (current, service, expected) => {
    const { scripted, client } = await startHealth();
    scripted.current = current;
    const response = await client.check({ service });
    expect(response.status).toBe(expected);
  });

  test("unknown service is NOT_FOUND", async () => {
    const { client } = await startHealth();
    const error = await client.check({ service: "coordinator.v1.Missing" }).catch((thrown: unknown) => ConnectError.from(thrown));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.NotFound);
    expect((error as ConnectError).rawMessage).toBe(`unknown service "coordinator.v1.Missing": health is reported for "", "${JOBS_SERVICE}"`);
  });

  test("failed check reports NOT_SERVING and logs once", async () => {
    const logs = captureLogs();
    const { scripted, client } = await startHealth({ logger: logs.logger });
    scripted.current = "throw";
    expect((await client.check({})).status).toBe(ServingStatus.NOT_SERVING);
    expect((await client.check({})).status).toBe(ServingStatus.NOT_SERVING);
    const warnings = logs.atLevel(WARN_LEVEL);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toBe("grpc health check failed, so health reports NOT_SERVING");
    expect((warnings[0].err as { message: string }).message).toBe("database probe timed out");

    scripted.current = "SERVING";
    expect((await client.check({})).status).toBe(ServingStatus.SERVING);
    expect(logs.entries.at(-1)?.msg).toBe("grpc health check succeeded again");
  });

  test("after close reports NOT_SERVING without checking", async () => {
    const { scripted, health, client } = await startHealth();
    health.close();
    const callsBefore = scripted.calls;
    expect((await client.check({ service: JOBS_SERVICE })).status).toBe(ServingStatus.NOT_SERVING);
    expect(scripted.calls).toBe(callsBefore);
  });
});

test("List reports every known service", async () => {
  const { scripted, client } = await startHealth();
  scripted.current = "DEGRADED";
  const response = await client.list({});
  expect(Object.keys(response.statuses).sort()).toEqual(["", JOBS_SERVICE]);
  expect(response.statuses[""].status).toBe(ServingStatus.SERVING);
  expect(response.statuses[JOBS_SERVICE].status).toBe(ServingStatus.SERVING);
});

describe("Watch", () => {
  test("sends the status at once and each change", async () => {
    const { scripted, client } = await startHealth();
    const abort = new AbortController();
    const stream = new StreamReader(client.watch({ service: JOBS_SERVICE }, { signal: abort.signal }));
    try {
      expect(await stream.next()).toEqual({ done: false, value: expect.objectContaining({ status: ServingStatus.SERVING }) });

      // DEGRADED maps to SERVING too, so several polls pass without a message.
      scripted.current = "DEGRADED";
      expect(await stream.nextWithin(WATCH_INTERVAL_MS * 5)).toBe("pending");

      scripted.current = "NOT_SERVING";
      const notServing = await stream.next();
      expect(notServing.done).toBe(false);
      expect(notServing.value.status).toBe(ServingStatus.NOT_SERVING);

      scripted.current = "SERVING";
      const serving = await stream.next();
      expect(serving.done).toBe(false);
      expect(serving.value.status).toBe(ServingStatus.SERVING);
    } finally {
      abort.abort();
    }
  });

  test("unknown service gets SERVICE_UNKNOWN and stays open", async () => {
    const { client } = await startHealth();
    const abort = new AbortController();
    const stream = new StreamReader(client.watch({ service: "coordinator.v1.Missing" }, { signal: abort.signal }));
    try {
      const first = await stream.next();
      expect(first.done).toBe(false);
      expect(first.value.status).toBe(ServingStatus.SERVICE_UNKNOWN);
      expect(await stream.nextWithin(WATCH_INTERVAL_MS * 5)).toBe("pending");
    } finally {
      abort.abort();
    }
  });

  test("close sends NOT_SERVING and ends the stream", async () => {
    const { health, client } = await startHealth();
    const known = client.watch({ service: "" })[Symbol.asyncIterator]();
    const unknown = client.watch({ service: "coordinator.v1.Missing" })[Symbol.asyncIterator]();
    expect((await known.next()).value.status).toBe(ServingStatus.SERVING);
    expect((await unknown.next()).value.status).toBe(ServingStatus.SERVICE_UNKNOWN);

    health.close();
    const last = await known.next();
    expect(last.done).toBe(false);
    expect(last.value.status).toBe(ServingStatus.NOT_SERVING);
    expect((await known.next()).done).toBe(true);
    expect((await unknown.next()).done).toBe(true);
  });

  test("after close sends NOT_SERVING and ends", async () => {
    const { health, client } = await startHealth();
    health.close();
    const statuses = [];
    for await (const response of client.watch({ service: JOBS_SERVICE })) statuses.push(response.status);
    expect(statuses).toEqual([ServingStatus.NOT_SERVING]);
  });

  test("client cancel stops the polling", async () => {
    const { scripted, client } = await startHealth();
    const abort = new AbortController();
    const stream = client.watch({ service: "" }, { signal: abort.signal })[Symbol.asyncIterator]();
    await stream.next();
    await delay(WATCH_INTERVAL_MS * 3);
    expect(scripted.calls).toBeGreaterThan(1);

    abort.abort();
    await stream.next().catch(() => undefined);
    await delay(WATCH_INTERVAL_MS * 2);
    const callsAfterCancel = scripted.calls;
    await delay(WATCH_INTERVAL_MS * 5);
    expect(scripted.calls).toBe(callsAfterCancel);
  });

  test("many watchers share one poll", async () => {
    const { scripted, client } = await startHealth();
    const abort = new AbortController();
    const streams = Array.from({ length: 5 }, () => client.watch({ service: "" }, { signal: abort.signal })[Symbol.asyncIterator]());
    try {
      for (const stream of streams) await stream.next();
      const callsAfterStart = scripted.calls;
      expect(callsAfterStart).toBeLessThanOrEqual(5 + 1);
      await delay(WATCH_INTERVAL_MS * 5.5);
      // One initial check per watcher, then one check per interval for all of them.
      expect(scripted.calls - callsAfterStart).toBeLessThanOrEqual(6);
    } finally {
      abort.abort();
    }
  });
});

test("invalid watch interval throws", () => {
  expect(() => createGrpcHealthService(async () => "SERVING", { services: [], watchIntervalMs: 0 })).toThrow(
    "invalid watchIntervalMs 0: must be a positive number of milliseconds",
  );
});

test("buf curl calls Check through reflection", async () => {
  const { scripted, server } = await startHealth();
  scripted.current = "DEGRADED";
  const result = await bufCurl(`${server.baseUrl}/grpc.health.v1.Health/Check`, ["--protocol", "grpc", "--http2-prior-knowledge"], { service: JOBS_SERVICE });
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual({ status: "SERVING" });

  const unknown = await bufCurl(`${server.baseUrl}/grpc.health.v1.Health/Check`, ["--protocol", "grpc", "--http2-prior-knowledge"], { service: "x.Missing" });
  expect(unknown.code).not.toBe(0);
  expect(JSON.parse(unknown.stderr)).toEqual({ code: "not_found", message: expect.stringContaining('unknown service "x.Missing"') });
});
