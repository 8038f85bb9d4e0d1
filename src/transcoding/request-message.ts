import { fromJson, type DescMessage, type JsonObject, type JsonValue, type Registry } from "@bufbuild/protobuf";
import {
  describeDecodeError,
  FieldValueError,
  findField,
  setJsonField,
  textToJsonValue,
  validateFieldValue,
} from "./field-values";
import { decodePathVariables, PathDecodingError, type PathMatch } from "./path-matcher";
import { bindQueryParameters, describeRoute } from "./query-binding";
import type { TranscodingRoute } from "./routes";
import { invalidArgument } from "./status";

/**
 * Builds the JSON of the request message from the path variables, the JSON body and the
 * query parameters, as the route's HttpRule maps them, and checks that it decodes. A path
 * variable replaces the same field in the body. Throws a 400 INVALID_ARGUMENT
 * TranscodingError that names the parameter or field when a value does not fit the
 * request message.
 */
export function buildRequestJson(
  route: TranscodingRoute,
  match: PathMatch,
  query: URLSearchParams,
  body: JsonValue | undefined,
  registry: Registry,
): JsonObject {
  const target = bodyToRequestJson(route, body);
  bindPathVariables(route, match, target, registry);
  bindQueryParameters(route, query, target, registry);

  try {
    // Decoded only to check it: the JSON that passed goes to the handler as it is.
    fromJson(route.method.input, target, { registry });
    return target;
  } catch (error) {
    const invalid = findInvalidField(route.method.input, target, registry, "");
    if (invalid === undefined) {
      // No single key fails on its own, for example when a field is set under both names.
      throw invalidArgument(`invalid request body: ${error instanceof Error ? error.message : String(error)}`);
    }
    const problem = invalid.known ? `field "${invalid.field}": ${invalid.description}` : invalid.description;
    throw invalidArgument(`invalid request body: ${problem}`, [{ field: invalid.field, description: invalid.description }]);
  }
}

function bodyToRequestJson(route: TranscodingRoute, body: JsonValue | undefined): JsonObject {
  switch (route.body.kind) {
    case "none":
      if (body !== undefined) {
        throw invalidArgument(`${describeRoute(route)} does not take a request body; send the fields as query parameters`);
      }
      return {};
    case "field":
      return body === undefined ? {} : { [route.body.field.jsonName]: body };
    case "whole":
      if (body === undefined) {
        return {};
      }
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        const kind = body === null ? "null" : Array.isArray(body) ? "an array" : `a ${typeof body}`;
        throw invalidArgument(
          `request body must be a JSON object with the fields of ${route.method.input.typeName}, got ${kind}`,
        );
      }
      return body;
  }
}

function bindPathVariables(route: TranscodingRoute, match: PathMatch, target: JsonObject, registry: Registry): void {
  let values;
  try {
    values = decodePathVariables(match);
  } catch (error) {
    if (error instanceof PathDecodingError) {
      throw invalidArgument(error.message, [{ field: error.fieldPath.join("."), description: error.message }]);
    }
    throw error;
  }

  values.forEach(({ fieldPath, value }, index) => {
    const chain = route.pathFields[index];
    const leaf = chain[chain.length - 1];
    const parent = chain.length === 1 ? route.method.input : (chain[chain.length - 2].message as DescMessage);
    const name = fieldPath.join(".");
    try {
      const json = textToJsonValue(leaf, value);
      validateFieldValue(parent, leaf, json, registry);
      setJsonField(target, chain, json);
    } catch (error) {
      if (error instanceof FieldValueError) {
        const description = `invalid value "${value}" for path variable "${name}": ${error.message}`;
        throw invalidArgument(description, [{ field: name, description: error.message }]);
      }
      throw error;
    }
  });
}

/**
 * Finds the first key of `json` that fails to decode, descending into nested messages
 * and repeated messages so that the result names the innermost field, such as
 * `gates[1].passed`. Returns undefined when each key decodes on its own.
 */
/**
 * A field of the request that does not decode. `field` is its path in proto field names, as the
 * service's own validation names fields, or the client's key for an unknown field.
 */
interface InvalidField {
  field: string;
  description: string;
  /** False for a key that names no field of the message. */
  known: boolean;
}

function findInvalidField(message: DescMessage, json: JsonObject, registry: Registry, prefix: string): InvalidField | undefined {
  for (const [key, value] of Object.entries(json)) {
    const field = findField(message, key);
    if (field === undefined) {
      const path = prefix + key;
      return { field: path, description: `unknown field "${path}" in ${message.typeName}`, known: false };
    }
    const path = prefix + field.name;
    try {
      fromJson(message, { [key]: value }, { registry });
      continue;
    } catch (error) {
      // Well-known types such as Struct and Timestamp have their own JSON forms, so
      // their keys are not fields and the search stops at them.
      const nested = field.message?.typeName.startsWith("google.protobuf.") ? undefined : field.message;
      const isPlainObject = (item: JsonValue) => typeof item === "object" && item !== null && !Array.isArray(item);
      if (nested !== undefined && field.fieldKind === "message" && isPlainObject(value)) {
        const inner = findInvalidField(nested, value as JsonObject, registry, `${path}.`);
        if (inner !== undefined) {
          return inner;
        }
      }
      if (nested !== undefined && field.fieldKind === "list" && Array.isArray(value)) {
        for (const [index, item] of value.entries()) {
          const inner = isPlainObject(item)
            ? findInvalidField(nested, item as JsonObject, registry, `${path}[${index}].`)
            : undefined;
          if (inner !== undefined) {
            return inner;
          }
        }
      }
      return { field: path, description: describeDecodeError(error), known: true };
    }
  }
  return undefined;
}
