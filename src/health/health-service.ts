/**
 * Health probes: the database, the BullMQ connection with counts per state, the Herald, and the
 * outbox backlog. Probes run in parallel, each under its own timeout, so the report arrives within
 * one timeout even when a dependency hangs.
 */
import type { Orm } from "../database";
import type { JsonObject } from "../domain/inputs";
import type { Logger } from "../logger";
import type { QueueDispatcher } from "../outbox/queue-dispatcher";
import { withTimeout } from "../timeout";

export type HealthStatus = "SERVING" | "DEGRADED" | "NOT_SERVING";

export interface DependencyReport {
  name: string;
  status: HealthStatus;
  message: string;
  latencyMs: number;
  counts: Record<string, number>;
  details: JsonObject;
}

export interface HealthReport {
  status: HealthStatus;
  dependencies: DependencyReport[];
  checkedAt: Date;
}

/** What the Herald tells health about itself. */
export interface HeraldHealth {
  configured: boolean;
  disabledReason?: string;
  lastDelivery?: { ok: boolean; at: string; error?: string };
}

export interface HealthServiceOptions {
  probeTimeoutMs: number;
  /** An open outbox entry older than this turns health DEGRADED. */
  outboxStuckAfterMs: number;
  heraldState: () => HeraldHealth;
  logger: Logger;
}

type Probe = () => Promise<Omit<DependencyReport, "name" | "latencyMs">>;

export class HealthService {
  constructor(
    private readonly orm: Orm,
    private readonly dispatcher: QueueDispatcher,
    private readonly options: HealthServiceOptions,
  ) {}

  async check(): Promise<HealthReport> {
    const dependencies = await Promise.all([
      this.run("database", "NOT_SERVING", () => this.probeDatabase()),
      this.run("queue", "DEGRADED", () => this.probeQueue()),
      this.run("herald", "DEGRADED", () => this.probeHerald()),
      this.run("outbox", "DEGRADED", () => this.probeOutbox()),
    ]);
    return { status: overallStatus(dependencies), dependencies, checkedAt: new Date() };
  }

  /** Runs a probe under the timeout; a probe that fails or times out reports `failedStatus`. */
  private async run(name: string, failedStatus: HealthStatus, probe: Probe): Promise<DependencyReport> {
    const started = performance.now();
    try {
      const result = await withTimeout(probe(), this.options.probeTimeoutMs, `${name} health probe`);
      return { name, latencyMs: Math.round(performance.now() - started), ...result };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { name, status: failedStatus, message, latencyMs: Math.round(performance.now() - started), counts: {}, details: {} };
    }
  }

  private async probeDatabase(): ReturnType<Probe> {
    await this.orm.em.getConnection().execute("select 1");
    return { status: "SERVING", message: "reachable", counts: {}, details: {} };
  }

  private async probeQueue(): ReturnType<Probe> {
    if (!this.dispatcher.connected) {
      return { status: "DEGRADED", message: "not connected to Redis; new jobs wait as PENDING", counts: {}, details: {} };
    }
    const perQueue = await this.dispatcher.counts();
    const counts: Record<string, number> = {};
    for (const queueCounts of Object.values(perQueue)) {
      for (const [state, count] of Object.entries(queueCounts)) counts[state] = (counts[state] ?? 0) + count;
    }
    return { status: "SERVING", message: "connected", counts, details: { queues: perQueue as unknown as JsonObject } };
  }

  private async probeHerald(): ReturnType<Probe> {
    const state = this.options.heraldState();
    const pending = await this.countOpen("notify");
    const details: JsonObject = { configured: state.configured };
    if (state.lastDelivery) details.lastDelivery = { ...state.lastDelivery };
    if (!state.configured) return { status: "SERVING", message: "not configured: Discord notices are off", counts: { pending }, details };
    if (state.disabledReason) {
      return { status: "DEGRADED", message: `delivery stopped: ${state.disabledReason}`, counts: { pending }, details };
    }
    const failing = state.lastDelivery && !state.lastDelivery.ok;
    return {
      status: failing ? "DEGRADED" : "SERVING",
      message: failing ? `last delivery failed: ${state.lastDelivery?.error ?? "unknown error"}` : "delivering",
      counts: { pending },
      details,
    };
  }

  private async probeOutbox(): ReturnType<Probe> {
    const [row] = await this.orm.em.getConnection().execute<{ pending: string; oldest_ms: string | null; abandoned: string }[]>(
      `select count(*) as pending,
         extract(epoch from now() - min(created_at)) * 1000 as oldest_ms,
         (select count(*) from outbox where abandoned_at is not null) as abandoned
       from outbox where processed_at is null and abandoned_at is null`,
    );
    const pending = Number(row.pending);
    const oldestAgeMs = row.oldest_ms === null ? 0 : Math.round(Number(row.oldest_ms));
    const stuck = oldestAgeMs > this.options.outboxStuckAfterMs;
    return {
      status: stuck ? "DEGRADED" : "SERVING",
      message: stuck ? `backlog stuck: oldest entry waiting ${Math.round(oldestAgeMs / 1000)} s` : `${pending} pending`,
      counts: { pending, abandoned: Number(row.abandoned), oldestAgeMs },
      details: {},
    };
  }

  private async countOpen(kind: string): Promise<number> {
    const [row] = await this.orm.em.getConnection().execute<{ count: string }[]>(
      "select count(*) as count from outbox where kind = ? and processed_at is null and abandoned_at is null",
      [kind],
    );
    return Number(row.count);
  }
}

function overallStatus(dependencies: DependencyReport[]): HealthStatus {
  if (dependencies.some((dependency) => dependency.status === "NOT_SERVING")) return "NOT_SERVING";
  if (dependencies.some((dependency) => dependency.status === "DEGRADED")) return "DEGRADED";
  return "SERVING";
}
