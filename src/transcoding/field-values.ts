import {
  fromJson,
  ScalarType,
  type DescEnum,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Registry,
} from "@bufbuild/protobuf";

/** Raised when text from the URL cannot become the value of a field. */
export class FieldValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FieldValueError";
  }
}

/**
 * Well-known message types whose proto3 JSON form is a single string, number or bool,
 * so that one path or query value can set them.
 */
export const textMessageTypes: ReadonlySet<string> = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
  "google.protobuf.BoolValue",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.FloatValue",
  "google.protobuf.DoubleValue",
]);

const integerTypes = new Set([
  ScalarType.INT32,
  ScalarType.INT64,
  ScalarType.UINT32,
  ScalarType.UINT64,
  ScalarType.SINT32,
  ScalarType.SINT64,
  ScalarType.FIXED32,
  ScalarType.FIXED64,
  ScalarType.SFIXED32,
  ScalarType.SFIXED64,
]);

/** Finds a field by its proto name (`page_size`) or its JSON name (`pageSize`). */
export function findField(message: DescMessage, name: string): DescField | undefined {
  return (
    message.fields.find((field) => field.name === name) ??
    message.fields.find((field) => field.jsonName === name)
  );
}

/** Returns true when the field, or each element of a repeated field, can be written as one text value. */
export function acceptsTextValue(field: DescField): boolean {
  if (field.fieldKind === "map") {
    return false;
  }
  return field.message === undefined || textMessageTypes.has(field.message.typeName);
}

/**
 * Converts one text value from a URL path or query string into the proto3 JSON value
 * of the field, or of one element when the field is repeated.
 * Enums accept a value name or a number. Bools accept `true` and `false`. Numbers,
 * bytes and well-known types stay strings, which proto3 JSON accepts for them.
 */
export function textToJsonValue(field: DescField, text: string): JsonValue {
  if (field.enum !== undefined) {
    return enumTextToJson(field.enum, text);
  }
  const isBool =
    (field.fieldKind === "scalar" || field.fieldKind === "list") && field.scalar === ScalarType.BOOL;
  if (isBool || field.message?.typeName === "google.protobuf.BoolValue") {
    if (text === "true" || text === "false") {
      return text === "true";
    }
    throw new FieldValueError(`expected true or false, got "${text}"`);
  }
  const scalar = field.fieldKind === "scalar" || field.fieldKind === "list" ? field.scalar : undefined;
  if (scalar !== undefined && integerTypes.has(scalar) && !/^-?\d+$/.test(text)) {
    throw new FieldValueError(`expected an integer, got "${text}"`);
  }
  return text;
}

function enumTextToJson(descEnum: DescEnum, text: string): JsonValue {
  if (/^-?\d+$/.test(text)) {
    const number = Number(text);
    if (number >= -2147483648 && number <= 2147483647) {
      return number;
    }
  } else if (descEnum.values.some((value) => value.name === text)) {
    return text;
  }
  const examples = descEnum.values.slice(0, 3).map((value) => value.name);
  throw new FieldValueError(
    `"${text}" is not a value of enum ${descEnum.typeName}; use a name such as ${examples.join(", ")} or an int32 number`,
  );
}

/**
 * Checks that `json` is a valid proto3 JSON value for the field by decoding it on its
 * own. Throws FieldValueError with the decoder's description of the problem.
 */
export function validateFieldValue(
  parent: DescMessage,
  field: DescField,
  json: JsonValue,
  registry: Registry,
): void {
  try {
    fromJson(parent, { [field.jsonName]: json }, { registry });
  } catch (error) {
    throw new FieldValueError(describeDecodeError(error));
  }
}

/**
 * Returns the most specific text of a protobuf JSON decode error. For field errors
 * the cause contains the problem without the "cannot decode field ..." prefix.
 */
export function describeDecodeError(error: unknown): string {
  if (error instanceof Error && error.cause instanceof Error) {
    return error.cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Stores `value` at the field path inside a request JSON object, creating nested
 * objects on the way. At each level the key already used by the client is reused,
 * whether it is the proto name or the JSON name, and at the leaf the value replaces
 * any value under either name. Throws FieldValueError when a level on the way is not a
 * JSON object.
 */
export function setJsonField(target: JsonObject, fields: DescField[], value: JsonValue): void {
  let container = target;
  for (const field of fields.slice(0, -1)) {
    const key = field.name in container ? field.name : field.jsonName;
    const existing = container[key];
    if (existing === undefined || existing === null) {
      const created: JsonObject = {};
      container[key] = created;
      container = created;
    } else if (typeof existing === "object" && !Array.isArray(existing)) {
      container = existing;
    } else {
      throw new FieldValueError(`field "${key}" must be a JSON object`);
    }
  }
  const leaf = fields[fields.length - 1];
  delete container[leaf.name];
  container[leaf.jsonName] = value;
}
