/**
 * Delay before retry number `attempt` (1 for the first retry): exponential from `baseMs`, capped
 * at `maxMs`, with "equal jitter" so that half the delay is random and retries from many entries
 * spread out instead of arriving together.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}
