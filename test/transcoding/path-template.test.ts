import { parsePathTemplate } from "../../src/transcoding/path-template";
import {
  compareTemplateSpecificity,
  decodePathVariables,
  matchPathTemplate,
  normalizePath,
  PathDecodingError,
} from "../../src/transcoding/path-matcher";

/** Matches and decodes, returning each variable as "field.path" → value, or undefined when the path does not match. */
function bindings(template: string, path: string): Record<string, string> | undefined {
  const match = matchPathTemplate(parsePathTemplate(template), path);
  if (match === undefined) {
    return undefined;
  }
  return Object.fromEntries(decodePathVariables(match).map(({ fieldPath, value }) => [fieldPath.join("."), value]));
}

describe("parsePathTemplate", () => {
  test("literal segments and simple variable", () => {
    const template = parsePathTemplate("/v1/messages/{message_id}");

    expect(template.segments).toEqual([
      { kind: "literal", value: "v1" },
      { kind: "literal", value: "messages" },
      { kind: "wildcard" },
    ]);
    expect(template.variables).toEqual([{ fieldPath: ["message_id"], start: 2, end: 3, singleSegment: true }]);
    expect(template.verb).toBeUndefined();
  });

  test("variable with multi-segment pattern", () => {
    const template = parsePathTemplate("/v1/{name=messages/*}");

    expect(template.segments).toEqual([
      { kind: "literal", value: "v1" },
      { kind: "literal", value: "messages" },
      { kind: "wildcard" },
    ]);
    expect(template.variables).toEqual([{ fieldPath: ["name"], start: 1, end: 3, singleSegment: false }]);
  });

  test("nested field path", () => {
    const template = parsePathTemplate("/v1/messages/{message_id}/{sub.subfield}");

    expect(template.variables.map((variable) => variable.fieldPath)).toEqual([["message_id"], ["sub", "subfield"]]);
  });

  test("custom verb after variable", () => {
    const template = parsePathTemplate("/v1/{name=messages/*}:cancel");

    expect(template.verb).toBe("cancel");
    expect(template.segments).toHaveLength(3);
  });

  test("deep wildcard as last segment", () => {
    const template = parsePathTemplate("/v1/files/{path=**}");

    expect(template.segments[2]).toEqual({ kind: "deepWildcard" });
    expect(template.variables[0].singleSegment).toBe(false);
  });

  test("bare wildcards outside variables", () => {
    const template = parsePathTemplate("/v1/*/items/**");

    expect(template.segments.map((segment) => segment.kind)).toEqual([
      "literal",
      "wildcard",
      "literal",
      "deepWildcard",
    ]);
    expect(template.variables).toEqual([]);
  });

  test.each([
    ["v1/messages", 'invalid path template "v1/messages": expected "/" at position 0'],
    ["/v1//messages", 'invalid path template "/v1//messages": expected a segment at position 4'],
    ["/v1/{name=messages/{id}}", 'invalid path template "/v1/{name=messages/{id}}": variables must not be nested at position 19'],
    ["/v1/{name", 'invalid path template "/v1/{name": missing "}" at position 5'],
    ["/v1/{na-me}", 'invalid path template "/v1/{na-me}": invalid field path "na-me" at position 5'],
    ["/v1/{a.}", 'invalid path template "/v1/{a.}": invalid field path "a." at position 5'],
    ["/v1/**/tail", 'invalid path template "/v1/**/tail": "**" must be the last segment'],
    ["/v1/{id}/{id}", 'invalid path template "/v1/{id}/{id}": field "id" is bound twice'],
    ["/v1/a*b", 'invalid path template "/v1/a*b": "*" must be a whole segment at position 5'],
    ["/v1/a:", 'invalid path template "/v1/a:": expected a segment at position 6'],
    ["/v1/a:b/c", 'invalid path template "/v1/a:b/c": unexpected "/" at position 7'],
    ["/", 'invalid path template "/": expected a segment at position 1'],
  ])("rejects %s", (source, message) => {
    expect(() => parsePathTemplate(source)).toThrow(new Error(message));
  });
});

