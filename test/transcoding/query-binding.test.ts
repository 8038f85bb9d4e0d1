import { createRegistry, fromJson, toJson, type JsonObject } from "@bufbuild/protobuf";
import { file_google_rpc_error_details } from "../../gen/es/google/rpc/error_details_pb";
import { bindQueryParameters } from "../../src/transcoding/query-binding";
import { buildRoutes, type TranscodingRoute } from "../../src/transcoding/routes";
import { buildErrorResponse, TranscodingError } from "../../src/transcoding/status";
import { GetMessageRequestSchema, messagingRegistry, MessagingService } from "./messaging-fixture";

const registry = createRegistry(messagingRegistry, file_google_rpc_error_details);
const routes = buildRoutes([MessagingService]);

function routeFor(template: string): TranscodingRoute {
  const route = routes.find((candidate) => candidate.template.source === template);
  if (route === undefined) {
    throw new Error(`no route with template ${template}`);
  }
  return route;
}

const getMessage = routeFor("/v1/messages/{message_id}");

function bind(query: string, route: TranscodingRoute = getMessage): JsonObject {
  const target: JsonObject = {};
  bindQueryParameters(route, new URLSearchParams(query), target, registry);
  return target;
}

/** Binds and returns the thrown error as google.rpc.Status JSON. */
function bindError(query: string, route: TranscodingRoute = getMessage) {
  try {
    bind(query, route);
  } catch (error) {
    expect(error).toBeInstanceOf(TranscodingError);
    return buildErrorResponse(error as TranscodingError, registry, () => undefined);
  }
  throw new Error(`binding "${query}" did not fail`);
}

