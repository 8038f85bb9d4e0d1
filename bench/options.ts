/**
 * Command-line options of `npm run bench`. Each option can also be set by an environment
 * variable (the flag wins), so CI jobs and shells can change a run without editing the command.
 */
import { parseArgs } from "node:util";

export const TRANSPORTS = ["grpc", "connect", "rest"] as const;
export type Transport = (typeof TRANSPORTS)[number];

/**
 * Scenarios in the order they run. The floor runs right after CreateJob, so both meet tables of
 * about the same size.
 */
export const SCENARIOS = ["create", "floor", "lifecycle", "get-10", "get-100", "get-1000"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** Scenarios that measure the load process against PostgreSQL and Redis directly, with no service call. */
export const DIRECT_SCENARIOS: ReadonlySet<ScenarioName> = new Set(["floor"]);

export interface BenchOptions {
  durationSeconds: number;
  warmupSeconds: number;
  clients: number;
  scenarios: ScenarioName[];
  transports: Transport[];
  /** Size of the service's PostgreSQL pool, and of the floor's, so both may hold as many connections. */
  poolSize: number;
  databaseUrl: string;
  redisUrl: string;
  outputFile: string;
  /** Directory for the service's V8 CPU profile, or undefined for no profiling. */
  cpuProfileDir: string | undefined;
  build: boolean;
  keepData: boolean;
}

export const HELP = `Usage: npm run bench -- [options]

Starts the compiled service on 127.0.0.1 with its own schema and queue prefix, drives it from a
separate load process, prints a table and writes the figures to a JSON file.

Options (environment variable in brackets):
  --duration SECONDS    measured time per scenario and transport, default 15 [BENCH_DURATION]
  --warmup SECONDS      unmeasured time before each measurement, default 2 [BENCH_WARMUP]
  --clients N           concurrent clients, each with one call in flight, default 32 [BENCH_CLIENTS]
  --scenarios LIST      comma-separated, default all: ${SCENARIOS.join(",")};
                        "get" selects every get-* scenario [BENCH_SCENARIOS]
  --transports LIST     comma-separated, default all: ${TRANSPORTS.join(",")} [BENCH_TRANSPORTS]
  --pool-size N         PostgreSQL connections of the service and of the floor, default 10 [BENCH_POOL_SIZE]
  --database-url URL    PostgreSQL database for the run's schema,
                        default postgresql://postgres@127.0.0.1:5432/coordinator_jobs_bench [BENCH_DATABASE_URL]
  --redis-url URL       Redis for the run's queue prefix, default redis://127.0.0.1:6379 [BENCH_REDIS_URL]
  --output FILE         JSON results, default bench/results/latest.json [BENCH_OUTPUT]
  --cpu-prof DIR        write a V8 CPU profile of the service to DIR and print its top functions [BENCH_CPU_PROF]
  --no-build            use the existing dist/ instead of compiling first
  --keep-data           keep the run's schema and Redis keys for inspection
  -h, --help            print this help
`;

/** Raised for an invalid option. The message names the option and the expected form. */
export class OptionError extends Error {
  constructor(option: string, value: string, expected: string) {
    super(`invalid ${option} "${value}": expected ${expected}`);
    this.name = "OptionError";
  }
}

function readInteger(option: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new OptionError(option, raw, `an integer from ${min} to ${max}`);
  }
  return value;
}

function readList<T extends string>(option: string, raw: string | undefined, allowed: readonly T[], aliases: Record<string, T[]> = {}): T[] {
  if (raw === undefined || raw.trim() === "") return [...allowed];
  const chosen = new Set<T>();
  for (const name of raw.split(",").map((part) => part.trim()).filter((part) => part !== "")) {
    const expanded = aliases[name] ?? (allowed.includes(name as T) ? [name as T] : undefined);
    if (!expanded) throw new OptionError(option, name, `one of ${[...allowed, ...Object.keys(aliases)].join(", ")}`);
    for (const item of expanded) chosen.add(item);
  }
  // Keep the canonical order whatever order the list was given in.
  return allowed.filter((item) => chosen.has(item));
}

function readUrl(option: string, raw: string | undefined, fallback: string, protocols: string[]): string {
  if (raw === undefined || raw === "") return fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OptionError(option, raw, `a URL starting with ${protocols.join(" or ")}`);
  }
  if (!protocols.includes(url.protocol)) throw new OptionError(option, raw, `a URL starting with ${protocols.join(" or ")}`);
  return raw;
}

/** Parses the flags, falling back to the BENCH_* environment variables and then to the defaults. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: "string" },
      warmup: { type: "string" },
      clients: { type: "string" },
      scenarios: { type: "string" },
      transports: { type: "string" },
      "pool-size": { type: "string" },
      "database-url": { type: "string" },
      "redis-url": { type: "string" },
      output: { type: "string" },
      "cpu-prof": { type: "string" },
      "no-build": { type: "boolean" },
      "keep-data": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";

  const getScenarios = SCENARIOS.filter((name) => name.startsWith("get-"));
  return {
    durationSeconds: readInteger("--duration", values.duration ?? env.BENCH_DURATION, 15, 1, 600),
    warmupSeconds: readInteger("--warmup", values.warmup ?? env.BENCH_WARMUP, 2, 0, 120),
    clients: readInteger("--clients", values.clients ?? env.BENCH_CLIENTS, 32, 1, 1024),
    scenarios: readList("--scenarios", values.scenarios ?? env.BENCH_SCENARIOS, SCENARIOS, { get: getScenarios }),
    transports: readList("--transports", values.transports ?? env.BENCH_TRANSPORTS, TRANSPORTS),
    poolSize: readInteger("--pool-size", values["pool-size"] ?? env.BENCH_POOL_SIZE, 10, 1, 200),
    databaseUrl: readUrl(
      "--database-url",
      values["database-url"] ?? env.BENCH_DATABASE_URL,
      "postgresql://postgres@127.0.0.1:5432/coordinator_jobs_bench",
      ["postgres:", "postgresql:"],
    ),
    redisUrl: readUrl("--redis-url", values["redis-url"] ?? env.BENCH_REDIS_URL, "redis://127.0.0.1:6379", ["redis:"]),
    outputFile: values.output ?? env.BENCH_OUTPUT ?? "bench/results/latest.json",
    cpuProfileDir: values["cpu-prof"] ?? (env.BENCH_CPU_PROF || undefined),
    build: !values["no-build"],
    keepData: values["keep-data"] ?? false,
  };
}
