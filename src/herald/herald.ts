import {
  DefaultRestOptions,
  Routes,
  WebhookClient,
  makeURLSearchParams,
  type APIMessage,
  type RateLimitData,
} from "discord.js";
import type { Logger } from "pino";

import { HeraldDisabledError, HeraldError, HeraldRejectedError, HeraldTransientError, toHeraldError } from "./errors";
import { buildMessage, type WebhookMessage } from "./message";
import type { JobNotice } from "./notice";
import { rateLimitWaitMs } from "./rate-limit";
import { parseWebhookUrl, type WebhookCredentials } from "./webhook-url";

export interface HeraldOptions {
  /**
   * Discord webhook URL, https://discord.com/api/webhooks/<id>/<token>. Only its id and token are
   * used. Without it the Herald is off.
   */
  webhookUrl?: string;
  /** Base URL of Discord's REST API, without the version. Defaults to https://discord.com/api. */
  apiBaseUrl?: string;
  /** Maximum time in ms for one `send`, including any wait for a Discord rate limit. */
  requestTimeoutMs: number;
  /** Name shown as the author of the messages instead of the webhook's own name. */
  username?: string;
  logger: Logger;
}

/** Outcome of the latest attempt to post a notice. */
export interface HeraldDelivery {
  ok: boolean;
  /** ISO 8601 time at which the attempt ended. */
  at: string;
  error?: string;
}

/** Herald status for the health endpoint. */
export interface HeraldState {
  configured: boolean;
  /** Reason the Herald stopped sending, set once Discord reported the webhook unusable. */
  disabledReason?: string;
  lastDelivery?: HeraldDelivery;
}

/** Posts job notices to a Discord channel through a webhook. */
export interface Herald {
  /** False when no webhook URL is configured. `send` then resolves without sending anything. */
  readonly configured: boolean;
  /**
   * Posts one message for the notice, with a single attempt at Discord. Rejects with a
   * HeraldTransientError when a later attempt may succeed, a HeraldRejectedError when Discord
   * rejected this message, and a HeraldDisabledError when the webhook is unusable.
   */
  send(notice: JobNotice): Promise<void>;
  state(): HeraldState;
  /** Aborts the sends in progress and makes later sends fail with a HeraldTransientError. */
  close(): Promise<void>;
}

/** Discord's limit for the name of a webhook, which also applies to the `username` override. */
const USERNAME_MAX = 80;
/** Discord rejects webhook names that contain these words, in any letter case. */
const FORBIDDEN_USERNAME_WORDS = ["clyde", "discord"];

/**
 * Creates the Herald. Throws a RangeError for a `requestTimeoutMs` that is not a positive integer,
 * and an Error for a webhook URL or username that Discord would reject. Neither message contains
 * the webhook token.
 */
export function createHerald(options: HeraldOptions): Herald {
  if (!Number.isInteger(options.requestTimeoutMs) || options.requestTimeoutMs <= 0) {
    throw new RangeError(`Invalid Herald requestTimeoutMs ${options.requestTimeoutMs}: expected a positive integer`);
  }
  if (options.username !== undefined) validateUsername(options.username);

  const logger = options.logger.child({ component: "herald" });
  if (options.webhookUrl === undefined || options.webhookUrl.trim() === "") {
    logger.info("Discord notifications are off because no webhook URL is configured");
    return new UnconfiguredHerald();
  }

  const credentials = parseWebhookUrl(options.webhookUrl.trim());
  if (credentials === undefined) {
    throw new Error("Invalid Discord webhook URL: expected https://discord.com/api/webhooks/<id>/<token>");
  }

  const apiBaseUrl = options.apiBaseUrl ?? DefaultRestOptions.api;
  logger.info({ webhookId: credentials.id, apiBaseUrl }, "Discord notifications are on");
  return new WebhookHerald(credentials, apiBaseUrl, options, logger);
}

function validateUsername(username: string): void {
  const length = [...username].length;
  if (username.trim() === "" || length > USERNAME_MAX) {
    throw new Error(`Invalid Herald username "${username}": expected 1 to ${USERNAME_MAX} characters`);
  }
  const forbidden = FORBIDDEN_USERNAME_WORDS.find((word) => username.toLowerCase().includes(word));
  if (forbidden !== undefined) {
    throw new Error(`Invalid Herald username "${username}": Discord rejects names that contain "${forbidden}"`);
  }
}

class UnconfiguredHerald implements Herald {
  readonly configured = false;

  async send(): Promise<void> {}

  state(): HeraldState {
    return { configured: false };
  }

  async close(): Promise<void> {}
}

class WebhookHerald implements Herald {
  readonly configured = true;
  readonly #client: WebhookClient;
  readonly #route: ReturnType<typeof Routes.webhook>;
  readonly #timeoutMs: number;
  readonly #username?: string;
  readonly #logger: Logger;
  /** One controller for each send in progress, so `close` can abort them. */
  readonly #inFlight = new Set<AbortController>();
  #disabledBy?: HeraldDisabledError;
  #lastDelivery?: HeraldDelivery;
  #consecutiveFailures = 0;
  #closed = false;

