import type { RateLimitData } from "discord.js";

/**
 * Returns how long in ms @discordjs/rest will wait before it retries a rate-limited request.
 *
 * NOTE: this follows the SequentialHandler of @discordjs/rest 2.6: after a 429 it sleeps
 * `sublimitTimeout` when that is set, and otherwise waits until the bucket or the global limit
 * resets (`timeToReset`). `retryAfter` alone would overstate the wait: it comes from the Retry-After
 * header, which Discord's documented example rounds up to whole seconds (65 for 64.57).
 */
export function rateLimitWaitMs(data: Pick<RateLimitData, "sublimitTimeout" | "timeToReset">): number {
  return Math.max(0, data.sublimitTimeout, data.timeToReset);
}