describe("bindQueryParameters", () => {
  test("scalars by proto name", () => {
    const json = bind("revision=42&include_deleted=true&ratio=0.5&user_id=me");

    expect(json).toEqual({ revision: "42", includeDeleted: true, ratio: "0.5", userId: "me" });
    expect(toJson(GetMessageRequestSchema, fromJson(GetMessageRequestSchema, json))).toEqual({
      revision: "42",
      includeDeleted: true,
      ratio: 0.5,
      userId: "me",
    });
  });

  test("scalars by JSON name", () => {
    expect(bind("includeDeleted=false&userId=you")).toEqual({ includeDeleted: false, userId: "you" });
  });

  test("repeated scalar from repeated parameter", () => {
    expect(bind("tags=a&tags=b&tags=c")).toEqual({ tags: ["a", "b", "c"] });
  });

  test("repeated field with one value is a list", () => {
    expect(bind("tags=only")).toEqual({ tags: ["only"] });
  });

  test("nested field by dotted path", () => {
    expect(bind("sub.subfield=foo&sub.count=3")).toEqual({ sub: { subfield: "foo", count: "3" } });
  });

  test("nested field mixing name forms", () => {
    expect(bind("sub.subfield=foo&includeDeleted=true")).toEqual({ sub: { subfield: "foo" }, includeDeleted: true });
  });

  test("enum by name and by number", () => {
    expect(bind("color=COLOR_BLUE")).toEqual({ color: "COLOR_BLUE" });
    expect(bind("color=1")).toEqual({ color: 1 });
    expect(bind("colors=COLOR_RED&colors=2")).toEqual({ colors: ["COLOR_RED", 2] });

    const decoded = fromJson(GetMessageRequestSchema, bind("colors=COLOR_RED&colors=2"));
    expect(toJson(GetMessageRequestSchema, decoded)).toEqual({ colors: ["COLOR_RED", "COLOR_BLUE"] });
  });

  test("timestamp from RFC 3339 text", () => {
    expect(bind("since=2024-05-01T10:00:00Z")).toEqual({ since: "2024-05-01T10:00:00Z" });
  });

  test("percent-encoded and plus-encoded values", () => {
    expect(bind("user_id=a%26b+c%3D")).toEqual({ userId: "a&b c=" });
  });

  test("empty query binds nothing", () => {
    expect(bind("")).toEqual({});
  });

  test("unknown parameter names it", () => {
    const response = bindError("revision=1&colour=red");

    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      code: 3,
      message:
        'unknown query parameter "colour"; GET /v1/messages/{message_id} accepts revision, sub.*, tags, color, ' +
        "include_deleted, colors, since, subs.*, name, user_id, ratio",
      details: [
        {
          "@type": "type.googleapis.com/google.rpc.BadRequest",
          fieldViolations: [{ field: "colour", description: "the request message has no such field" }],
        },
      ],
    });
  });

  test("several unknown parameters are all named", () => {
    const response = bindError("a=1&b.c=2");

    expect(response.body.message).toMatch(/^unknown query parameters "a", "b.c"; /);
  });

  test("unknown nested field", () => {
    expect(bindError("sub.missing=1").body.message).toMatch(/^unknown query parameter "sub.missing"; /);
  });

  test.each([
    ["revision=abc", 'invalid query parameter "revision": expected an integer, got "abc"'],
    ["revision=1.5", 'invalid query parameter "revision": expected an integer, got "1.5"'],
    [
      "revision=99999999999999999999",
      'invalid query parameter "revision": expected bigint (int64): 99999999999999999999 out of range',
    ],
    ["sub.count=4294967296", 'invalid query parameter "sub.count": expected number (int32): 4294967296 out of range'],
    ["ratio=fast", 'invalid query parameter "ratio": expected number (float64), got "fast"'],
    ["include_deleted=yes", 'invalid query parameter "include_deleted": expected true or false, got "yes"'],
    [
      "color=PURPLE",
      'invalid query parameter "color": "PURPLE" is not a value of enum test.messaging.v1.Color; ' +
        "use a name such as COLOR_UNSPECIFIED, COLOR_RED, COLOR_BLUE or an int32 number",
    ],
    [
      "since=yesterday",
      'invalid query parameter "since": cannot decode message google.protobuf.Timestamp from JSON: invalid RFC 3339 string',
    ],
    ["revision=1&revision=2", 'invalid query parameter "revision": the field is not repeated, but the parameter is given 2 times'],
    ["revision=1&revision=1", 'invalid query parameter "revision": the field is not repeated, but the parameter is given 2 times'],
    ["user_id=a&userId=b", 'invalid query parameter "userId": it sets the same field as "user_id"'],
    ["sub=x", 'invalid query parameter "sub": sub is a message; set its fields instead, for example "sub.subfield"'],
    ["labels=x", 'invalid query parameter "labels": map fields cannot be set by query parameters'],
    ["subs.subfield=x", 'invalid query parameter "subs.subfield": fields inside repeated or map fields cannot be set by query parameters'],
    ["message_id=other", 'invalid query parameter "message_id": field "message_id" is bound by the URL path'],
    ["messageId=other", 'invalid query parameter "messageId": field "message_id" is bound by the URL path'],
  ])("rejects %s", (query, message) => {
    const response = bindError(query);

    expect(response.status).toBe(400);
    expect(response.body.code).toBe(3);
    expect(response.body.message).toBe(message);
  });

  test("value error carries field violation", () => {
    const response = bindError("revision=abc");

    expect(response.body.details).toEqual([
      {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        fieldViolations: [{ field: "revision", description: 'expected an integer, got "abc"' }],
      },
    ]);
  });

  test("nested field under a path-bound parent is rejected", () => {
    const route = routeFor("/v1/messages/{message_id}/{sub.subfield}");

    expect(bindError("sub.subfield=x", route).body.message).toBe(
      'invalid query parameter "sub.subfield": field "sub.subfield" is bound by the URL path',
    );
    expect(bind("sub.count=2", route)).toEqual({ sub: { count: "2" } });
  });

  test("body field cannot be set by query", () => {
    const route = routeFor("/v1/messages/{message_id}");
    const update = routes.find((candidate) => candidate.method.name === "UpdateMessage")!;

    expect(route.method.name).toBe("GetMessage");
    expect(bindError("message.text=hi", update).body.message).toBe(
      'invalid query parameter "message.text": field "message" is bound by the request body',
    );
  });

  test("whole-body route rejects any parameter", () => {
    const cancel = routeFor("/v1/{name=messages/*}:cancel");

    expect(bindError("revision=1&x=2", cancel).body.message).toBe(
      'POST /v1/{name=messages/*}:cancel takes the whole request in the body, so query parameters are not allowed; ' +
        'move "revision", "x" into the JSON body',
    );
  });

  test("whole-body route accepts empty query", () => {
    const cancel = routeFor("/v1/{name=messages/*}:cancel");

    expect(bind("", cancel)).toEqual({});
  });
});