describe("matchPathTemplate", () => {
  test("http.proto example: name=messages/*", () => {
    expect(bindings("/v1/{name=messages/*}", "/v1/messages/123456")).toEqual({ name: "messages/123456" });
    expect(bindings("/v1/{name=messages/*}", "/v1/users/123456")).toBeUndefined();
    expect(bindings("/v1/{name=messages/*}", "/v1/messages/1/2")).toBeUndefined();
  });

  test("http.proto example: message_id", () => {
    expect(bindings("/v1/messages/{message_id}", "/v1/messages/123456")).toEqual({ message_id: "123456" });
  });

  test("http.proto example: additional binding with two variables", () => {
    expect(bindings("/v1/users/{user_id}/messages/{message_id}", "/v1/users/me/messages/123456")).toEqual({
      user_id: "me",
      message_id: "123456",
    });
  });

  test("http.proto example: nested field", () => {
    expect(bindings("/v1/messages/{message_id}/{sub.subfield}", "/v1/messages/123456/foo")).toEqual({
      message_id: "123456",
      "sub.subfield": "foo",
    });
  });

  test("custom verb", () => {
    const template = "/v1/{name=messages/*}:cancel";

    expect(bindings(template, "/v1/messages/7:cancel")).toEqual({ name: "messages/7" });
    expect(bindings(template, "/v1/messages/7")).toBeUndefined();
    expect(bindings(template, "/v1/messages/7:undelete")).toBeUndefined();
    expect(bindings(template, "/v1/messages/7%3Acancel")).toBeUndefined();
  });

  test("colon without verb stays in value", () => {
    expect(bindings("/v1/messages/{message_id}", "/v1/messages/a:b")).toEqual({ message_id: "a:b" });
  });

  test("deep wildcard matches zero or more segments", () => {
    const template = "/v1/files/{path=**}";

    expect(bindings(template, "/v1/files/a/b/c.txt")).toEqual({ path: "a/b/c.txt" });
    expect(bindings(template, "/v1/files/a")).toEqual({ path: "a" });
    expect(bindings(template, "/v1/files")).toEqual({ path: "" });
  });

  test("deep wildcard after literal prefix inside variable", () => {
    expect(bindings("/v1/{name=shelves/*/books/**}", "/v1/shelves/s1/books/b1/pages/2")).toEqual({
      name: "shelves/s1/books/b1/pages/2",
    });
    expect(bindings("/v1/{name=shelves/*/books/**}", "/v1/shelves/s1/notes/n1")).toBeUndefined();
  });

  test("wildcard rejects empty segment", () => {
    expect(bindings("/v1/messages/{message_id}", "/v1/messages/")).toBeUndefined();
    expect(bindings("/v1/messages/{message_id}", "/v1/messages")).toBeUndefined();
  });

  test("extra or missing segments do not match", () => {
    expect(bindings("/v1/messages", "/v1/messages/1")).toBeUndefined();
    expect(bindings("/v1/messages/{id}", "/v1/messages/1/extra")).toBeUndefined();
    expect(bindings("/v1/messages", "v1/messages")).toBeUndefined();
  });

  test("encoded unreserved characters match literals", () => {
    expect(bindings("/v1/messages/{id}", "/v1/%6Dessages/1")).toEqual({ id: "1" });
    expect(normalizePath("/a%2Fb/%7E%41%2f")).toBe("/a%2Fb/~A%2f");
  });
});

describe("decodePathVariables", () => {
  test("single segment decodes %2F to slash", () => {
    expect(bindings("/v1/messages/{message_id}", "/v1/messages/a%2Fb")).toEqual({ message_id: "a/b" });
  });

  test("%2F never separates segments", () => {
    expect(bindings("/v1/messages/{message_id}/{sub.subfield}", "/v1/messages/a%2Fb")).toBeUndefined();
  });

  test("single segment decodes reserved and UTF-8", () => {
    expect(bindings("/v1/messages/{message_id}", "/v1/messages/a%20b%3F%23%C3%A9+")).toEqual({
      message_id: "a b?#é+",
    });
  });

  test("multi segment keeps %2F encoded", () => {
    expect(bindings("/v1/{name=messages/*}", "/v1/messages/a%2Fb%2fc")).toEqual({ name: "messages/a%2Fb%2fc" });
    expect(bindings("/v1/files/{path=**}", "/v1/files/dir/a%2Fb")).toEqual({ path: "dir/a%2Fb" });
  });

  test("multi segment decodes other escapes", () => {
    expect(bindings("/v1/files/{path=**}", "/v1/files/my%20dir/%3F%C3%A9")).toEqual({ path: "my dir/?é" });
  });

  test.each([
    ["/v1/messages/%E0%A4%A", "%E0%A4%A"],
    ["/v1/messages/%FF", "%FF"],
    ["/v1/messages/100%", "100%"],
  ])("malformed escape %s raises PathDecodingError", (path, raw) => {
    const match = matchPathTemplate(parsePathTemplate("/v1/messages/{message_id}"), path);
    expect(match).toBeDefined();

    expect(() => decodePathVariables(match!)).toThrow(PathDecodingError);
    expect(() => decodePathVariables(match!)).toThrow(
      `path segment "${raw}" for field "message_id" is not valid percent-encoded UTF-8`,
    );
  });
});

describe("compareTemplateSpecificity", () => {
  test("orders verb, literals, then deep wildcard", () => {
    const sources = ["/v1/{name=**}", "/v1/messages/{id}", "/v1/{name=messages/*}:cancel", "/v1/messages/latest", "/v1/{a}/{b}"];

    const ordered = sources
      .map((source) => parsePathTemplate(source))
      .sort(compareTemplateSpecificity)
      .map((template) => template.source);

    expect(ordered).toEqual([
      "/v1/{name=messages/*}:cancel",
      "/v1/messages/latest",
      "/v1/messages/{id}",
      "/v1/{a}/{b}",
      "/v1/{name=**}",
    ]);
  });
});
