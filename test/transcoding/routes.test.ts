import { createRegistry } from "@bufbuild/protobuf";
import { createConnectRouter } from "@connectrpc/connect";
import { CoordinatorJobsService } from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { createTranscoder } from "../../src/transcoding";
import { findRoute, servedPathPrefixes } from "../../src/transcoding/route-lookup";
import { buildRoutes } from "../../src/transcoding/routes";
import { buildMessagingRegistry, rule, rules } from "./messaging-fixture";

function messagingService(rulesByMethod: Parameters<typeof buildMessagingRegistry>[0]) {
  return buildMessagingRegistry(rulesByMethod).getService("test.messaging.v1.Messaging")!;
}

describe("buildRoutes", () => {
  test("one route per binding, most specific first", () => {
    const routes = buildRoutes([messagingService(rules)]);

    expect(routes.map((route) => `${route.httpMethod} ${route.template.source}`)).toEqual([
      "POST /v1/{name=messages/*}:cancel",
      "GET /v1/users/{user_id}/messages/{message_id}",
      "GET /v1/messages/{message_id}/{sub.subfield}",
      "GET /v1/messages/{message_id}",
      "GET /v1/{name=messages/*}",
      "PATCH /v1/messages/{message_id}",
      "GET /v1/texts/{message_id}",
      "GET /v1/revisions/{message_id}",
      "GET /v1/files/{name=**}",
    ]);
  });

  test("body and response_body resolve to fields", () => {
    const routes = buildRoutes([messagingService(rules)]);
    const update = routes.find((route) => route.method.name === "UpdateMessage")!;
    const text = routes.find((route) => route.method.name === "GetText")!;
    const cancel = routes.find((route) => route.method.name === "CancelMessage")!;

    expect(update.body).toMatchObject({ kind: "field", field: { name: "message" } });
    expect(text.responseBody?.name).toBe("text");
    expect(cancel.body).toEqual({ kind: "whole" });
    expect(text.body).toEqual({ kind: "none" });
  });

  test("nested path field resolves to a chain", () => {
    const routes = buildRoutes([messagingService(rules)]);
    const sub = routes.find((route) => route.method.name === "GetSubMessage")!;

    expect(sub.pathFields.map((chain) => chain.map((field) => field.name))).toEqual([["message_id"], ["sub", "subfield"]]);
  });

  test("custom pattern with any method", () => {
    const routes = buildRoutes([
      messagingService({ GetMessage: rule({ pattern: { case: "custom", value: { kind: "*", path: "/v1/any/{message_id}" } } }) }),
    ]);

    expect(routes[0].httpMethod).toBe("*");
    expect(findRoute(routes, "DELETE", "/v1/any/1").kind).toBe("matched");
  });

  test("custom pattern kind is upper-cased", () => {
    const routes = buildRoutes([
      messagingService({ GetMessage: rule({ pattern: { case: "custom", value: { kind: "search", path: "/v1/search" } } }) }),
    ]);

    expect(routes[0].httpMethod).toBe("SEARCH");
  });

  test("coordinator service has two bindings per method", () => {
    const routes = buildRoutes([CoordinatorJobsService]);

    expect(routes).toHaveLength(2 * CoordinatorJobsService.methods.length);
  });

  test.each([
    [
      "missing path field",
      { GetMessage: rule({ pattern: { case: "get", value: "/v1/{missing}" } }) },
      'test.messaging.v1.Messaging.GetMessage: path template "/v1/{missing}" binds "missing", but the request message has no field "missing" there',
    ],
    [
      "path field below a scalar",
      { GetMessage: rule({ pattern: { case: "get", value: "/v1/{message_id.part}" } }) },
      'test.messaging.v1.Messaging.GetMessage: path template "/v1/{message_id.part}" binds "message_id.part", but the request message has no field "part" there',
    ],
    [
      "path field that is a message",
      { GetMessage: rule({ pattern: { case: "get", value: "/v1/{sub}" } }) },
      'test.messaging.v1.Messaging.GetMessage: path template "/v1/{sub}" binds "sub", which is a message field; path variables must bind singular scalar or enum fields',
    ],
    [
      "path field that is repeated",
      { GetMessage: rule({ pattern: { case: "get", value: "/v1/{tags}" } }) },
      'test.messaging.v1.Messaging.GetMessage: path template "/v1/{tags}" binds "tags", which is a list field; path variables must bind singular scalar or enum fields',
    ],
    [
      "path field by JSON name",
      { GetMessage: rule({ pattern: { case: "get", value: "/v1/{messageId}" } }) },
      'test.messaging.v1.Messaging.GetMessage: path template "/v1/{messageId}" binds "messageId", but the request message has no field "messageId" there',
    ],
    [
      "missing body field",
      { UpdateMessage: rule({ pattern: { case: "patch", value: "/v1/m/{message_id}" }, body: "nope" }) },
      'test.messaging.v1.Messaging.UpdateMessage: body "nope" is not a field of test.messaging.v1.UpdateMessageRequest',
    ],
    [
      "missing response_body field",
      { GetText: rule({ pattern: { case: "get", value: "/v1/t" }, responseBody: "nope" }) },
      'test.messaging.v1.Messaging.GetText: response_body "nope" is not a field of test.messaging.v1.Message',
    ],
    [
      "streaming method",
      { WatchMessages: rule({ pattern: { case: "get", value: "/v1/watch" } }) },
      "test.messaging.v1.Messaging.WatchMessages: only unary methods can have a google.api.http option",
    ],
    [
      "rule without pattern",
      { GetMessage: rule({ body: "*" }) },
      "test.messaging.v1.Messaging.GetMessage: google.api.http rule has no HTTP method and path",
    ],
    [
      "nested additional bindings",
      {
        GetMessage: rule({
          pattern: { case: "get", value: "/v1/a" },
          additionalBindings: [
            rule({
              pattern: { case: "get", value: "/v1/b" },
              additionalBindings: [rule({ pattern: { case: "get", value: "/v1/c" } })],
            }),
          ],
        }),
      },
      "test.messaging.v1.Messaging.GetMessage: additional_bindings must not contain additional_bindings",
    ],
    [
      "invalid template",
      { GetMessage: rule({ pattern: { case: "get", value: "/v1/**/x" } }) },
      'invalid path template "/v1/**/x": "**" must be the last segment',
    ],
  ])("rejects %s", (_, rulesByMethod, message) => {
    expect(() => buildRoutes([messagingService(rulesByMethod)])).toThrow(new Error(message));
  });
});

