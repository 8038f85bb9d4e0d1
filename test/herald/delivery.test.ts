import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

import {
  HeraldDisabledError,
  HeraldRejectedError,
  HeraldTransientError,
  createHerald,
  type Herald,
  type HeraldOptions,
} from "../../src/herald";
import { buildMessage } from "../../src/herald/message";
import type { JobNotice } from "../../src/herald/notice";
import { fakeResponses, startFakeDiscord, type FakeDiscord } from "../support/fake-discord";
import { ERROR_LEVEL, WARN_LEVEL, captureLogs, type CapturedLogs } from "./capture-logs";

const notice: JobNotice = {
  jobId: "job-789",
  type: "code-task",
  status: "FAILED",
  repository: "acme/widgets",
  issueNumber: 42,
  url: "https://github.com/acme/widgets/issues/42",
  summary: "@everyone the fix for <@123> did not pass",
  error: "lint failed",
  gates: [
    { name: "build", passed: true },
    { name: "lint", passed: false, message: "3 errors" },
  ],
  createdAt: "2025-01-01T10:00:00Z",
  startedAt: "2025-01-01T10:01:00Z",
  completedAt: "2025-01-01T10:04:25Z",
};

let discord: FakeDiscord;
const heralds: Herald[] = [];

beforeEach(async () => {
  discord = await startFakeDiscord();
});

afterEach(async () => {
  for (const herald of heralds.splice(0)) await herald.close();
  await discord.close();
});

function startHerald(overrides: Partial<HeraldOptions> = {}): { herald: Herald; logs: CapturedLogs } {
  const logs = captureLogs();
  const herald = createHerald({
    webhookUrl: discord.webhookUrl,
    apiBaseUrl: discord.apiBaseUrl,
    requestTimeoutMs: 2_000,
    logger: logs.logger,
    ...overrides,
  });
  heralds.push(herald);
  return { herald, logs };
}

