import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { create, createRegistry, toJson, type DescMethod, type Message } from "@bufbuild/protobuf";
import { createConnectRouter } from "@connectrpc/connect";
import { file_google_rpc_error_details } from "../../gen/es/google/rpc/error_details_pb";
import { createTranscoder } from "../../src/transcoding";
import { send, sendJson } from "./http-client";
import { MessageSchema, messagingRegistry, MessagingService } from "./messaging-fixture";

/**
 * Each Messaging method responds with a Message whose `name` is the method name,
 * whose `text` is the request it received as proto3 JSON, and whose `revision`
 * repeats the request's revision.
 */
let server: http.Server;
let baseUrl: string;

beforeAll(async () => {
  const router = createConnectRouter();
  for (const method of MessagingService.methods.filter((candidate) => candidate.methodKind === "unary")) {
    router.rpc(method as DescMethod & { methodKind: "unary" }, async (request: Message) => {
      const received = toJson(method.input, request);
      const revision = (request as Message & { revision?: bigint }).revision ?? 0n;
      return create(MessageSchema, { name: method.name, text: JSON.stringify(received), revision });
    });
  }
  const transcoder = createTranscoder({
    services: [MessagingService],
    handlers: router.handlers,
    registry: createRegistry(messagingRegistry, file_google_rpc_error_details),
    maxBodyBytes: 4096,
  });
  server = http.createServer((request, response) => {
    void transcoder.handle(request, response).then((handled) => {
      if (!handled) {
        response.writeHead(418);
        response.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Returns the method name and the request that the handler received. */
async function call(method: string, path: string, body?: unknown) {
  const response = body === undefined ? await send(baseUrl, path, { method }) : await sendJson(baseUrl, method, path, body);
  expect(response.status).toBe(200);
  const message = response.json as { name: string; text: string };
  return { method: message.name, request: JSON.parse(message.text) as unknown };
}

describe("http.proto example routes", () => {
  test("GET with query parameters and nested field", async () => {
    expect(await call("GET", "/v1/messages/123456?revision=2&sub.subfield=foo")).toEqual({
      method: "GetMessage",
      request: { messageId: "123456", revision: "2", sub: { subfield: "foo" } },
    });
  });

  test("additional binding with user_id", async () => {
    expect(await call("GET", "/v1/users/me/messages/123456")).toEqual({
      method: "GetMessage",
      request: { userId: "me", messageId: "123456" },
    });
  });

  test("nested field bound by path", async () => {
    expect(await call("GET", "/v1/messages/123456/foo")).toEqual({
      method: "GetSubMessage",
      request: { messageId: "123456", sub: { subfield: "foo" } },
    });
  });

  test("equal specificity keeps declaration order", async () => {
    const result = await call("GET", "/v1/messages/42");

    expect(result.method).toBe("GetMessage");
  });

  test("body field maps to one request field", async () => {
    expect(await call("PATCH", "/v1/messages/123456", { text: "Hi!" })).toEqual({
      method: "UpdateMessage",
      request: { messageId: "123456", message: { text: "Hi!" } },
    });
  });

  test("query cannot override path field", async () => {
    const response = await sendJson(baseUrl, "PATCH", "/v1/messages/1?message_id=2", { text: "Hi!" });

    expect(response.status).toBe(400);
    expect((response.json as { message: string }).message).toBe(
      'invalid query parameter "message_id": field "message_id" is bound by the URL path',
    );
  });

  test("custom verb with multi-segment variable", async () => {
    expect(await call("POST", "/v1/messages/7:cancel", { revision: "3" })).toEqual({
      method: "CancelMessage",
      request: { name: "messages/7", revision: "3" },
    });
  });

  test("verb path without verb goes elsewhere", async () => {
    const result = await call("GET", "/v1/messages/7");

    expect(result.method).toBe("GetMessage");
  });

  test("deep wildcard keeps %2F encoded", async () => {
    expect(await call("GET", "/v1/files/docs/a%2Fb%20c.txt")).toEqual({
      method: "GetFile",
      request: { name: "docs/a%2Fb c.txt" },
    });
  });

  test("response_body sends one field", async () => {
    const response = await send(baseUrl, "/v1/texts/9?revision=4");

    expect(response.status).toBe(200);
    expect(response.json).toBe(JSON.stringify({ messageId: "9", revision: "4" }));
  });

  test("response_body of default int64 is its default", async () => {
    const withValue = await send(baseUrl, "/v1/revisions/9?revision=12");
    const withDefault = await send(baseUrl, "/v1/revisions/9");

    expect(withValue.text).toBe('"12"');
    expect(withDefault.text).toBe('"0"');
  });

  test("unknown path under prefix is 404", async () => {
    const response = await send(baseUrl, "/v1/unknown");

    expect(response.status).toBe(404);
  });

  test("path outside prefix falls through", async () => {
    const response = await send(baseUrl, "/v2/messages/1");

    expect(response.status).toBe(418);
  });
});