describe("findRoute", () => {
  const routes = buildRoutes([CoordinatorJobsService]);

  test("matches method and path", () => {
    const lookup = findRoute(routes, "PATCH", "/coordinator/jobs/7/status");

    expect(lookup).toMatchObject({ kind: "matched", route: { method: { name: "UpdateJobStatus" } } });
  });

  test("HEAD falls back to GET", () => {
    const lookup = findRoute(routes, "HEAD", "/coordinator/jobs/7");

    expect(lookup).toMatchObject({ kind: "matched", route: { method: { name: "GetJob" } } });
  });

  test("wrong method lists allowed methods", () => {
    expect(findRoute(routes, "DELETE", "/coordinator/jobs/7")).toEqual({
      kind: "methodNotAllowed",
      allowedMethods: ["GET", "HEAD"],
    });
  });

  test("unknown path is not found", () => {
    expect(findRoute(routes, "GET", "/coordinator/jobs/7/steps")).toEqual({ kind: "notFound" });
  });
});

describe("servedPathPrefixes", () => {
  test("coordinator prefixes", () => {
    expect(servedPathPrefixes(buildRoutes([CoordinatorJobsService]))).toEqual(["/coordinator", "/api/coordinator"]);
  });

  test("http.proto example prefixes", () => {
    expect(servedPathPrefixes(buildRoutes([messagingService(rules)]))).toEqual(["/v1"]);
  });

  test("single literal segment claims itself", () => {
    const routes = buildRoutes([messagingService({ GetMessage: rule({ pattern: { case: "get", value: "/health" } }) })]);

    expect(servedPathPrefixes(routes)).toEqual(["/health"]);
  });

  test("template starting with variable claims everything", () => {
    const routes = buildRoutes([messagingService({ GetFile: rule({ pattern: { case: "get", value: "/{name=**}" } }) })]);

    expect(servedPathPrefixes(routes)).toEqual(["/"]);
  });
});

describe("createTranscoder", () => {
  test("rejects annotated method without handler", () => {
    const router = createConnectRouter();

    expect(() =>
      createTranscoder({ services: [CoordinatorJobsService], handlers: router.handlers, registry: createRegistry(), maxBodyBytes: 1 }),
    ).toThrow(
      new Error(
        "no handler for coordinator.v1.CoordinatorJobsService.CreateJob; register the service on the router before creating the transcoder",
      ),
    );
  });

  test.each([-1, 1.5, Number.NaN])("rejects maxBodyBytes %p", (maxBodyBytes) => {
    const router = createConnectRouter().service(CoordinatorJobsService, {});

    expect(() =>
      createTranscoder({ services: [CoordinatorJobsService], handlers: router.handlers, registry: createRegistry(), maxBodyBytes }),
    ).toThrow(new Error(`maxBodyBytes must be a non-negative integer, got ${maxBodyBytes}`));
  });
});
