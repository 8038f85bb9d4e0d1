/**
 * A fake of Discord's Execute Webhook endpoint for tests, served over HTTP on 127.0.0.1 at a free
 * port. It records every request and can be scripted to fail the next ones.
 *
 * Usage with the real discord.js client:
 *
 *   const discord = await startFakeDiscord();
 *   const herald = createHerald({ webhookUrl: discord.webhookUrl, apiBaseUrl: discord.apiBaseUrl, ... });
 *   discord.respondWith(fakeResponses.rateLimited(0.2));   // the next request gets a 429
 *   await herald.send(notice);                              // discord.js waits, then retries
 *   expect(discord.deliveredRequests()).toHaveLength(1);
 *   await discord.close();
 *
 * Always pass `apiBaseUrl` (or the REST `api` option) as well as `webhookUrl`: discord.js sends to
 * its API base URL, which defaults to Discord itself.
 *
 * The fake serves POST /api/v<version>/webhooks/<id>/<token>, the route that discord.js 14
 * uses for WebhookClient.send and REST posts to Routes.webhook(). Unless a scripted response
 * applies, it responds like Discord:
 * - 200 with a message object when the query has wait=true, or 204 without a body otherwise;
 * - 404 Unknown Webhook (code 10015) for another webhook id, 401 Invalid Webhook Token
 *   (code 50027) for another token;
 * - 400 for a body that is not JSON (code 50109), an empty message (code 50006), or content or
 *   embeds over Discord's length limits (code 50035 Invalid Form Body, with the invalid fields);
 * - 404 or 405 with code 0 for other paths and methods.
 * Successful responses carry no X-RateLimit headers, so discord.js never throttles on its own.
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  /** Path without the query string, such as /api/v10/webhooks/<id>/<token>. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  body: unknown;
  /** Date.now() when the request arrived. */
  receivedAt: number;
  /** Status of the response; undefined while the request hangs or after the fake dropped it. */
  status?: number;
}

/** A scripted response to one request, built with `fakeResponses`. */
export type FakeResponse =
  | { kind: "rateLimit"; retryAfterSeconds: number; scope: "user" | "shared" | "global" }
  | { kind: "error"; status: number; body: unknown }
  | { kind: "hang" }
  | { kind: "disconnect" };

export const fakeResponses = {
  /**
   * Returns a 429 with Discord's body and headers. Scope "user" exhausts the route's bucket
   * (X-RateLimit-Remaining: 0 and X-RateLimit-Reset-After), "shared" limits the resource while
   * the bucket still has requests left, and "global" sets X-RateLimit-Global. Retry-After is
   * rounded up to whole seconds as in Discord's documented example; `retry_after` in the body
   * and X-RateLimit-Reset-After keep the exact value.
   */
  rateLimited(retryAfterSeconds = 0.2, scope: "user" | "shared" | "global" = "user"): FakeResponse {
    return { kind: "rateLimit", retryAfterSeconds, scope };
  },
  /** Returns a 5xx with the body Discord sends for an internal error. */
  serverError(status = 500): FakeResponse {
    return { kind: "error", status, body: { message: `${status}: Internal Server Error`, code: 0 } };
  },
  /** Returns 404 Unknown Webhook, as for a deleted webhook. */
  unknownWebhook(): FakeResponse {
    return { kind: "error", status: 404, body: { message: "Unknown Webhook", code: 10015 } };
  },
  /** Returns 401 Invalid Webhook Token, as for a regenerated token. */
  invalidWebhookToken(): FakeResponse {
    return { kind: "error", status: 401, body: { message: "Invalid Webhook Token", code: 50027 } };
  },
  /** Returns 400 Invalid Form Body that names the title of the first embed as too long. */
  invalidFormBody(): FakeResponse {
    return { kind: "error", status: 400, body: formBodyError([[["embeds", "0", "title"], lengthError(256)]]) };
  },
  /** Returns any status with any JSON body. */
  status(status: number, body: unknown): FakeResponse {
    return { kind: "error", status, body };
  },
  /** Returns a response that reads the request and never responds, until the client gives up or the fake closes. */
  hang(): FakeResponse {
    return { kind: "hang" };
  },
  /** Returns a response that closes the connection unanswered, which the client sees as a network error. */
  disconnect(): FakeResponse {
    return { kind: "disconnect" };
  },
};

export interface FakeDiscord {
  /** Value for HeraldOptions.apiBaseUrl or the REST `api` option: http://127.0.0.1:<port>/api. */
  readonly apiBaseUrl: string;
  /** The fake's webhook in Discord's URL form: <apiBaseUrl>/webhooks/<id>/<token>. */
  readonly webhookUrl: string;
  readonly webhookId: string;
  readonly webhookToken: string;
  /** Every request received, in order of arrival, whatever the response. */
  readonly requests: RecordedRequest[];
  /** Returns the requests that created a message, those with status 200 or 204. */
  deliveredRequests(): RecordedRequest[];
  /** Scripts the responses to the next requests to the webhook route, one each, in order. */
  respondWith(...responses: FakeResponse[]): void;
  /** Resolves once `count` requests in total have arrived; rejects after `timeoutMs`. */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  /** Stops the server and drops open connections, hanging requests included. */
  close(): Promise<void>;
}

