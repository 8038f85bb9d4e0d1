/**
 * The load process. The bench runner forks it so that generating load never shares an event loop
 * with the service. It receives a LoadConfig, runs every scenario and transport in turn, sends a
 * RunResult after each run and exits.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type JobClient, createClient } from "./clients";
import { CreateJobFloor } from "./floor";
import { type CallTimer, type LoadResult, runClosedLoop } from "./measure";
import { DIRECT_SCENARIOS, type ScenarioName, type Transport } from "./options";
import type { FromLoadMessage, LoadConfig, RunResult, RunTransport, ToLoadMessage } from "./protocol";
import {
  DEFAULT_PAGE_SIZE,
  RequestIds,
  createOperation,
  floorOperation,
  getJobOperation,
  historySize,
  lifecycleOperation,
  newCounters,
  prepareJobWithHistory,
} from "./scenarios";

/** Length of the unmeasured service warm-up per transport, before the first scenario. */
const SERVICE_WARMUP_MS_PER_TRANSPORT = 1500;

function send(message: FromLoadMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) {
      reject(new Error("the load process must be started by bench/run.ts with an IPC channel"));
      return;
    }
    process.send(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

function status(text: string): void {
  void send({ type: "status", text });
}

function toRunResult(
  scenario: ScenarioName,
  transport: RunTransport,
  clients: number,
  load: LoadResult,
  details: Record<string, number | string>,
): RunResult {
  const perSecond = (count: number) => Math.round((count / load.windowSeconds) * 10) / 10;
  return {
    scenario,
    transport,
    clients,
    windowSeconds: load.windowSeconds,
    operations: load.operations,
    operationsPerSecond: perSecond(load.operations),
    calls: load.calls,
    callsPerSecond: perSecond(load.calls),
    latencyMs: load.latencyMs,
    methods: load.methods,
    errors: load.errors,
    firstError: load.firstError,
    loadCpuPercent: load.loadCpuPercent,
    details,
  };
}

class LoadRun {
  private floor: CreateJobFloor | undefined;

  constructor(private readonly config: LoadConfig) {}

  private plan() {
    return {
      clients: this.config.clients,
      warmupMs: this.config.warmupMs,
      durationMs: this.config.durationMs,
      onWindow: (phase: "start" | "end") => void send({ type: "window", phase }),
    };
  }

  private client(transport: Transport): JobClient {
    return createClient(transport, {
      port: this.config.port,
      apiKey: this.config.apiKey,
      connections: this.config.clients,
      callTimeoutMs: this.config.callTimeoutMs,
    });
  }

  /** Returns request_ids unique to the run, the label (a scenario or the warm-up) and the transport. */
  private ids(label: ScenarioName | "warmup", transport: RunTransport): RequestIds {
    return new RequestIds(`${this.config.runTag}-${label}-${transport}`);
  }

  async runAll(): Promise<void> {
    try {
      if (this.config.scenarios.some((scenario) => !DIRECT_SCENARIOS.has(scenario))) await this.warmUpService();
      for (const scenario of this.config.scenarios) {
        if (DIRECT_SCENARIOS.has(scenario)) await this.runFloor(scenario);
        else await this.runService(scenario);
      }
    } finally {
      await this.floor?.close();
    }
  }

  /**
   * Runs whole lifecycles over every transport before the first measurement, so that V8 has
   * compiled the service's hot paths and the first scenario does not pay for it alone.
   */
  private async warmUpService(): Promise<void> {
    for (const transport of this.config.transports) {
      status(`warming up the service over ${transport} for ${SERVICE_WARMUP_MS_PER_TRANSPORT / 1000} s`);
      const client = this.client(transport);
      const counters = newCounters();
      const plan = { clients: this.config.clients, warmupMs: 0, durationMs: SERVICE_WARMUP_MS_PER_TRANSPORT };
      try {
        const load = await runClosedLoop(plan, lifecycleOperation(client, this.ids("warmup", transport), counters, this.config.dispatchTimeoutMs));
        if (load.errors > 0) throw new Error(`warm-up over ${transport} failed ${load.errors} times, first with: ${load.firstError}`);
      } finally {
        client.close();
      }
    }
  }

  private async runFloor(scenario: ScenarioName): Promise<void> {
    if (!this.floor) {
      this.floor = new CreateJobFloor(this.config.floor);
      await this.floor.ready();
    }
    status(`${scenario}: ${this.config.clients} clients through node-postgres and BullMQ`);
    const operation = floorOperation(this.floor, this.ids(scenario, "direct"));
    const load = await runClosedLoop(this.plan(), operation);
    const details = { poolSize: this.config.floor.poolSize };
    await send({ type: "result", result: toRunResult(scenario, "direct", this.config.clients, load, details) });
    await sleep(this.config.pauseMs);
  }

  private async runService(scenario: ScenarioName): Promise<void> {
    const history = historySize(scenario);
    let jobId = "";
    const details: Record<string, number | string> = {};
    if (history !== undefined) {
      status(`${scenario}: creating a job with ${history} events`);
      const setupClient = this.client(this.config.transports[0]);
      try {
        const prepared = await prepareJobWithHistory(setupClient, `${this.config.runTag}-${scenario}-setup`, history);
        jobId = prepared.id;
        Object.assign(details, { historyEvents: prepared.events, steps: prepared.steps, eventsReturned: Math.min(history, DEFAULT_PAGE_SIZE) });
      } finally {
        setupClient.close();
      }
    }

    for (const transport of this.config.transports) {
      status(`${scenario} over ${transport}: ${this.config.clients} clients`);
      const client = this.client(transport);
      const counters = newCounters();
      const ids = this.ids(scenario, transport);
      const timeoutMs = this.config.dispatchTimeoutMs;
      let operation: (timer: CallTimer, clientIndex: number) => Promise<void>;
      if (history !== undefined) operation = getJobOperation(client, jobId, Math.min(history, DEFAULT_PAGE_SIZE));
      else if (scenario === "lifecycle") operation = lifecycleOperation(client, ids, counters, timeoutMs);
      else operation = createOperation(client, ids, counters, timeoutMs);
      try {
        const load = await runClosedLoop(this.plan(), operation);
        const createDetails = {
          created: counters.created,
          undispatched: counters.undispatched,
          undispatchedBeforeTimeout: counters.undispatchedBeforeTimeout,
        };
        const runDetails = history === undefined ? createDetails : details;
        await send({ type: "result", result: toRunResult(scenario, transport, this.config.clients, load, runDetails) });
      } finally {
        client.close();
      }
      await sleep(this.config.pauseMs);
    }
  }
}

process.once("message", (message: ToLoadMessage) => {
  if (message.type !== "start") return;
  new LoadRun(message.config)
    .runAll()
    .then(() => send({ type: "done" }))
    .then(() => process.exit(0))
    .catch(async (error: unknown) => {
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      await send({ type: "failed", message: text }).catch(() => undefined);
      process.exit(1);
    });
});
