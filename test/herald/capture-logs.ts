import pino, { type Logger } from "pino";

export interface CapturedLogs {
  logger: Logger;
  /** Every log entry written so far, parsed from pino's JSON lines. */
  entries: Record<string, unknown>[];
  /** Returns every line written so far, as pino wrote it. */
  text(): string;
  /** Returns the entries at one pino level, such as 50 for error and 40 for warn. */
  atLevel(level: number): Record<string, unknown>[];
}

/** Creates a debug-level pino logger that keeps its output in memory for assertions. */
export function captureLogs(): CapturedLogs {
  const lines: string[] = [];
  const entries: Record<string, unknown>[] = [];
  const logger = pino(
    { level: "debug" },
    {
      write(line: string) {
        lines.push(line);
        entries.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return {
    logger,
    entries,
    text: () => lines.join(""),
    atLevel: (level) => entries.filter((entry) => entry.level === level),
  };
}

export const ERROR_LEVEL = 50;
export const WARN_LEVEL = 40;