export interface FakeDiscordOptions {
  /** Webhook id that the fake accepts; defaults to a fixed 19-digit snowflake. */
  webhookId?: string;
  /** Webhook token that the fake accepts; defaults to a random 68-character token. */
  webhookToken?: string;
}

const WEBHOOK_ROUTE = /^\/api\/v\d+\/webhooks\/([^/]+)\/([^/]+)\/?$/;
const CHANNEL_ID = "1200000000000000002";
const RATE_LIMIT_BUCKET = "fakewebhookbucket";

/** Discord's limits that the fake enforces, in characters, from Discord's "Embed Limits" table. */
const LIMITS = {
  content: 2000,
  embeds: 10,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footerText: 2048,
  authorName: 256,
  embedTotal: 6000,
};

/** Starts the fake on 127.0.0.1 at a port chosen by the system. */
export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const webhookId = options.webhookId ?? "1300000000000000001";
  const webhookToken = options.webhookToken ?? randomBytes(51).toString("base64url");
  const requests: RecordedRequest[] = [];
  const script: FakeResponse[] = [];
  const arrivals = new EventEmitter();
  let messageCount = 0;

  const server = createServer((request, response) => {
    void handle(request, response);
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const receivedAt = Date.now();
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const rawBody = await readBody(request);
    const record: RecordedRequest = {
      method: request.method ?? "",
      path: url.pathname,
      query: url.searchParams,
      headers: request.headers,
      rawBody,
      body: parseJson(rawBody),
      receivedAt,
    };
    requests.push(record);
    arrivals.emit("request");

    const route = WEBHOOK_ROUTE.exec(url.pathname);
    if (route === null) {
      respondJson(response, record, 404, { message: "404: Not Found", code: 0 });
      return;
    }
    if (record.method !== "POST") {
      respondJson(response, record, 405, { message: "405: Method Not Allowed", code: 0 });
      return;
    }

    const scripted = script.shift();
    if (scripted !== undefined) {
      answerScripted(scripted, response, record);
      return;
    }

    const [, id, token] = route;
    if (id !== webhookId) {
      respondJson(response, record, 404, { message: "Unknown Webhook", code: 10015 });
      return;
    }
    if (token !== webhookToken) {
      respondJson(response, record, 401, { message: "Invalid Webhook Token", code: 50027 });
      return;
    }

    if (!String(request.headers["content-type"] ?? "").startsWith("application/json") || record.body === undefined) {
      respondJson(response, record, 400, { message: "The request body contains invalid JSON.", code: 50109 });
      return;
    }
    const invalid = validateMessage(record.body);
    if (invalid !== undefined) {
      respondJson(response, record, 400, invalid);
      return;
    }

    if (url.searchParams.get("wait") !== "true") {
      record.status = 204;
      response.writeHead(204).end();
      return;
    }
    messageCount++;
    respondJson(response, record, 200, messageObject(record.body as Record<string, unknown>, webhookId, messageCount));
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const apiBaseUrl = `http://127.0.0.1:${port}/api`;

  return {
    apiBaseUrl,
    webhookUrl: `${apiBaseUrl}/webhooks/${webhookId}/${webhookToken}`,
    webhookId,
    webhookToken,
    requests,
    deliveredRequests: () => requests.filter((request) => request.status === 200 || request.status === 204),
    respondWith: (...responses) => {
      script.push(...responses);
    },
    waitForRequests: (count, timeoutMs = 5000) => waitFor(() => requests.length >= count, arrivals, timeoutMs, count),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

function answerScripted(scripted: FakeResponse, response: ServerResponse, record: RecordedRequest): void {
  switch (scripted.kind) {
    case "rateLimit":
      respondRateLimited(response, record, scripted.retryAfterSeconds, scripted.scope);
      return;
    case "error":
      respondJson(response, record, scripted.status, scripted.body);
      return;
    case "hang":
      return;
    case "disconnect":
      response.socket?.destroy();
      return;
  }
}

function respondRateLimited(
  response: ServerResponse,
  record: RecordedRequest,
  retryAfterSeconds: number,
  scope: "user" | "shared" | "global",
): void {
  const headers: Record<string, string> = {
    "Retry-After": String(Math.ceil(retryAfterSeconds)),
    "X-RateLimit-Scope": scope,
  };
  if (scope === "global") {
    headers["X-RateLimit-Global"] = "true";
  } else {
    headers["X-RateLimit-Limit"] = "5";
    headers["X-RateLimit-Remaining"] = scope === "user" ? "0" : "4";
    headers["X-RateLimit-Reset"] = (Date.now() / 1000 + retryAfterSeconds).toFixed(3);
    headers["X-RateLimit-Reset-After"] = retryAfterSeconds.toFixed(3);
    headers["X-RateLimit-Bucket"] = RATE_LIMIT_BUCKET;
  }

  const message = scope === "shared" ? "The resource is being rate limited." : "You are being rate limited.";
  respondJson(response, record, 429, { message, retry_after: retryAfterSeconds, global: scope === "global" }, headers);
}

function respondJson(
  response: ServerResponse,
  record: RecordedRequest,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  record.status = status;
  response.writeHead(status, { ...headers, "Content-Type": "application/json" });
  response.end(JSON.stringify(body));
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function waitFor(condition: () => boolean, arrivals: EventEmitter, timeoutMs: number, count: number): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onArrival = () => {
      if (!condition()) return;
      clearTimeout(timer);
      arrivals.off("request", onArrival);
      resolve();
    };
    const timer = setTimeout(() => {
      arrivals.off("request", onArrival);
      reject(new Error(`Fake Discord received fewer than ${count} requests within ${timeoutMs} ms`));
    }, timeoutMs);
    arrivals.on("request", onArrival);
  });
}

function messageObject(body: Record<string, unknown>, webhookId: string, sequence: number): Record<string, unknown> {
  const username = typeof body.username === "string" ? body.username : "Fake webhook";
  return {
    id: String(1400000000000000000n + BigInt(sequence)),
    type: 0,
    channel_id: CHANNEL_ID,
    webhook_id: webhookId,
    author: { id: webhookId, username, avatar: null, discriminator: "0000", bot: true },
    content: typeof body.content === "string" ? body.content : "",
    embeds: Array.isArray(body.embeds) ? body.embeds.map((embed: object) => ({ type: "rich", ...embed })) : [],
    attachments: [],
    components: [],
    mentions: [],
    mention_roles: [],
    mention_everyone: false,
    pinned: false,
    tts: false,
    flags: 0,
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
  };
}

type ErrorPath = string[];
type FieldError = { code: string; message: string };

function lengthError(max: number): FieldError {
  return { code: "BASE_TYPE_MAX_LENGTH", message: `Must be ${max} or fewer in length.` };
}

/** Builds Discord's 50035 body, which nests each error under its path in the request body. */
function formBodyError(errors: [ErrorPath, FieldError][]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [path, error] of errors) {
    let node = root;
    for (const key of path) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node._errors = [...((node._errors as FieldError[] | undefined) ?? []), error];
  }
  return { message: "Invalid Form Body", code: 50035, errors: root };
}

