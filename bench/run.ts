/**
 * `npm run bench`: compiles the service, starts it on 127.0.0.1 with its own PostgreSQL schema,
 * BullMQ prefix and API key, forks the load process, and prints and saves the figures of every
 * scenario and transport. Run `npm run bench -- --help` for the options.
 */
import { type ChildProcess, fork, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type CpuSample, type CpuShares, cpuShares, sampleCpu } from "./cpu-sampler";
import { type MachineInfo, countJobsByStatus, databaseExists, describeMachine, removeRunData } from "./environment";
import { type BenchOptions, DIRECT_SCENARIOS, HELP, parseOptions } from "./options";
import { summarizeProfile } from "./profile-summary";
import type { FromLoadMessage, LoadConfig, RunResult, ToLoadMessage } from "./protocol";
import { checkTargets, contentionWarning, dispatchSummary, lifecycleMethodsTable, resultsTable, targetsTable } from "./report";
import { ServiceProcess, findFreePort } from "./service-process";

const ROOT = path.resolve(__dirname, "..");
const DEFAULT_QUEUE = "coordinator-jobs";
/** BullMQ retention the service is given, and the floor uses for its adds: 7 days, the service's default. */
const RETENTION_SECONDS = 7 * 24 * 3600;
const CALL_TIMEOUT_MS = 10_000;
/** DISPATCH_TIMEOUT_MS the service is given: 1 s, its default. */
const DISPATCH_TIMEOUT_MS = 1_000;
const PAUSE_MS = 500;
/** Time allowed for set-up (the GetJob history jobs) on top of the measured runs before the load process is stopped. */
const SETUP_ALLOWANCE_MS = 180_000;
/** Wait before counting jobs per status: two polls of the service's outbox relay at its default 1 s interval. */
const RELAY_SETTLE_MS = 2_000;

function log(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

function compileService(): void {
  log("compiling the service (tsc -p tsconfig.build.json)");
  const result = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });
  if (result.status !== 0) throw new Error(`compiling the service failed with exit code ${result.status}; fix the type errors above or pass --no-build`);
}

function runCount(options: BenchOptions): number {
  return options.scenarios.reduce((count, scenario) => count + (DIRECT_SCENARIOS.has(scenario) ? 1 : options.transports.length), 0);
}

/** Forks the load process, sends it the config and collects its results, sampling the service's CPU time at each window. */
function runLoad(config: LoadConfig, service: ServiceProcess, expectedMs: number): Promise<RunResult[]> {
  const results: RunResult[] = [];
  let cpuAtWindowStart: CpuSample | undefined;
  let shares: CpuShares | undefined;

  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(path.join(__dirname, "load.ts"), [], {
      cwd: ROOT,
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let finished = false;
    const finish = (error?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(guard);
      if (error) {
        if (child.exitCode === null) child.kill("SIGTERM");
        reject(error);
      } else {
        resolve(results);
      }
    };
    const guard = setTimeout(() => finish(new Error(`the load process ran past ${Math.round(expectedMs / 1000)} s and was stopped`)), expectedMs);

    child.on("message", (message: FromLoadMessage) => {
      if (message.type === "status") log(message.text);
      else if (message.type === "window" && message.phase === "start") {
        cpuAtWindowStart = sampleCpu(service.pid);
      } else if (message.type === "window" && message.phase === "end") {
        shares = cpuShares(cpuAtWindowStart, sampleCpu(service.pid), config.durationMs);
      } else if (message.type === "result") {
        const result = message.result;
        if (shares) {
          result.serviceCpuPercent = shares.servicePercent;
          result.serversCpuPercent = shares.serversPercent;
          const known = shares.servicePercent + shares.serversPercent + result.loadCpuPercent;
          result.otherCpuPercent = Math.max(0, Math.round((shares.machinePercent - known) * 10) / 10);
        }
        const processCpuPercent = result.transport === "direct" ? result.loadCpuPercent : result.serviceCpuPercent;
        if (processCpuPercent !== undefined && result.operations > 0) {
          const cpuMs = (processCpuPercent / 100) * result.windowSeconds * 1000;
          result.cpuMsPerOperation = Math.round((cpuMs / result.operations) * 100) / 100;
        }
        result.serviceRssBytes = service.rssBytes();
        shares = undefined;
        results.push(result);
        const errors = result.errors > 0 ? `, ${result.errors} errors (first: ${result.firstError})` : "";
        log(`  ${result.operationsPerSecond} ops/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms${errors}`);
      } else if (message.type === "done") finish();
      else if (message.type === "failed") finish(new Error(`the load process failed: ${message.message}`));
    });
    child.once("error", (error) => finish(error));
    child.once("exit", (code) => finish(code === 0 ? undefined : new Error(`the load process exited with code ${code}`)));
    child.send({ type: "start", config } satisfies ToLoadMessage);
  });
}

