/**
 * The service under test as a child process: the compiled `dist/src/main.js`, started with its own
 * environment, watched through /proc for memory and CPU time, and stopped with SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface ServiceSettings {
  root: string;
  port: number;
  env: Record<string, string>;
  /** Service output (pino JSON lines) goes to this file. */
  logFile: string;
  cpuProfileDir?: string;
}

/** Finds a free TCP port on 127.0.0.1 by letting the kernel pick one. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Reads a "Name:   123 kB" field of /proc/PID/status in bytes, or undefined once the process is gone. */
function readStatusBytes(pid: number, field: string): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export class ServiceProcess {
  private exited = false;
  private exitCode: number | null = null;
  private warningLines = 0;
  private readonly tail: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly logFile: string,
  ) {
    child.once("exit", (code) => {
      this.exited = true;
      this.exitCode = code;
    });
  }

  /** Starts the service and resolves once its health route returns HTTP 200. */
  static async start(settings: ServiceSettings): Promise<ServiceProcess> {
    const profileArgs = settings.cpuProfileDir ? ["--cpu-prof", "--cpu-prof-dir", settings.cpuProfileDir] : [];
    const child = spawn(process.execPath, [...profileArgs, path.join(settings.root, "dist/src/main.js")], {
      cwd: settings.root,
      env: settings.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const service = new ServiceProcess(child, settings.port, settings.logFile);
    const log = createWriteStream(settings.logFile);
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on("data", (chunk: Buffer) => {
        log.write(chunk);
        service.countLines(chunk.toString("utf8"));
      });
    }
    child.once("exit", () => log.end());
    await service.waitUntilHealthy(60_000);
    return service;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Lines the service logged at warn level or above, or that were not JSON (such as a crash trace). */
  get warnings(): number {
    return this.warningLines;
  }

  /** Resident set size now, in bytes. */
  rssBytes(): number | undefined {
    return readStatusBytes(this.pid, "VmRSS");
  }

  /** Highest resident set size since the start, in bytes. */
  peakRssBytes(): number | undefined {
    return readStatusBytes(this.pid, "VmHWM");
  }

  /** Sends SIGTERM and waits for the graceful stop, or sends SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<number | null> {
    if (this.exited) return this.exitCode;
    const exit = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    const stopped = await Promise.race([exit.then(() => true), sleep(graceMs).then(() => false)]);
    if (!stopped) {
      this.child.kill("SIGKILL");
      await exit;
    }
    return this.exitCode;
  }

  private countLines(text: string): void {
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      this.tail.push(line);
      if (this.tail.length > 20) this.tail.shift();
      const level = /"level":(\d+)/.exec(line);
      if (!level || Number(level[1]) >= 40) this.warningLines += 1;
    }
  }

  private async waitUntilHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = "no response yet";
    while (Date.now() < deadline) {
      if (this.exited) {
        throw new Error(`the service exited with code ${this.exitCode} while starting; its last output:\n${this.tail.join("\n")}`);
      }
      try {
        const response = await fetch(`http://127.0.0.1:${this.port}/coordinator/health`, { signal: AbortSignal.timeout(2000) });
        await response.arrayBuffer();
        if (response.status === 200) return;
        lastError = `health returned HTTP ${response.status}`;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
      await sleep(200);
    }
    await this.stop();
    throw new Error(`the service did not become healthy within ${timeoutMs} ms (${lastError}); see ${this.logFile}`);
  }
}
