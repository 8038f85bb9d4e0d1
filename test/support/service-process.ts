/**
 * The service as a child process (`node --import tsx src/main.ts`), for tests that kill it. The
 * port is read from its "listening" log line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";

const ROOT = path.resolve(__dirname, "../..");

export class ServiceProcess {
  private child: ChildProcess | undefined;
  readonly logLines: string[] = [];
  port = 0;

  constructor(private readonly env: Record<string, string>) {}

  async start(): Promise<void> {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: ROOT,
      env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    child.stderr!.on("data", (chunk: Buffer) => this.logLines.push(chunk.toString()));
    const lines = readline.createInterface({ input: child.stdout! });
    this.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`service did not start:\n${this.logLines.join("")}`)), 30_000);
      child.once("exit", (code) => reject(new Error(`service exited with ${code}:\n${this.logLines.join("")}`)));
      lines.on("line", (line) => {
        this.logLines.push(line);
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === "coordinator-jobs listening" && entry.port) {
          clearTimeout(timer);
          resolve(entry.port);
        }
      });
    });
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Sends `signal` and resolves with the exit code once the process has ended. */
  async stop(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }
}