  constructor(credentials: WebhookCredentials, apiBaseUrl: string, options: HeraldOptions, logger: Logger) {
    this.#timeoutMs = options.requestTimeoutMs;
    this.#username = options.username;
    this.#logger = logger;
    this.#route = Routes.webhook(credentials.id, credentials.token);
    this.#client = new WebhookClient(credentials, {
      rest: {
        api: apiBaseUrl,
        // One HTTP attempt per send, because the caller's retry schedule decides when to try again.
        retries: 0,
        timeout: options.requestTimeoutMs,
        rejectOnRateLimit: (data) => this.#rejectsRateLimit(data),
      },
    });
  }

  async send(notice: JobNotice): Promise<void> {
    if (this.#closed) {
      throw new HeraldTransientError(`Herald is closed, so job ${notice.jobId} was not posted`);
    }
    if (this.#disabledBy !== undefined) {
      const { message, status, discordCode } = this.#disabledBy;
      throw new HeraldDisabledError(message, { status, discordCode });
    }

    const body: WebhookMessage = { ...buildMessage(notice) };
    if (this.#username !== undefined) body.username = this.#username;

    const startedAt = Date.now();
    let posted: APIMessage;
    try {
      posted = await this.#post(body);
    } catch (error) {
      const failure = toHeraldError(error);
      this.#recordFailure(failure, notice.jobId);
      throw failure;
    }

    this.#consecutiveFailures = 0;
    this.#lastDelivery = { ok: true, at: new Date().toISOString() };
    this.#logger.info(
      { jobId: notice.jobId, messageId: posted.id, durationMs: Date.now() - startedAt },
      "Posted job notice to Discord",
    );
  }

  state(): HeraldState {
    const state: HeraldState = { configured: true };
    if (this.#disabledBy !== undefined) state.disabledReason = this.#disabledBy.message;
    if (this.#lastDelivery !== undefined) state.lastDelivery = { ...this.#lastDelivery };
    return state;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const controller of this.#inFlight) {
      controller.abort(new HeraldTransientError("Herald closed before Discord responded, so the notice may or may not have been posted"));
    }
    this.#client.destroy();
  }

  /**
   * Sends the message and resolves with Discord's message object. The abort signal ends the
   * request at the send timeout or on `close`, wherever it is: queued behind another send,
   * waiting out a rate limit, or on the network. A request that is aborted while
   * @discordjs/rest sleeps through a rate limit is never sent.
   */
  async #post(body: WebhookMessage): Promise<APIMessage> {
    const controller = new AbortController();
    this.#inFlight.add(controller);
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
    });
    const timer = setTimeout(() => {
      controller.abort(new HeraldTransientError(`Posting to Discord timed out after ${this.#timeoutMs} ms; retry later`));
    }, this.#timeoutMs);

    // WebhookClient.send takes no abort signal in discord.js 14.28, so this makes the same
    // request through the client's REST manager: POST /webhooks/<id>/<token>?wait=true.
    const request = this.#client.rest.post(this.#route, {
      body,
      query: makeURLSearchParams({ wait: true }),
      auth: false,
      signal: controller.signal,
    });

    try {
      return (await Promise.race([request, aborted])) as APIMessage;
    } catch (error) {
      throw controller.signal.aborted ? controller.signal.reason : error;
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(controller);
    }
  }

  /**
   * Decides for @discordjs/rest whether to wait out a rate limit (false) or to throw a
   * RateLimitError (true). A wait longer than the send timeout is never waited out.
   */
  #rejectsRateLimit(data: RateLimitData): boolean {
    const waitMs = Math.ceil(rateLimitWaitMs(data));
    if (waitMs > this.#timeoutMs) return true;

    this.#logger.info({ waitMs, global: data.global, scope: data.scope }, "Waiting for a Discord rate limit to reset");
    return false;
  }

  #recordFailure(failure: HeraldError, jobId: string): void {
    this.#consecutiveFailures++;
    this.#lastDelivery = { ok: false, at: new Date().toISOString(), error: failure.message };
    const context = { jobId, status: failure.status, discordCode: failure.discordCode };

    if (failure instanceof HeraldDisabledError) {
      // Logged once: later sends fail fast with the same error and are not logged again.
      if (this.#disabledBy === undefined) {
        this.#disabledBy = failure;
        this.#logger.error(
          { ...context, err: failure },
          "Discord webhook is unusable, so the Herald is disabled; configure a new webhook URL and restart the service",
        );
      }
      return;
    }
    if (failure instanceof HeraldRejectedError) {
      this.#logger.error({ ...context, err: failure }, "Discord rejected the job notice, so sending it again will fail the same way");
      return;
    }
    this.#logger.warn(
      { ...context, err: failure, consecutiveFailures: this.#consecutiveFailures },
      "Posting the job notice to Discord failed; retry later",
    );
  }
}
