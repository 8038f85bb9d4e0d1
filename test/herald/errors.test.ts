import { DiscordAPIError, HTTPError, RateLimitError } from "discord.js";

import {
  HeraldDisabledError,
  HeraldRejectedError,
  HeraldTransientError,
  toHeraldError,
} from "../../src/herald/errors";

const TOKEN = "secret-token-value";
const URL_WITH_TOKEN = `https://discord.com/api/v10/webhooks/1/${TOKEN}?wait=true`;

function apiError(status: number, code: number | string, message: string): DiscordAPIError {
  return new DiscordAPIError({ code, message } as never, code, status, "POST", URL_WITH_TOKEN, { body: {} });
}

describe("toHeraldError", () => {
  test.each([
    [404, 10015, "Unknown Webhook"],
    [401, 50027, "Invalid Webhook Token"],
    [403, 50013, "Missing Permissions"],
    [404, 10003, "Unknown Channel"],
    [400, 10015, "Unknown Webhook"],
  ])("status %p with code %p disables", (status, code, message) => {
    const error = toHeraldError(apiError(status, code, message));

    expect(error).toBeInstanceOf(HeraldDisabledError);
    expect(error.permanent).toBe(true);
    expect(error.status).toBe(status);
    expect(error.discordCode).toBe(code);
    expect(error.message).toBe(`Discord webhook is unusable: ${status} ${message} (code ${code})`);
  });

  test.each([
    [400, 50035, "Invalid Form Body"],
    [400, 50006, "Cannot send an empty message"],
    [413, 40005, "Request entity too large"],
  ])("status %p with code %p rejects message", (status, code, message) => {
    const error = toHeraldError(apiError(status, code, message));

    expect(error).toBeInstanceOf(HeraldRejectedError);
    expect(error.permanent).toBe(true);
    expect(error.status).toBe(status);
    expect(error.discordCode).toBe(code);
  });

  test("status 408 is transient", () => {
    const error = toHeraldError(apiError(408, 0, "Request Timeout"));

    expect(error).toBeInstanceOf(HeraldTransientError);
    expect(error.permanent).toBe(false);
  });

  test("string error code is not a Discord code", () => {
    const error = toHeraldError(apiError(400, "invalid_request", "Bad request"));

    expect(error).toBeInstanceOf(HeraldRejectedError);
    expect(error.discordCode).toBeUndefined();
  });

  test.each([500, 502, 503, 504])("status %p is transient", (status) => {
    const error = toHeraldError(new HTTPError(status, "Server Error", "POST", URL_WITH_TOKEN, { body: {} }));

    expect(error).toBeInstanceOf(HeraldTransientError);
    expect(error.status).toBe(status);
  });

  test("rate limit is transient with wait", () => {
    const rateLimit = new RateLimitError({
      timeToReset: 59_950.4,
      limit: 5,
      method: "POST",
      hash: "bucket",
      url: URL_WITH_TOKEN,
      route: "/webhooks/:id/:token",
      majorParameter: "1",
      global: false,
      retryAfter: 61_050,
      sublimitTimeout: 0,
      scope: "user",
    });

    const error = toHeraldError(rateLimit) as HeraldTransientError;

    expect(error).toBeInstanceOf(HeraldTransientError);
    expect(error.status).toBe(429);
    expect(error.retryAfterMs).toBe(59_951);
  });

  test("network error is transient and kept as cause", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });

    const error = toHeraldError(cause);

    expect(error).toBeInstanceOf(HeraldTransientError);
    expect(error.cause).toBe(cause);
    expect(error.message).toBe("Discord request failed: Error: connect ECONNREFUSED 127.0.0.1:9");
  });

  test("Discord errors do not carry the token", () => {
    const errors = [
      toHeraldError(apiError(404, 10015, "Unknown Webhook")),
      toHeraldError(apiError(400, 50035, "Invalid Form Body")),
      toHeraldError(new HTTPError(500, "Internal Server Error", "POST", URL_WITH_TOKEN, { body: {} })),
    ];

    for (const error of errors) {
      expect(error.cause).toBeUndefined();
      expect(error.message).not.toContain(TOKEN);
      expect(JSON.stringify(error)).not.toContain(TOKEN);
    }
  });

  test("Herald errors pass through", () => {
    const original = new HeraldRejectedError("rejected");

    expect(toHeraldError(original)).toBe(original);
  });
});
