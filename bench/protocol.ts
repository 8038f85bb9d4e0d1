/** Messages between the bench runner and its load process, and the figures of one measured run. */
import type { FloorOptions } from "./floor";
import type { LatencySummary } from "./measure";
import type { ScenarioName, Transport } from "./options";

export interface LoadConfig {
  port: number;
  apiKey: string;
  clients: number;
  warmupMs: number;
  durationMs: number;
  callTimeoutMs: number;
  /** The service's DISPATCH_TIMEOUT_MS: how long CreateJob waits for its own dispatch attempt. */
  dispatchTimeoutMs: number;
  /** Pause between two runs, so the service finishes the previous run's stragglers first. */
  pauseMs: number;
  scenarios: ScenarioName[];
  transports: Transport[];
  /** Prefix of every request_id the run sends, unique to the run. */
  runTag: string;
  floor: FloorOptions;
}

/** "direct" is the floor: the load process talks to PostgreSQL and Redis itself. */
export type RunTransport = Transport | "direct";

export interface RunResult {
  scenario: ScenarioName;
  transport: RunTransport;
  clients: number;
  windowSeconds: number;
  /** Scenario operations finished in the window: one job created, one lifecycle or one GetJob. */
  operations: number;
  operationsPerSecond: number;
  calls: number;
  callsPerSecond: number;
  /** Latency of every call in the window, in milliseconds. */
  latencyMs: LatencySummary;
  methods: Record<string, LatencySummary>;
  errors: number;
  firstError?: string;
  loadCpuPercent: number;
  /** CPU time of the service process in the window, as a percentage of one core. Set by the runner. */
  serviceCpuPercent?: number;
  /** CPU time of the PostgreSQL and Redis processes in the window, as a percentage of one core. */
  serversCpuPercent?: number;
  /** CPU time of every other process on the machine in the window, as a percentage of one core. */
  otherCpuPercent?: number;
  /**
   * CPU time per operation in milliseconds: of the service process for service runs, of the load
   * process for the floor. Set by the runner. It varies less than throughput when other processes
   * compete for the cores, because it counts only the time the process actually ran.
   */
  cpuMsPerOperation?: number;
  /** VmRSS of the service process at the end of the window, in bytes. Set by the runner. */
  serviceRssBytes?: number;
  /** Facts of the scenario, such as how many events the read job has or how many jobs stayed PENDING. */
  details: Record<string, number | string>;
}

export type ToLoadMessage = { type: "start"; config: LoadConfig };

export type FromLoadMessage =
  | { type: "status"; text: string }
  | { type: "window"; phase: "start" | "end" }
  | { type: "result"; result: RunResult }
  | { type: "done" }
  | { type: "failed"; message: string };
