import pino from "pino";

export type Logger = pino.Logger;

/** Creates the JSON logger; secrets in headers are redacted wherever they appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "coordinator-jobs" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: ["*.authorization", "*.x-api-key", "*.headers.authorization", "*.headers['x-api-key']"],
  });
}
