/**
 * A closed-loop load runner: each client runs one operation at a time, back to back, for a
 * warm-up and then for the measured window. Only calls that start inside the window count
 * towards latency, and only operations that finish inside it count towards throughput.
 */
import { performance } from "node:perf_hooks";

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

export interface LoadResult {
  /** Length of the measured window in seconds. */
  windowSeconds: number;
  operations: number;
  calls: number;
  /** Latency of every call, in milliseconds. */
  latencyMs: LatencySummary;
  /** Latency per method, in milliseconds. */
  methods: Record<string, LatencySummary>;
  errors: number;
  firstError?: string;
  /** CPU time of the load process during the window, as a percentage of one core. */
  loadCpuPercent: number;
}

export interface LoadPlan {
  clients: number;
  warmupMs: number;
  durationMs: number;
  /** Called when the measured window opens and closes, so the caller can sample the service. */
  onWindow?: (phase: "start" | "end") => void;
}

/** Timer of the calls of one scenario, which may make several calls per operation, such as a whole job lifecycle. */
export class CallTimer {
  private readonly samples = new Map<string, number[]>();

  constructor(
    private readonly windowStart: number,
    private readonly windowEnd: number,
  ) {}

  /** Runs one call and records its latency under `method` when it started inside the window. */
  async time<T>(method: string, call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const result = await call();
    if (started >= this.windowStart && started < this.windowEnd) {
      let list = this.samples.get(method);
      if (!list) {
        list = [];
        this.samples.set(method, list);
      }
      list.push(performance.now() - started);
    }
    return result;
  }

  summaries(): { all: LatencySummary; methods: Record<string, LatencySummary> } {
    const methods: Record<string, LatencySummary> = {};
    const all: number[] = [];
    for (const [method, list] of this.samples) {
      methods[method] = summarize(list);
      for (const value of list) all.push(value);
    }
    return { all: summarize(all), methods };
  }
}

/** Nearest-rank percentiles, mean and maximum of latencies in milliseconds. */
export function summarize(values: number[]): LatencySummary {
  if (values.length === 0) return { count: 0, p50: 0, p99: 0, mean: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  let total = 0;
  for (const value of sorted) total += value;
  return {
    count: sorted.length,
    p50: round(rank(0.5)),
    p99: round(rank(0.99)),
    mean: round(total / sorted.length),
    max: round(sorted[sorted.length - 1]),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs `operation` from `plan.clients` concurrent clients until the window ends. A failed
 * operation counts as an error and its client goes on with the next one after yielding to the
 * event loop, so a dependency that fails at once cannot spin the loop.
 */
export async function runClosedLoop(plan: LoadPlan, operation: (timer: CallTimer, client: number) => Promise<void>): Promise<LoadResult> {
  const windowStart = performance.now() + plan.warmupMs;
  const windowEnd = windowStart + plan.durationMs;
  const timer = new CallTimer(windowStart, windowEnd);
  let operations = 0;
  let errors = 0;
  let firstError: string | undefined;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let cpuInWindow: NodeJS.CpuUsage | undefined;

  const windowStartTimer = setTimeout(() => {
    cpuAtStart = process.cpuUsage();
    plan.onWindow?.("start");
  }, plan.warmupMs);
  const windowEndTimer = setTimeout(() => {
    cpuInWindow = process.cpuUsage(cpuAtStart);
    plan.onWindow?.("end");
  }, plan.warmupMs + plan.durationMs);

  async function runClient(client: number): Promise<void> {
    while (performance.now() < windowEnd) {
      const started = performance.now();
      try {
        await operation(timer, client);
        const finished = performance.now();
        if (started >= windowStart && finished <= windowEnd) operations += 1;
      } catch (error) {
        if (started >= windowStart && started < windowEnd) {
          errors += 1;
          firstError ??= describeError(error);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: plan.clients }, (_, client) => runClient(client)));
  } finally {
    clearTimeout(windowStartTimer);
    clearTimeout(windowEndTimer);
  }
  const cpu = cpuInWindow ?? process.cpuUsage(cpuAtStart);
  const { all, methods } = timer.summaries();
  return {
    windowSeconds: plan.durationMs / 1000,
    operations,
    calls: all.count,
    latencyMs: all,
    methods,
    errors,
    firstError,
    loadCpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / plan.durationMs) * 1000) / 10,
  };
}