/** Returns the rejection of `promise`, failing the test if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

describe("Herald delivery", () => {
  test("posts embed with mentions disabled", async () => {
    const { herald } = startHerald({ username: "Herald" });

    await herald.send(notice);

    expect(discord.requests).toHaveLength(1);
    const [request] = discord.requests;
    expect(request.method).toBe("POST");
    expect(request.path).toBe(`/api/v10/webhooks/${discord.webhookId}/${discord.webhookToken}`);
    expect(request.query.get("wait")).toBe("true");
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers.authorization).toBeUndefined();
    expect(request.body).toEqual({ ...buildMessage(notice), username: "Herald" });
    expect(request.body).toMatchObject({ allowed_mentions: { parse: [] } });
    expect(request.status).toBe(200);
  });

  test("success recorded in state", async () => {
    const { herald, logs } = startHerald();
    const before = Date.now();

    await herald.send(notice);

    const state = herald.state();
    expect(state.configured).toBe(true);
    expect(state.disabledReason).toBeUndefined();
    expect(state.lastDelivery?.ok).toBe(true);
    expect(state.lastDelivery?.error).toBeUndefined();
    expect(Date.parse(state.lastDelivery!.at)).toBeGreaterThanOrEqual(before);
    expect(logs.entries.some((entry) => entry.msg === "Posted job notice to Discord" && entry.jobId === "job-789")).toBe(true);
  });

  test("short rate limit waited out", async () => {
    const { herald, logs } = startHerald();
    discord.respondWith(fakeResponses.rateLimited(0.2));

    await herald.send(notice);

    expect(discord.requests.map((request) => request.status)).toEqual([429, 200]);
    expect(discord.deliveredRequests()).toHaveLength(1);
    const waitedMs = discord.requests[1].receivedAt - discord.requests[0].receivedAt;
    expect(waitedMs).toBeGreaterThanOrEqual(200);
    expect(logs.entries.some((entry) => entry.msg === "Waiting for a Discord rate limit to reset")).toBe(true);
  });

  test.each(["shared", "global"] as const)("short %s rate limit waited out", async (scope) => {
    const { herald } = startHerald();
    discord.respondWith(fakeResponses.rateLimited(0.2, scope));

    await herald.send(notice);

    expect(discord.requests.map((request) => request.status)).toEqual([429, 200]);
    // The fake rounds Retry-After up to whole seconds, as Discord's documented example does,
    // and discord.js waits for Retry-After in both scopes.
    const waitedMs = discord.requests[1].receivedAt - discord.requests[0].receivedAt;
    expect(waitedMs).toBeGreaterThanOrEqual(1_000);
  });

  test("long rate limit fails fast as transient", async () => {
    const { herald } = startHerald({ requestTimeoutMs: 2_000 });
    discord.respondWith(fakeResponses.rateLimited(60));
    const started = Date.now();

    const error = await rejectionOf(herald.send(notice));

    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(HeraldTransientError);
    expect((error as HeraldTransientError).retryAfterMs).toBeGreaterThanOrEqual(59_000);
    expect((error as HeraldTransientError).status).toBe(429);
    expect(discord.requests).toHaveLength(1);
    expect(discord.deliveredRequests()).toHaveLength(0);
  });

  test("server error is transient", async () => {
    const { herald, logs } = startHerald();
    discord.respondWith(fakeResponses.serverError(500));

    const error = await rejectionOf(herald.send(notice));

    expect(error).toBeInstanceOf(HeraldTransientError);
    expect((error as HeraldTransientError).status).toBe(500);
    expect(discord.requests).toHaveLength(1);
    expect(discord.deliveredRequests()).toHaveLength(0);
    const state = herald.state();
    expect(state.disabledReason).toBeUndefined();
    expect(state.lastDelivery?.ok).toBe(false);
    expect(state.lastDelivery?.error).toBe(error.message);
    expect(logs.atLevel(WARN_LEVEL)).toHaveLength(1);
  });

  test("next send after server error delivers", async () => {
    const { herald } = startHerald();
    discord.respondWith(fakeResponses.serverError(503));
    await rejectionOf(herald.send(notice));

    await herald.send(notice);

    expect(discord.deliveredRequests()).toHaveLength(1);
    expect(herald.state().lastDelivery?.ok).toBe(true);
  });

  test("unknown webhook disables herald", async () => {
    const { herald, logs } = startHerald();
    discord.respondWith(fakeResponses.unknownWebhook());

    const error = await rejectionOf(herald.send(notice));

    expect(error).toBeInstanceOf(HeraldDisabledError);
    expect((error as HeraldDisabledError).status).toBe(404);
    expect((error as HeraldDisabledError).discordCode).toBe(10015);
    expect(herald.state().disabledReason).toBe("Discord webhook is unusable: 404 Unknown Webhook (code 10015)");
    expect(logs.atLevel(ERROR_LEVEL)).toHaveLength(1);
  });

  test("disabled herald fails fast without request", async () => {
    const { herald, logs } = startHerald();
    discord.respondWith(fakeResponses.unknownWebhook());
    await rejectionOf(herald.send(notice));

    const second = await rejectionOf(herald.send(notice));
    const third = await rejectionOf(herald.send(notice));

    expect(second).toBeInstanceOf(HeraldDisabledError);
    expect(third).toBeInstanceOf(HeraldDisabledError);
    expect(second.message).toBe("Discord webhook is unusable: 404 Unknown Webhook (code 10015)");
    expect(discord.requests).toHaveLength(1);
    expect(logs.atLevel(ERROR_LEVEL)).toHaveLength(1);
  });

  test("concurrent unknown webhook logged once", async () => {
    const { herald, logs } = startHerald();
    discord.respondWith(fakeResponses.unknownWebhook(), fakeResponses.unknownWebhook());

    const errors = await Promise.all([rejectionOf(herald.send(notice)), rejectionOf(herald.send(notice))]);

    expect(errors[0]).toBeInstanceOf(HeraldDisabledError);
    expect(errors[1]).toBeInstanceOf(HeraldDisabledError);
    expect(discord.requests).toHaveLength(2);
    expect(logs.atLevel(ERROR_LEVEL)).toHaveLength(1);
  });

  test("wrong token disables herald", async () => {
    const webhookUrl = discord.webhookUrl.replace(discord.webhookToken, "x".repeat(68));
    const { herald } = startHerald({ webhookUrl });

    const error = await rejectionOf(herald.send(notice));

    expect(error).toBeInstanceOf(HeraldDisabledError);
    expect((error as HeraldDisabledError).status).toBe(401);
    expect((error as HeraldDisabledError).discordCode).toBe(50027);
    expect(herald.state().disabledReason).toBe("Discord webhook is unusable: 401 Invalid Webhook Token (code 50027)");
  });

  test("invalid form body rejects message only", async () => {
    const { herald, logs } = startHerald();
    discord.respondWith(fakeResponses.invalidFormBody());

    const error = await rejectionOf(herald.send(notice));
    await herald.send(notice);

    expect(error).toBeInstanceOf(HeraldRejectedError);
    expect((error as HeraldRejectedError).status).toBe(400);
    expect((error as HeraldRejectedError).discordCode).toBe(50035);
    expect(error.message).toContain("embeds[0].title[BASE_TYPE_MAX_LENGTH]");
    expect(herald.state().disabledReason).toBeUndefined();
    expect(discord.deliveredRequests()).toHaveLength(1);
    expect(logs.atLevel(ERROR_LEVEL)).toHaveLength(1);
  });

  test("hanging request times out", async () => {
    const { herald } = startHerald({ requestTimeoutMs: 300 });
    discord.respondWith(fakeResponses.hang());
    const started = Date.now();

    const error = await rejectionOf(herald.send(notice));

    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(HeraldTransientError);
    expect(error.message).toBe("Posting to Discord timed out after 300 ms; retry later");
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2_000);
    expect(discord.requests).toHaveLength(1);
    expect(discord.deliveredRequests()).toHaveLength(0);
  });

  test("rate limit wait cut by timeout", async () => {
    // discord.js waits out the 0.8 s rate limit because it fits the 1 s timeout, but the retry
    // after the wait hangs, so the timeout ends the send.
    const { herald } = startHerald({ requestTimeoutMs: 1_000 });
    discord.respondWith(fakeResponses.rateLimited(0.8), fakeResponses.hang());
    const started = Date.now();

    const error = await rejectionOf(herald.send(notice));

    expect(error).toBeInstanceOf(HeraldTransientError);
    expect(error.message).toBe("Posting to Discord timed out after 1000 ms; retry later");
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(discord.requests.map((request) => request.status)).toEqual([429, undefined]);
  });

  test("close during rate limit wait sends nothing later", async () => {
    const { herald } = startHerald({ requestTimeoutMs: 5_000 });
    discord.respondWith(fakeResponses.rateLimited(0.3));
    const sending = rejectionOf(herald.send(notice));
    await discord.waitForRequests(1);

    await herald.close();
    const error = await sending;
    await new Promise((resolve) => setTimeout(resolve, 600));

    expect(error).toBeInstanceOf(HeraldTransientError);
    expect(discord.requests).toHaveLength(1);
  });

  test("dropped connection is transient", async () => {
    const { herald } = startHerald();
    discord.respondWith(fakeResponses.disconnect());

    const error = await rejectionOf(herald.send(notice));

    expect(error).toBeInstanceOf(HeraldTransientError);
    expect(discord.deliveredRequests()).toHaveLength(0);
  });

  test("unreachable server is transient", async () => {
    const closedPort = await findClosedPort();
    const { herald } = startHerald({ apiBaseUrl: `http://127.0.0.1:${closedPort}/api` });

    const error = await rejectionOf(herald.send(notice));

    expect(error).toBeInstanceOf(HeraldTransientError);
    expect(error.cause).toBeDefined();
    expect(herald.state().lastDelivery?.ok).toBe(false);
  });

  test("close aborts send in progress", async () => {
    const { herald } = startHerald({ requestTimeoutMs: 10_000 });
    discord.respondWith(fakeResponses.hang());
    const sending = rejectionOf(herald.send(notice));
    await discord.waitForRequests(1);

    await herald.close();
    const error = await sending;
    const afterClose = await rejectionOf(herald.send(notice));

    expect(error).toBeInstanceOf(HeraldTransientError);
    expect(error.message).toBe("Herald closed before Discord responded, so the notice may or may not have been posted");
    expect(afterClose).toBeInstanceOf(HeraldTransientError);
    expect(afterClose.message).toBe("Herald is closed, so job job-789 was not posted");
    expect(discord.requests).toHaveLength(1);
  });

  test("token kept out of logs and errors", async () => {
    const { herald, logs } = startHerald({ requestTimeoutMs: 300 });
    discord.respondWith(
      fakeResponses.rateLimited(60),
      fakeResponses.serverError(),
      fakeResponses.invalidFormBody(),
      fakeResponses.hang(),
      fakeResponses.disconnect(),
      fakeResponses.unknownWebhook(),
    );

    const errors: Error[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      errors.push(await rejectionOf(herald.send(notice)));
    }
    await herald.send(notice).catch(() => undefined);

    expect(logs.entries.length).toBeGreaterThan(5);
    expect(logs.text()).not.toContain(discord.webhookToken);
    for (const error of errors) {
      expect(error.message).not.toContain(discord.webhookToken);
      expect(String(error.cause ?? "")).not.toContain(discord.webhookToken);
    }
    expect(JSON.stringify(herald.state())).not.toContain(discord.webhookToken);
  });
});

describe("Herald configuration", () => {
  test("unconfigured herald sends nothing", async () => {
    const logs = captureLogs();
    const herald = createHerald({ apiBaseUrl: discord.apiBaseUrl, requestTimeoutMs: 1_000, logger: logs.logger });
    heralds.push(herald);

    await herald.send(notice);

    expect(herald.configured).toBe(false);
    expect(herald.state()).toEqual({ configured: false });
    expect(discord.requests).toHaveLength(0);
    expect(logs.entries.map((entry) => entry.msg)).toEqual([
      "Discord notifications are off because no webhook URL is configured",
    ]);
  });

  test("blank webhook URL means unconfigured", () => {
    const herald = createHerald({ webhookUrl: "  ", requestTimeoutMs: 1_000, logger: captureLogs().logger });
    heralds.push(herald);

    expect(herald.configured).toBe(false);
  });

  test("configured herald logs webhook id only", () => {
    const { herald, logs } = startHerald();

    expect(herald.configured).toBe(true);
    expect(herald.state()).toEqual({ configured: true });
    expect(logs.entries).toHaveLength(1);
    expect(logs.entries[0]).toMatchObject({ msg: "Discord notifications are on", webhookId: discord.webhookId });
    expect(logs.text()).not.toContain(discord.webhookToken);
  });

  test("invalid webhook URL rejected without token", () => {
    const create = () =>
      createHerald({
        webhookUrl: "https://discord.com/api/webhooks/not-an-id/secret-token-value",
        requestTimeoutMs: 1_000,
        logger: captureLogs().logger,
      });

    expect(create).toThrow("Invalid Discord webhook URL: expected https://discord.com/api/webhooks/<id>/<token>");
    expect(create).not.toThrow(/secret-token-value/);
  });

  test.each([
    ["My Discord Bot", 'Invalid Herald username "My Discord Bot": Discord rejects names that contain "discord"'],
    ["clyde", 'Invalid Herald username "clyde": Discord rejects names that contain "clyde"'],
    [" ", 'Invalid Herald username " ": expected 1 to 80 characters'],
    ["x".repeat(81), `Invalid Herald username "${"x".repeat(81)}": expected 1 to 80 characters`],
  ])("username %p rejected", (username, message) => {
    expect(() => startHerald({ username })).toThrow(message);
  });

  test.each([0, -5, 1.5, Number.NaN])("requestTimeoutMs %p rejected", (requestTimeoutMs) => {
    expect(() => startHerald({ requestTimeoutMs })).toThrow(RangeError);
  });
});

/** Returns a port on 127.0.0.1 that nothing listens on, by listening briefly and closing. */
async function findClosedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
