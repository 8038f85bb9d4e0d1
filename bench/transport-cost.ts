/**
 * `npm run bench:transport`: the CPU cost of each transport on its own. It starts the service's RPC
 * stack without a database or queue (bench/transport-server.ts), drives CreateJob over each
 * transport with the benchmark's clients, and prints calls per second and the CPU time per call
 * of the server and of the load. Compare the server's figure with CPU ms/op of `create` in
 * `npm run bench` to see how much of a CreateJob the transport takes.
 *
 * Run it with --help for the options.
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { parseArgs } from "node:util";
import { createClient } from "./clients";
import { runClosedLoop } from "./measure";
import { TRANSPORTS, type Transport } from "./options";
import { TRANSPORT_LABELS } from "./report";
import { createJobBody } from "./requests";
import { findFreePort } from "./service-process";

const HELP = `Usage: npm run bench:transport -- [options]

Serves CreateJob from memory through the service's RPC stack, with no database or queue, and
prints calls per second and the CPU time per call of the server and of the load, per transport.
Calls that start in the measured window count.

Options:
  --duration SECONDS    measured time per transport, default 8
  --warmup SECONDS      unmeasured time before each measurement, default 2
  --clients N           concurrent clients, each with one call in flight, default 32
  --transports LIST     comma-separated, default ${TRANSPORTS.join(",")}
  -h, --help            print this help
`;

interface ServerMessage {
  type: "ready" | "cpu";
  cpuMs?: number;
}

function positiveNumber(name: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name} must be a positive number, got "${value}"`);
  return parsed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "8" },
      warmup: { type: "string", default: "2" },
      clients: { type: "string", default: "32" },
      transports: { type: "string", default: TRANSPORTS.join(",") },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const transports = values.transports.split(",").map((name) => name.trim()) as Transport[];
  for (const transport of transports) {
    if (!TRANSPORTS.includes(transport)) throw new Error(`invalid transport "${transport}": expected a comma-separated list of ${TRANSPORTS.join(",")}`);
  }
  const durationMs = positiveNumber("duration", values.duration) * 1000;
  const warmupMs = positiveNumber("warmup", values.warmup) * 1000;
  const clients = Math.round(positiveNumber("clients", values.clients));

  const port = await findFreePort();
  const apiKey = randomBytes(16).toString("hex");
  const server = fork(path.join(__dirname, "transport-server.ts"), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, PORT: String(port), BENCH_API_KEY: apiKey },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const nextMessage = (type: ServerMessage["type"]) =>
    new Promise<ServerMessage>((resolve) => {
      const listener = (message: ServerMessage) => {
        if (message.type !== type) return;
        server.off("message", listener);
        resolve(message);
      };
      server.on("message", listener);
    });
  await nextMessage("ready");

  console.log(`CreateJob without database or queue, ${clients} clients, ${durationMs / 1000} s per transport\n`);
  console.log("| transport      | calls/s | p50 ms | p99 ms | errors | server CPU ms/call | load CPU ms/call |");
  console.log("|----------------|---------|--------|--------|--------|--------------------|------------------|");
  try {
    for (const transport of transports) {
      const client = createClient(transport, { port, apiKey, connections: clients, callTimeoutMs: 10_000 });
      let serverCpu: Promise<ServerMessage> | undefined;
      const result = await runClosedLoop(
        {
          clients,
          warmupMs,
          durationMs,
          onWindow: (phase) => {
            if (phase === "end") serverCpu = nextMessage("cpu");
            server.send({ type: phase });
          },
        },
        async (timer, index) => {
          await timer.time("CreateJob", () => client.createJob(createJobBody(`transport-${transport}-${index}-${Date.now()}`, index + 1)));
        },
      );
      client.close();
      const serverCpuMs = (await serverCpu)?.cpuMs ?? Number.NaN;
      const calls = result.calls;
      const loadCpuMs = (result.loadCpuPercent / 100) * result.windowSeconds * 1000;
      const cells = [
        TRANSPORT_LABELS[transport].padEnd(14),
        (calls / result.windowSeconds).toFixed(1).padStart(7),
        result.latencyMs.p50.toFixed(2).padStart(6),
        result.latencyMs.p99.toFixed(2).padStart(6),
        String(result.errors).padStart(6),
        (serverCpuMs / calls).toFixed(3).padStart(18),
        (loadCpuMs / calls).toFixed(3).padStart(16),
      ];
      console.log(`| ${cells.join(" | ")} |`);
      if (result.firstError) console.log(`  first error: ${result.firstError}`);
    }
  } finally {
    server.kill("SIGTERM");
  }
}

main().catch((error: unknown) => {
  console.error(`bench:transport: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
