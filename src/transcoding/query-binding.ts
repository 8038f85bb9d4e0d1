import type { DescField, DescMessage, JsonObject, JsonValue, Registry } from "@bufbuild/protobuf";
import {
  acceptsTextValue,
  FieldValueError,
  findField,
  setJsonField,
  textToJsonValue,
  validateFieldValue,
} from "./field-values";
import type { TranscodingRoute } from "./routes";
import { invalidArgument } from "./status";

/**
 * Sets the request fields named by query parameters on `target`.
 *
 * A parameter name is a dotted field path, each part in proto (`page_size`) or JSON
 * (`pageSize`) form. A repeated field takes the parameter once per element. Enums take
 * a value name or number. Parameters are rejected with INVALID_ARGUMENT when they are
 * unknown, set a field twice, set a field bound by the path or body, or set a message,
 * map or a field inside a repeated message. With `body: "*"` no parameter is allowed.
 */
export function bindQueryParameters(
  route: TranscodingRoute,
  query: URLSearchParams,
  target: JsonObject,
  registry: Registry,
): void {
  const valuesByName = new Map<string, string[]>();
  for (const [name, value] of query) {
    if (name === "") {
      continue;
    }
    valuesByName.set(name, [...(valuesByName.get(name) ?? []), value]);
  }
  if (valuesByName.size === 0) {
    return;
  }

  const names = [...valuesByName.keys()];
  if (route.body.kind === "whole") {
    throw invalidArgument(
      `${describeRoute(route)} takes the whole request in the body, so query parameters are not allowed; ` +
        `move ${quoteList(names)} into the JSON body`,
      names.map((name) => ({ field: name, description: "query parameters are not allowed on this route" })),
    );
  }

  const resolved = names.map((name) => ({ name, fields: resolveFieldPath(route.method.input, name) }));
  const unknown = resolved.filter(({ fields }) => fields === undefined).map(({ name }) => name);
  if (unknown.length > 0) {
    const noun = unknown.length === 1 ? "query parameter" : "query parameters";
    throw invalidArgument(
      `unknown ${noun} ${quoteList(unknown)}; ${describeRoute(route)} accepts ${describeAccepted(route)}`,
      unknown.map((name) => ({ field: name, description: "the request message has no such field" })),
    );
  }

  const seenFields = new Map<string, string>();
  for (const { name, fields } of resolved) {
    const chain = fields as DescField[];
    const fieldKey = chain.map((field) => field.name).join(".");
    const fail = (description: string): never => {
      throw invalidArgument(`invalid query parameter "${name}": ${description}`, [{ field: name, description }]);
    };

    const previous = seenFields.get(fieldKey);
    if (previous !== undefined) {
      fail(`it sets the same field as "${previous}"`);
    }
    seenFields.set(fieldKey, name);
    checkNotBound(route, chain, fail);
    if (chain.slice(0, -1).some((field) => field.fieldKind !== "message")) {
      fail("fields inside repeated or map fields cannot be set by query parameters");
    }

    const leaf = chain[chain.length - 1];
    if (!acceptsTextValue(leaf)) {
      const example = leaf.message?.fields[0]?.name ?? "name";
      fail(
        leaf.fieldKind === "map"
          ? "map fields cannot be set by query parameters"
          : `${leaf.name} is a message; set its fields instead, for example "${name}.${example}"`,
      );
    }

    const texts = valuesByName.get(name) ?? [];
    if (leaf.fieldKind !== "list" && texts.length > 1) {
      fail(`the field is not repeated, but the parameter is given ${texts.length} times`);
    }
    const parent = chain.length === 1 ? route.method.input : (chain[chain.length - 2].message as DescMessage);
    try {
      const elements = texts.map((text) => textToJsonValue(leaf, text));
      const json: JsonValue = leaf.fieldKind === "list" ? elements : elements[0];
      validateFieldValue(parent, leaf, json, registry);
      setJsonField(target, chain, json);
    } catch (error) {
      if (error instanceof FieldValueError) {
        fail(error.message);
      }
      throw error;
    }
  }
}

/** Resolves a dotted parameter name to its chain of fields, or returns undefined if a part is unknown. */
function resolveFieldPath(message: DescMessage, name: string): DescField[] | undefined {
  const chain: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const part of name.split(".")) {
    const field: DescField | undefined = current === undefined ? undefined : findField(current, part);
    if (field === undefined) {
      return undefined;
    }
    chain.push(field);
    // Repeated and map fields resolve too, so that the caller can reject them by name.
    current = field.message;
  }
  return chain;
}

function checkNotBound(route: TranscodingRoute, chain: DescField[], fail: (description: string) => never): void {
  for (const pathChain of route.pathFields) {
    const overlap = Math.min(pathChain.length, chain.length);
    if (pathChain.slice(0, overlap).every((field, index) => field === chain[index])) {
      fail(`field "${pathChain.map((field) => field.name).join(".")}" is bound by the URL path`);
    }
  }
  if (route.body.kind === "field" && chain[0] === route.body.field) {
    fail(`field "${route.body.field.name}" is bound by the request body`);
  }
}

/** Lists the top-level fields that query parameters may set, for error messages. */
function describeAccepted(route: TranscodingRoute): string {
  const boundTopLevel = new Set(route.pathFields.filter((chain) => chain.length === 1).map((chain) => chain[0]));
  if (route.body.kind === "field") {
    boundTopLevel.add(route.body.field);
  }
  const accepted = route.method.input.fields
    .filter((field) => !boundTopLevel.has(field) && field.fieldKind !== "map")
    .map((field) => (acceptsTextValue(field) ? field.name : `${field.name}.*`));
  return accepted.length === 0 ? "no query parameters" : accepted.join(", ");
}

export function describeRoute(route: TranscodingRoute): string {
  return `${route.httpMethod} ${route.template.source}`;
}

function quoteList(names: string[]): string {
  return names.map((name) => `"${name}"`).join(", ");
}
