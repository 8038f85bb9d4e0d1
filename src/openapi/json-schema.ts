/**
 * JSON Schemas (OpenAPI 3.1 dialect) for messages in their proto3 JSON form. Field names are
 * lowerCamelCase, 64-bit integers are decimal strings, enums are value names and bytes are base64.
 * Well-known types have their special JSON forms, such as an RFC 3339 string for Timestamp and an
 * object for Struct. See https://protobuf.dev/programming-guides/json/.
 */
import { type DescEnum, type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";

export type JsonSchema = { [keyword: string]: unknown };

const INT64_PATTERN = "^-?[0-9]+$";
const UINT64_PATTERN = "^[0-9]+$";

/** Schemas of the scalar types, as proto3 JSON writes them. */
export function scalarSchema(scalar: ScalarType): JsonSchema {
  switch (scalar) {
    // NOTE: proto3 JSON also writes the strings "NaN", "Infinity" and "-Infinity" for floating
    // point values, but the schema leaves them out to stay readable.
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "int64", minimum: 0, maximum: 4294967295 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64", pattern: INT64_PATTERN };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64", pattern: UINT64_PATTERN };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", format: "byte", contentEncoding: "base64" };
  }
}

const WRAPPED_SCALARS: Record<string, ScalarType> = {
  "google.protobuf.DoubleValue": ScalarType.DOUBLE,
  "google.protobuf.FloatValue": ScalarType.FLOAT,
  "google.protobuf.Int64Value": ScalarType.INT64,
  "google.protobuf.UInt64Value": ScalarType.UINT64,
  "google.protobuf.Int32Value": ScalarType.INT32,
  "google.protobuf.UInt32Value": ScalarType.UINT32,
  "google.protobuf.BoolValue": ScalarType.BOOL,
  "google.protobuf.StringValue": ScalarType.STRING,
  "google.protobuf.BytesValue": ScalarType.BYTES,
};

/** Returns the inline schema of a well-known type with a special JSON form, or undefined for other messages. */
export function wellKnownSchema(typeName: string): JsonSchema | undefined {
  const wrapped = WRAPPED_SCALARS[typeName];
  if (wrapped !== undefined) return scalarSchema(wrapped);
  switch (typeName) {
    case "google.protobuf.Timestamp":
      return { type: "string", format: "date-time" };
    case "google.protobuf.Duration":
      return { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$", description: 'Seconds with an "s" suffix, such as "1.5s".' };
    case "google.protobuf.FieldMask":
      return { type: "string", description: "Comma-separated lowerCamelCase field paths." };
    case "google.protobuf.Struct":
      return { type: "object", additionalProperties: true };
    case "google.protobuf.Value":
      return { description: "Any JSON value." };
    case "google.protobuf.ListValue":
      return { type: "array", items: {} };
    case "google.protobuf.Any":
      return {
        type: "object",
        properties: { "@type": { type: "string", description: "The type URL, such as type.googleapis.com/google.rpc.BadRequest." } },
        required: ["@type"],
        additionalProperties: true,
      };
    default:
      return undefined;
  }
}

/**
 * Collects the component schemas that operations refer to. Messages and enums become named
 * components, keyed by their fully qualified name. Well-known types are inlined.
 */
export class SchemaCollector {
  private readonly components = new Map<string, JsonSchema>();

  /** Returns a schema for the message and adds it, and every type it refers to, to the components. */
  messageSchema(message: DescMessage): JsonSchema {
    const wellKnown = wellKnownSchema(message.typeName);
    if (wellKnown !== undefined) return wellKnown;
    if (!this.components.has(message.typeName)) {
      // Registered before the fields are visited, so that recursive messages end in a $ref.
      const schema: JsonSchema = { type: "object" };
      this.components.set(message.typeName, schema);
      schema.properties = Object.fromEntries(message.fields.map((field) => [field.jsonName, this.fieldSchema(field)]));
    }
    return reference(message.typeName);
  }

  enumSchema(enumeration: DescEnum): JsonSchema {
    if (enumeration.typeName === "google.protobuf.NullValue") return { type: "null" };
    if (!this.components.has(enumeration.typeName)) {
      this.components.set(enumeration.typeName, { type: "string", enum: enumeration.values.map((value) => value.name) });
    }
    return reference(enumeration.typeName);
  }

  /** Returns the schema of one field's JSON value, or of one element's for a repeated field. */
  fieldSchema(field: DescField): JsonSchema {
    switch (field.fieldKind) {
      case "scalar":
        return scalarSchema(field.scalar);
      case "enum":
        return this.enumSchema(field.enum);
      case "message":
        return this.messageSchema(field.message);
      case "list":
        return { type: "array", items: this.elementSchema(field.listKind, field) };
      case "map":
        return { type: "object", additionalProperties: this.elementSchema(field.mapKind, field) };
    }
  }

  /** Returns the components collected so far, sorted by name so the output does not depend on visit order. */
  sortedComponents(): Record<string, JsonSchema> {
    const names = [...this.components.keys()].sort(compareCodeUnits);
    return Object.fromEntries(names.map((name) => [name, this.components.get(name) as JsonSchema]));
  }

  private elementSchema(
    kind: "scalar" | "enum" | "message",
    field: { scalar?: ScalarType; enum?: DescEnum; message?: DescMessage },
  ): JsonSchema {
    switch (kind) {
      case "scalar":
        return scalarSchema(field.scalar as ScalarType);
      case "enum":
        return this.enumSchema(field.enum as DescEnum);
      case "message":
        return this.messageSchema(field.message as DescMessage);
    }
  }
}

/** Orders strings by UTF-16 code units, which unlike localeCompare does not depend on the machine's locale. */
function compareCodeUnits(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

export function reference(typeName: string): JsonSchema {
  return { $ref: `#/components/schemas/${typeName}` };
}
