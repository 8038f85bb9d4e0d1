import { DiscordAPIError, HTTPError, RESTJSONErrorCodes, RateLimitError } from "discord.js";

import { rateLimitWaitMs } from "./rate-limit";
import { truncate } from "./text";

interface HeraldErrorDetails {
  /** HTTP status of Discord's response, when Discord responded. */
  status?: number;
  /** Discord's JSON error code, such as 10015 for Unknown Webhook. */
  discordCode?: number;
  cause?: unknown;
}

/**
 * Base class of the errors that `Herald.send` throws. `permanent` is true when sending the same
 * notice again would fail the same way.
 */
export abstract class HeraldError extends Error {
  abstract readonly permanent: boolean;
  readonly status?: number;
  readonly discordCode?: number;

  constructor(message: string, details: HeraldErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.discordCode = details.discordCode;
  }
}

/**
 * A failure that a later attempt may not meet: a timeout, a network error, a 5xx response, a
 * rate limit too long to wait out, or a send after `close()`. The caller should retry later.
 */
export class HeraldTransientError extends HeraldError {
  readonly permanent = false;
  override readonly name = "HeraldTransientError";
  /** Time in ms that Discord asked to wait before the next request, when it sent a rate limit. */
  readonly retryAfterMs?: number;

  constructor(message: string, details: HeraldErrorDetails & { retryAfterMs?: number } = {}) {
    super(message, details);
    this.retryAfterMs = details.retryAfterMs;
  }
}

/**
 * The webhook no longer accepts messages: Discord responded 401, 403 or 404, or with the error
 * code Unknown Webhook (10015) or Invalid Webhook Token (50027). The Herald stays disabled until
 * the service restarts with a working webhook URL, and every later send throws this error
 * without contacting Discord.
 */
export class HeraldDisabledError extends HeraldError {
  readonly permanent = true;
  override readonly name = "HeraldDisabledError";
}

/**
 * Discord rejected this one message, for example with 400 Invalid Form Body. Sending it again
 * fails the same way, but the webhook stays enabled for other messages.
 */
export class HeraldRejectedError extends HeraldError {
  readonly permanent = true;
  override readonly name = "HeraldRejectedError";
}

/** Discord's error text is kept short in messages; Invalid Form Body lists every invalid field. */
const DISCORD_MESSAGE_MAX = 500;

/** HTTP statuses that mean the webhook itself is unusable, not only the message. */
const WEBHOOK_GONE_STATUSES: ReadonlySet<number> = new Set([401, 403, 404]);

const WEBHOOK_GONE_CODES: ReadonlySet<number> = new Set([
  RESTJSONErrorCodes.UnknownWebhook,
  RESTJSONErrorCodes.InvalidWebhookToken,
]);

/** Statuses of a 4xx response after which the same request may succeed later. */
const RETRYABLE_CLIENT_STATUSES: ReadonlySet<number> = new Set([408, 425, 429]);

/**
 * Maps an error from the discord.js REST client to a HeraldError, by HTTP status and Discord
 * error code. The discord.js error is not kept as `cause` because its `url` property contains
 * the webhook token. Errors that are not Discord responses, such as network errors and aborts,
 * are kept as `cause` and count as transient.
 */
export function toHeraldError(error: unknown): HeraldError {
  if (error instanceof HeraldError) return error;

  if (error instanceof RateLimitError) {
    const retryAfterMs = Math.ceil(rateLimitWaitMs(error));
    return new HeraldTransientError(
      `Discord rate limit requires a wait of ${retryAfterMs} ms, longer than the send timeout; retry later`,
      { status: 429, retryAfterMs },
    );
  }

  if (error instanceof DiscordAPIError) {
    const discordCode = typeof error.code === "number" ? error.code : undefined;
    const details = { status: error.status, discordCode };
    const described = describeResponse(error.status, discordCode, error.message);
    if (WEBHOOK_GONE_STATUSES.has(error.status) || (discordCode !== undefined && WEBHOOK_GONE_CODES.has(discordCode))) {
      return new HeraldDisabledError(`Discord webhook is unusable: ${described}`, details);
    }
    if (RETRYABLE_CLIENT_STATUSES.has(error.status)) {
      return new HeraldTransientError(`Discord request failed: ${described}`, details);
    }
    return new HeraldRejectedError(`Discord rejected the message: ${described}`, details);
  }

  if (error instanceof HTTPError) {
    return new HeraldTransientError(`Discord request failed: ${describeResponse(error.status, undefined, error.message)}`, {
      status: error.status,
    });
  }

  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new HeraldTransientError(`Discord request failed: ${reason}`, { cause: error });
}

function describeResponse(status: number, discordCode: number | undefined, message: string): string {
  const code = discordCode === undefined ? "" : ` (code ${discordCode})`;
  return `${status} ${truncate(message, DISCORD_MESSAGE_MAX)}${code}`;
}
