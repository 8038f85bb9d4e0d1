const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * Formats a non-negative duration in ms with its two largest units, such as "850 ms", "42 s",
 * "3 min 5 s", "2 h 15 min" or "3 d 4 h". Smaller units are dropped, not rounded.
 */
export function formatDuration(durationMs: number): string {
  const ms = Math.floor(durationMs);
  if (ms < SECOND_MS) return `${ms} ms`;
  if (ms < MINUTE_MS) return `${Math.floor(ms / SECOND_MS)} s`;
  if (ms < HOUR_MS) return joinUnits(Math.floor(ms / MINUTE_MS), "min", Math.floor((ms % MINUTE_MS) / SECOND_MS), "s");
  if (ms < DAY_MS) return joinUnits(Math.floor(ms / HOUR_MS), "h", Math.floor((ms % HOUR_MS) / MINUTE_MS), "min");
  return joinUnits(Math.floor(ms / DAY_MS), "d", Math.floor((ms % DAY_MS) / HOUR_MS), "h");
}

function joinUnits(major: number, majorUnit: string, minor: number, minorUnit: string): string {
  return minor === 0 ? `${major} ${majorUnit}` : `${major} ${majorUnit} ${minor} ${minorUnit}`;
}

/** Parses a timestamp with Date.parse into epoch ms, or returns undefined when it is missing or invalid. */
export function parseTimestamp(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