function newestProfile(directory: string): string | undefined {
  const files = readdirSync(directory)
    .filter((name) => name.endsWith(".cpuprofile"))
    .map((name) => path.join(directory, name));
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

function writeJson(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(temporary, file);
}

function megabytes(bytes: number | undefined): string {
  return bytes === undefined ? "unknown" : `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

function describeRun(machine: MachineInfo, options: BenchOptions, loadAverage: number[]): string {
  return [
    `machine: ${machine.cores} cores, ${machine.cpuModel}, ${megabytes(machine.memoryBytes)} RAM, ${machine.os}`,
    `software: Node ${machine.node}, ${machine.postgres}, ${machine.redis}`,
    `load average (1, 5, 15 min) at start: ${loadAverage.join(" ")}`,
    `settings: ${options.clients} clients, ${options.durationSeconds} s measured after ${options.warmupSeconds} s warm-up per run, ` +
      `PostgreSQL pool ${options.poolSize} (service and floor)`,
  ].join("\n");
}

async function main(): Promise<void> {
  let options: BenchOptions | "help";
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    process.exit(2);
  }
  if (options === "help") {
    process.stdout.write(HELP);
    return;
  }
  if (options.build) compileService();

  const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const runTag = `bench-${stamp}-${process.pid}`;
  const schema = `bench_${stamp}_${process.pid}`;
  const apiKey = randomBytes(24).toString("hex");
  const outputFile = path.resolve(ROOT, options.outputFile);
  const cpuProfileDir = options.cpuProfileDir && path.resolve(ROOT, options.cpuProfileDir);
  if (cpuProfileDir) mkdirSync(cpuProfileDir, { recursive: true });
  mkdirSync(path.join(ROOT, "build"), { recursive: true });

  const machine = await describeMachine(options.databaseUrl, options.redisUrl);
  const loadAverage = os.loadavg().map((value) => Math.round(value * 100) / 100);
  const createdDatabase = !(await databaseExists(options.databaseUrl));
  const port = await findFreePort();
  const startedAt = new Date();
  log(`starting the service on 127.0.0.1:${port} (schema ${schema}, queue prefix ${runTag})`);

  let service: ServiceProcess | undefined;
  let results: RunResult[] = [];
  let rss: { startBytes?: number; endBytes?: number; peakBytes?: number } = {};
  let serviceWarnings = 0;
  let jobsByStatus: Record<string, number> = {};
  try {
    service = await ServiceProcess.start({
      root: ROOT,
      port,
      logFile: path.join(ROOT, "build/bench-service.log"),
      cpuProfileDir,
      env: {
        PATH: process.env.PATH ?? "",
        NODE_ENV: "production",
        HOST: "127.0.0.1",
        PORT: String(port),
        DATABASE_URL: options.databaseUrl,
        DATABASE_SCHEMA: schema,
        DATABASE_POOL_SIZE: String(options.poolSize),
        REDIS_URL: options.redisUrl,
        QUEUE_PREFIX: runTag,
        DEFAULT_QUEUE,
        QUEUE_RETENTION_SECONDS: String(RETENTION_SECONDS),
        DISPATCH_TIMEOUT_MS: String(DISPATCH_TIMEOUT_MS),
        COORDINATOR_API_KEYS: `bench:${apiKey}`,
        LOG_LEVEL: "warn",
      },
    });
    rss.startBytes = service.rssBytes();

    const config: LoadConfig = {
      port,
      apiKey,
      clients: options.clients,
      warmupMs: options.warmupSeconds * 1000,
      durationMs: options.durationSeconds * 1000,
      callTimeoutMs: CALL_TIMEOUT_MS,
      dispatchTimeoutMs: DISPATCH_TIMEOUT_MS,
      pauseMs: PAUSE_MS,
      scenarios: options.scenarios,
      transports: options.transports,
      runTag,
      floor: {
        databaseUrl: options.databaseUrl,
        databaseSchema: schema,
        poolSize: options.poolSize,
        redisUrl: options.redisUrl,
        queuePrefix: runTag,
        queueName: DEFAULT_QUEUE,
        retentionSeconds: RETENTION_SECONDS,
      },
    };
    const perRunMs = (options.warmupSeconds + options.durationSeconds) * 1000 + PAUSE_MS + CALL_TIMEOUT_MS;
    results = await runLoad(config, service, runCount(options) * perRunMs + SETUP_ALLOWANCE_MS);
    rss = { ...rss, endBytes: service.rssBytes(), peakBytes: service.peakRssBytes() };
    await sleep(RELAY_SETTLE_MS);
    jobsByStatus = await countJobsByStatus(options.databaseUrl, schema);
  } finally {
    if (service) {
      const code = await service.stop();
      serviceWarnings = service.warnings;
      if (code !== 0) log(`the service exited with code ${code}; see build/bench-service.log`);
    }
    if (options.keepData) {
      log(`kept schema ${schema} and Redis keys ${runTag}:*`);
    } else {
      const left = await removeRunData({
        databaseUrl: options.databaseUrl,
        schema,
        dropDatabase: createdDatabase,
        redisUrl: options.redisUrl,
        queuePrefix: runTag,
      });
      for (const item of left) log(`could not remove ${item}`);
    }
  }

  const targets = checkTargets(results);
  writeJson(outputFile, {
    command: ["npm", "run", "bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" "),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { ...machine, loadAverageAtStart: loadAverage },
    settings: {
      clients: options.clients,
      durationSeconds: options.durationSeconds,
      warmupSeconds: options.warmupSeconds,
      poolSize: options.poolSize,
      scenarios: options.scenarios,
      transports: options.transports,
    },
    service: {
      rssStartBytes: rss.startBytes,
      rssEndBytes: rss.endBytes,
      rssPeakBytes: rss.peakBytes,
      warningLogLines: serviceWarnings,
      jobsByStatusAtEnd: jobsByStatus,
    },
    results,
    targets,
  });

  const lifecycleTable = lifecycleMethodsTable(results);
  const warning = contentionWarning(results);
  const undispatched = dispatchSummary(results);
  const output = [
    "",
    describeRun(machine, options, loadAverage),
    `service RSS: ${megabytes(rss.startBytes)} at start, ${megabytes(rss.endBytes)} at end, ${megabytes(rss.peakBytes)} peak; ` +
      `${serviceWarnings} log lines at warn or above`,
    `jobs per status at the end: ${Object.entries(jobsByStatus).map(([status, count]) => `${status} ${count}`).join(", ") || "none"}`,
    "",
    resultsTable(results),
    ...(warning ? ["", warning] : []),
    ...(undispatched ? ["", undispatched] : []),
    ...(lifecycleTable ? ["", "lifecycle calls:", lifecycleTable] : []),
    "",
    targetsTable(targets),
    "",
    `figures written to ${path.relative(ROOT, outputFile)}`,
  ];
  if (cpuProfileDir) {
    const profile = newestProfile(cpuProfileDir);
    output.push("", profile ? summarizeProfile(profile, 25, ROOT) : `no .cpuprofile was written to ${cpuProfileDir}`);
  }
  process.stdout.write(`${output.join("\n")}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
