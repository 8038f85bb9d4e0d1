/**
 * The service's configuration. This module is the only reader of `process.env`: every variable,
 * its default and its unit are defined here, and a bad value stops the start with a message that
 * names the variable.
 */

export interface ApiKey {
  /** Name recorded as the actor of the events the key causes. */
  name: string;
  secret: string;
}

export interface Config {
  nodeEnv: string;
  port: number;
  host: string;
  databaseUrl: string;
  /** PostgreSQL schema of the tables. Tests give each file its own. */
  databaseSchema: string;
  databasePoolSize: number;
  redisUrl: string;
  /** Prefix of every BullMQ key, so several deployments or test runs can share one Redis. */
  queuePrefix: string;
  /** Queue a job goes to when CreateJob names none. */
  defaultQueue: string;
  /** How long CreateJob waits for the first dispatch attempt before returning the job as PENDING. */
  dispatchTimeoutMs: number;
  /** Bound on one Redis command made by a request or a probe. */
  redisCommandTimeoutMs: number;
  /** How long BullMQ keeps finished jobs, so a late re-dispatch still finds and skips them. */
  queueRetentionSeconds: number;
  apiKeys: ApiKey[];
  discordWebhookUrl?: string;
  /** Base URL of Discord's REST API; changed only to point at a test double. */
  discordApiUrl?: string;
  discordTimeoutMs: number;
  /** Event types that the Herald posts to Discord. */
  heraldEvents: string[];
  outboxPollIntervalMs: number;
  outboxBatchSize: number;
  outboxLeaseMs: number;
  outboxMaxBackoffMs: number;
  /** An outbox entry older than this makes health DEGRADED. */
  outboxStuckAfterMs: number;
  /** How long processed outbox entries are kept before the relay deletes them. */
  outboxRetentionSeconds: number;
  healthProbeTimeoutMs: number;
  /** Deadline of a request whose client sends none. */
  defaultDeadlineMs: number;
  maxBodyBytes: number;
  /** Time a client has to send a request's headers; slower connections are closed. */
  headersTimeoutMs: number;
  /** Time a client has to send a whole HTTP/1.1 request, headers and body. */
  requestTimeoutMs: number;
  logLevel: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  shutdownGraceMs: number;
}

type Env = Record<string, string | undefined>;

/** Raised for an invalid environment variable; the message names it and the expected form. */
export class ConfigError extends Error {
  constructor(variable: string, value: string, expected: string) {
    super(`invalid ${variable}="${value}": expected ${expected}`);
    this.name = "ConfigError";
  }
}

function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, raw, `an integer from ${min} to ${max}`);
  }
  return value;
}

function readUrl(env: Env, name: string, fallback: string | undefined, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, redactUrl(raw), `a URL starting with ${protocols.join(" or ")}`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, redactUrl(raw), `a URL starting with ${protocols.join(" or ")}`);
  }
  return raw;
}

function readName(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^[A-Za-z0-9_.:-]{1,100}$/.test(raw)) {
    throw new ConfigError(name, raw, "1 to 100 letters, digits, '_', '.', ':' or '-'");
  }
  return raw;
}

/** Parses `name:secret,name:secret`; secrets must be at least 16 characters. */
function readApiKeys(env: Env): ApiKey[] {
  const raw = env.COORDINATOR_API_KEYS;
  if (raw === undefined || raw.trim() === "") return [];
  const keys = raw.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
  const names = new Set<string>();
  return keys.map((entry, index) => {
    const colon = entry.indexOf(":");
    const name = colon > 0 ? entry.slice(0, colon) : "";
    const secret = colon > 0 ? entry.slice(colon + 1) : "";
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || secret.length < 16 || names.has(name)) {
      throw new ConfigError(
        "COORDINATOR_API_KEYS",
        `<entry ${index + 1}>`,
        "comma-separated name:secret pairs with unique names of letters, digits, '_', '.' or '-' and secrets of at least 16 characters",
      );
    }
    names.add(name);
    return { name, secret };
  });
}

/** Hides the credentials and the webhook token in a URL, so it can be logged. */
export function redactUrl(raw: string): string {
  return raw.replace(/\/\/[^@/]*@/, "//***@").replace(/(webhooks\/\d+\/)[^/?]+/, "$1***");
}

