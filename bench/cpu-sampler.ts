/**
 * CPU time on the machine during a measured window, split into the service, the PostgreSQL and
 * Redis servers, and everything else, so a run can show whether other work competed for the cores.
 * It reads /proc, so it works on Linux only. Elsewhere every figure is undefined.
 */
import { readFileSync, readdirSync } from "node:fs";

/**
 * Length of one clock tick in /proc/stat and /proc/PID/stat, in nanoseconds. proc(5) gives these
 * in USER_HZ, which is 100 on Linux x86 and arm64 builds.
 */
const TICK_NS = 10_000_000;

/** Process names whose CPU time counts as the database and queue servers. */
const SERVER_NAMES = new Set(["postgres", "redis-server", "valkey-server"]);

export interface CpuSample {
  machineNs: number;
  serviceNs: number;
  /** CPU time so far of each PostgreSQL and Redis process, by PID. */
  serversNs: Map<number, number>;
}

/** CPU time used in one window, in percent of one core, so the machine total can reach 100 × cores. */
export interface CpuShares {
  servicePercent: number;
  serversPercent: number;
  machinePercent: number;
}

function readMachineBusyNs(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  // cpu user nice system idle iowait irq softirq steal ...
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
  const idle = fields[3] + fields[4];
  return (total - idle) * TICK_NS;
}

/** utime + stime of one process in nanoseconds, or 0 when it has gone. */
function readProcessNs(pid: string): { name: string; ns: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The name is in parentheses and may contain spaces, so fields are counted after the last ')'.
    const close = stat.lastIndexOf(")");
    const name = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    return { name, ns: (Number(fields[11]) + Number(fields[12])) * TICK_NS };
  } catch {
    return { name: "", ns: 0 };
  }
}

function readServersNs(): Map<number, number> {
  const byPid = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const { name, ns } = readProcessNs(entry);
    if (SERVER_NAMES.has(name)) byPid.set(Number(entry), ns);
  }
  return byPid;
}

export function sampleCpu(servicePid: number): CpuSample | undefined {
  try {
    return { machineNs: readMachineBusyNs(), serviceNs: readProcessNs(String(servicePid)).ns, serversNs: readServersNs() };
  } catch {
    return undefined;
  }
}

/**
 * Turns two samples into shares of one core. A server process that starts inside the window
 * counts in full, but one that exits inside it (a PostgreSQL backend whose connection closed)
 * drops out, so the server share is a lower bound when connections come and go.
 */
export function cpuShares(start: CpuSample | undefined, end: CpuSample | undefined, windowMs: number): CpuShares | undefined {
  if (!start || !end) return undefined;
  const percent = (ns: number) => Math.round((ns / 1e6 / windowMs) * 1000) / 10;
  let serversNs = 0;
  for (const [pid, ns] of end.serversNs) serversNs += ns - (start.serversNs.get(pid) ?? 0);
  return {
    servicePercent: percent(end.serviceNs - start.serviceNs),
    serversPercent: percent(serversNs),
    machinePercent: percent(end.machineNs - start.machineNs),
  };
}