/**
 * Checks the message against Discord's limits and returns Discord's error body, or undefined
 * when the message is valid.
 *
 * NOTE: lengths are counted in code points, which is assumed and not confirmed to be how Discord
 * counts, and the codes inside the errors object are approximations of Discord's. Only the text
 * limits are checked, not URLs, colours or timestamps.
 */
function validateMessage(body: unknown): Record<string, unknown> | undefined {
  if (typeof body !== "object" || body === null) {
    return { message: "Cannot send an empty message", code: 50006 };
  }
  const message = body as { content?: unknown; embeds?: unknown };
  const content = typeof message.content === "string" ? message.content : "";
  const embeds = Array.isArray(message.embeds) ? (message.embeds as Record<string, unknown>[]) : [];
  if (content === "" && embeds.length === 0) {
    return { message: "Cannot send an empty message", code: 50006 };
  }

  const errors: [ErrorPath, FieldError][] = [];
  const check = (path: ErrorPath, text: unknown, max: number): number => {
    if (typeof text !== "string") return 0;
    const length = [...text].length;
    if (length > max) errors.push([path, lengthError(max)]);
    return length;
  };

  check(["content"], content, LIMITS.content);
  if (embeds.length > LIMITS.embeds) errors.push([["embeds"], lengthError(LIMITS.embeds)]);

  let total = 0;
  embeds.forEach((embed, index) => {
    const at = (...keys: string[]) => ["embeds", String(index), ...keys];
    total += check(at("title"), embed.title, LIMITS.title);
    total += check(at("description"), embed.description, LIMITS.description);
    total += check(at("footer", "text"), (embed.footer as { text?: unknown } | undefined)?.text, LIMITS.footerText);
    total += check(at("author", "name"), (embed.author as { name?: unknown } | undefined)?.name, LIMITS.authorName);

    const fields = Array.isArray(embed.fields) ? (embed.fields as { name?: unknown; value?: unknown }[]) : [];
    if (fields.length > LIMITS.fields) errors.push([at("fields"), lengthError(LIMITS.fields)]);
    fields.forEach((field, fieldIndex) => {
      const fieldAt = (key: string) => at("fields", String(fieldIndex), key);
      if (field.name === "" || field.value === "") {
        errors.push([fieldAt(field.name === "" ? "name" : "value"), { code: "BASE_TYPE_REQUIRED", message: "This field is required" }]);
      }
      total += check(fieldAt("name"), field.name, LIMITS.fieldName);
      total += check(fieldAt("value"), field.value, LIMITS.fieldValue);
    });
  });
  if (total > LIMITS.embedTotal) {
    errors.push([["embeds"], { code: "MAX_EMBED_SIZE_EXCEEDED", message: "Embed size exceeds maximum size of 6000" }]);
  }

  return errors.length === 0 ? undefined : formBodyError(errors);
}