/** Reads and validates the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = env.NODE_ENV ?? "development";
  const apiKeys = readApiKeys(env);
  if (apiKeys.length === 0 && nodeEnv === "production") {
    throw new ConfigError("COORDINATOR_API_KEYS", "", "at least one key when NODE_ENV=production");
  }
  const tlsCertFile = env.TLS_CERT_FILE || undefined;
  const tlsKeyFile = env.TLS_KEY_FILE || undefined;
  if (Boolean(tlsCertFile) !== Boolean(tlsKeyFile)) {
    throw new ConfigError(tlsCertFile ? "TLS_KEY_FILE" : "TLS_CERT_FILE", "", "both TLS_CERT_FILE and TLS_KEY_FILE, or neither");
  }
  const heraldEvents = (env.HERALD_EVENTS ?? "job.completed,job.failed").split(",").map((e) => e.trim()).filter(Boolean);
  for (const event of heraldEvents) {
    if (!/^(job|step)\.[a-z_]+$/.test(event)) throw new ConfigError("HERALD_EVENTS", event, "event types such as job.completed,job.failed");
  }
  const logLevel = env.LOG_LEVEL ?? "info";
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(logLevel)) {
    throw new ConfigError("LOG_LEVEL", logLevel, "one of fatal, error, warn, info, debug, trace, silent");
  }
  const config = {
    nodeEnv,
    port: readInt(env, "PORT", 8080, 0, 65535),
    host: env.HOST || "0.0.0.0",
    databaseUrl: readUrl(env, "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/coordinator_jobs", ["postgres:", "postgresql:"])!,
    databaseSchema: readName(env, "DATABASE_SCHEMA", "public"),
    databasePoolSize: readInt(env, "DATABASE_POOL_SIZE", 10, 1, 200),
    redisUrl: readUrl(env, "REDIS_URL", "redis://127.0.0.1:6379", ["redis:", "rediss:"])!,
    queuePrefix: readName(env, "QUEUE_PREFIX", "bull"),
    defaultQueue: readName(env, "DEFAULT_QUEUE", "coordinator-jobs"),
    dispatchTimeoutMs: readInt(env, "DISPATCH_TIMEOUT_MS", 1000, 10, 60_000),
    redisCommandTimeoutMs: readInt(env, "REDIS_COMMAND_TIMEOUT_MS", 2000, 10, 60_000),
    queueRetentionSeconds: readInt(env, "QUEUE_RETENTION_SECONDS", 7 * 24 * 3600, 60, 365 * 24 * 3600),
    apiKeys,
    discordWebhookUrl: readUrl(env, "DISCORD_WEBHOOK_URL", undefined, ["https:", "http:"]),
    discordApiUrl: readUrl(env, "DISCORD_API_URL", undefined, ["https:", "http:"]),
    discordTimeoutMs: readInt(env, "DISCORD_TIMEOUT_MS", 15_000, 100, 300_000),
    heraldEvents,
    outboxPollIntervalMs: readInt(env, "OUTBOX_POLL_INTERVAL_MS", 1000, 10, 600_000),
    outboxBatchSize: readInt(env, "OUTBOX_BATCH_SIZE", 50, 1, 1000),
    outboxLeaseMs: readInt(env, "OUTBOX_LEASE_MS", 60_000, 1000, 3_600_000),
    outboxMaxBackoffMs: readInt(env, "OUTBOX_MAX_BACKOFF_MS", 60_000, 100, 3_600_000),
    outboxStuckAfterMs: readInt(env, "OUTBOX_STUCK_AFTER_MS", 300_000, 1000, 86_400_000),
    outboxRetentionSeconds: readInt(env, "OUTBOX_RETENTION_SECONDS", 7 * 24 * 3600, 60, 365 * 24 * 3600),
    healthProbeTimeoutMs: readInt(env, "HEALTH_PROBE_TIMEOUT_MS", 1000, 10, 30_000),
    defaultDeadlineMs: readInt(env, "DEFAULT_DEADLINE_MS", 30_000, 100, 600_000),
    maxBodyBytes: readInt(env, "MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    headersTimeoutMs: readInt(env, "HEADERS_TIMEOUT_MS", 10_000, 100, 600_000),
    requestTimeoutMs: readInt(env, "REQUEST_TIMEOUT_MS", 60_000, 100, 3_600_000),
    logLevel,
    tlsCertFile,
    tlsKeyFile,
    shutdownGraceMs: readInt(env, "SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
  };
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new ConfigError("HEADERS_TIMEOUT_MS", String(config.headersTimeoutMs), `at most REQUEST_TIMEOUT_MS (${config.requestTimeoutMs})`);
  }
  return config;
}
