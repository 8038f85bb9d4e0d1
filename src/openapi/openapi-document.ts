/**
 * Builds an OpenAPI 3.1 document for the REST paths of services, from their google.api.http
 * options: every binding including additional_bindings, path and query parameters, request
 * bodies and responses in proto3 JSON form. The output depends only on the descriptors and the
 * options, so regenerating it gives the same bytes.
 */
import { type DescField, type DescMessage, type DescMethod, type DescService, getOption, hasOption } from "@bufbuild/protobuf";
import { http } from "../../gen/es/google/api/annotations_pb";
import type { HttpRule } from "../../gen/es/google/api/http_pb";
import { type PathTemplate, type TemplateSegment, parsePathTemplate } from "../transcoding/path-template";
import { type JsonSchema, SchemaCollector, wellKnownSchema } from "./json-schema";
import { textMessageTypes } from "../transcoding/field-values";

export interface OpenApiOptions {
  services: readonly DescService[];
  title: string;
  version: string;
  description?: string;
  /** The message that error responses carry, normally google.rpc.Status. */
  errorMessage: DescMessage;
  /** Fully qualified methods ("package.Service.Method") that accept calls without an API key. */
  openMethods?: readonly string[];
  /**
   * Further success statuses of a method ("package.Service.Method"), each with its description.
   * They carry the same body as 200.
   */
  extraSuccessStatuses?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** One HTTP binding of a method: the rule itself or one of its additional_bindings. */
interface Binding {
  httpMethod: string;
  template: PathTemplate;
  body: string;
  responseBody: string;
}

const OPENAPI_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

/**
 * Returns the OpenAPI document as a plain JSON object. Throws an Error naming the method when a
 * binding cannot be expressed in OpenAPI, such as a wildcard outside a path variable.
 */
export function buildOpenApiDocument(options: OpenApiOptions): Record<string, unknown> {
  const schemas = new SchemaCollector();
  const openMethods = new Set(options.openMethods ?? []);
  const paths: Record<string, Record<string, unknown>> = {};
  const operationIds = new Set<string>();

  for (const service of options.services) {
    for (const method of service.methods) {
      if (!hasOption(method, http)) continue;
      const rule = getOption(method, http);
      const bindings = [rule, ...rule.additionalBindings].map((binding) => readBinding(method, binding));
      bindings.forEach((binding, index) => {
        const path = openApiPath(method, binding.template);
        const operationId = `${service.name}_${method.name}${index === 0 ? "" : `_${index + 1}`}`;
        if (operationIds.has(operationId)) {
          throw new Error(`${describe(method)}: operationId "${operationId}" is used twice; rename one of the methods`);
        }
        operationIds.add(operationId);
        const extraStatuses = options.extraSuccessStatuses?.[`${service.typeName}.${method.name}`] ?? {};
        const operation = buildOperation(method, binding, operationId, schemas, options.errorMessage, extraStatuses);
        if (openMethods.has(`${service.typeName}.${method.name}`)) operation.security = [];
        const pathItem = (paths[path] ??= {});
        if (pathItem[binding.httpMethod] !== undefined) {
          throw new Error(`${describe(method)}: ${binding.httpMethod.toUpperCase()} ${path} is bound by two methods`);
        }
        pathItem[binding.httpMethod] = operation;
      });
    }
  }

  const info: Record<string, unknown> = { title: options.title, version: options.version };
  if (options.description !== undefined) info.description = options.description;
  return {
    openapi: "3.1.0",
    info,
    tags: options.services.map((service) => ({ name: service.name, description: `The REST bindings of ${service.typeName}.` })),
    security: [{ apiKey: [] }, { bearerAuth: [] }],
    paths,
    components: {
      schemas: schemas.sortedComponents(),
      securitySchemes: {
        apiKey: { type: "apiKey", in: "header", name: "x-api-key" },
        bearerAuth: { type: "http", scheme: "bearer" },
      },
    },
  };
}

function readBinding(method: DescMethod, rule: HttpRule): Binding {
  let httpMethod: string;
  let path: string;
  switch (rule.pattern.case) {
    case "get":
    case "put":
    case "post":
    case "delete":
    case "patch":
      httpMethod = rule.pattern.case;
      path = rule.pattern.value;
      break;
    case "custom":
      httpMethod = rule.pattern.value.kind.toLowerCase();
      path = rule.pattern.value.path;
      if (!OPENAPI_METHODS.has(httpMethod)) {
        throw new Error(`${describe(method)}: custom HTTP method "${rule.pattern.value.kind}" has no OpenAPI operation`);
      }
      break;
    default:
      throw new Error(`${describe(method)}: google.api.http rule has no HTTP method and path`);
  }
  return { httpMethod, template: parsePathTemplate(path), body: rule.body, responseBody: rule.responseBody };
}

/** Turns a path template into an OpenAPI path: each variable becomes one `{field.path}` parameter. */
function openApiPath(method: DescMethod, template: PathTemplate): string {
  const parts: string[] = [];
  let position = 0;
  for (const variable of template.variables) {
    parts.push(...literalSegments(method, template, position, variable.start));
    parts.push(`{${variable.fieldPath.join(".")}}`);
    position = variable.end;
  }
  parts.push(...literalSegments(method, template, position, template.segments.length));
  return `/${parts.join("/")}${template.verb === undefined ? "" : `:${template.verb}`}`;
}

function literalSegments(method: DescMethod, template: PathTemplate, start: number, end: number): string[] {
  return template.segments.slice(start, end).map((segment) => {
    if (segment.kind !== "literal") {
      throw new Error(`${describe(method)}: path template "${template.source}" has a wildcard outside a variable, which OpenAPI paths cannot express`);
    }
    return segment.value;
  });
}

function buildOperation(
  method: DescMethod,
  binding: Binding,
  operationId: string,
  schemas: SchemaCollector,
  errorMessage: DescMessage,
  extraStatuses: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const pathChains = binding.template.variables.map((variable) => resolveFieldPath(method, variable.fieldPath, binding.template));
  const parameters: Record<string, unknown>[] = binding.template.variables.map((variable, index) => {
    const leaf = pathChains[index][pathChains[index].length - 1];
    const parameter: Record<string, unknown> = {
      name: variable.fieldPath.join("."),
      in: "path",
      required: true,
      schema: schemas.fieldSchema(leaf),
    };
    if (!variable.singleSegment) {
      const pattern = binding.template.segments.slice(variable.start, variable.end).map(segmentText).join("/");
      parameter.description = `Matches ${pattern}, so the value contains slashes.`;
    }
    return parameter;
  });

  const boundTopLevel = new Set(pathChains.filter((chain) => chain.length === 1).map((chain) => chain[0]));
  let bodyField: DescField | undefined;
  if (binding.body !== "" && binding.body !== "*") bodyField = findField(method, method.input, binding.body, "body");
  if (binding.body !== "*") {
    const excluded = new Set(boundTopLevel);
    if (bodyField !== undefined) excluded.add(bodyField);
    parameters.push(...queryParameters(method.input, excluded, pathChains, schemas));
  }

  const operation: Record<string, unknown> = {
    operationId,
    tags: [method.parent.name],
    summary: method.name,
    description: `Transcoded to the RPC ${method.parent.typeName}/${method.name}.`,
  };
  if (parameters.length > 0) operation.parameters = parameters;

  if (binding.body === "*") {
    operation.requestBody = { required: true, content: jsonContent(bodySchema(method.input, boundTopLevel, schemas)) };
  } else if (bodyField !== undefined) {
    operation.requestBody = { required: true, content: jsonContent(schemas.fieldSchema(bodyField)) };
  }

  const responseSchema =
    binding.responseBody === ""
      ? schemas.messageSchema(method.output)
      : schemas.fieldSchema(findField(method, method.output, binding.responseBody, "response_body"));
  const extraResponses = Object.entries(extraStatuses).map(([status, description]) => [status, { description, content: jsonContent(responseSchema) }]);
  operation.responses = {
    "200": { description: `The ${method.output.name} in proto3 JSON form.`, content: jsonContent(responseSchema) },
    ...Object.fromEntries(extraResponses),
    default: { description: `The error, as a ${errorMessage.typeName} in proto3 JSON form.`, content: jsonContent(schemas.messageSchema(errorMessage)) },
  };
  return operation;
}

/** Returns the schema of a `body: "*"` request: the request message without the fields bound by the path. */
function bodySchema(input: DescMessage, boundTopLevel: Set<DescField>, schemas: SchemaCollector): JsonSchema {
  if (boundTopLevel.size === 0) return schemas.messageSchema(input);
  const properties = input.fields.filter((field) => !boundTopLevel.has(field)).map((field) => [field.jsonName, schemas.fieldSchema(field)]);
  return { type: "object", properties: Object.fromEntries(properties) };
}

/**
 * Lists the query parameters of a request that has no body or a body field: every field outside
 * the path and body that takes a text value, with nested message fields as dotted names. Maps,
 * repeated messages and other messages (Struct, Any, ...) cannot be set from a query string.
 */
function queryParameters(
  input: DescMessage,
  excluded: Set<DescField>,
  pathChains: DescField[][],
  schemas: SchemaCollector,
): Record<string, unknown>[] {
  const parameters: Record<string, unknown>[] = [];
  const visit = (message: DescMessage, prefix: string, chain: DescField[], visiting: Set<string>): void => {
    for (const field of message.fields) {
      if (chain.length === 0 && excluded.has(field)) continue;
      const fieldChain = [...chain, field];
      if (pathChains.some((pathChain) => sameChain(pathChain, fieldChain))) continue;
      const name = `${prefix}${field.jsonName}`;
      const nested = field.fieldKind === "message" ? field.message : undefined;
      if (nested !== undefined && !textMessageTypes.has(nested.typeName)) {
        // Nested fields are reachable by dotted names. Recursion stops at a message already on the chain.
        if (wellKnownSchema(nested.typeName) === undefined && !visiting.has(nested.typeName)) {
          visit(nested, `${name}.`, fieldChain, new Set([...visiting, nested.typeName]));
        }
        continue;
      }
      if (field.fieldKind === "map" || (field.fieldKind === "list" && field.listKind === "message" && !textMessageTypes.has(field.message.typeName))) {
        continue;
      }
      const parameter: Record<string, unknown> = { name, in: "query", schema: schemas.fieldSchema(field) };
      if (field.fieldKind === "list") {
        parameter.style = "form";
        parameter.explode = true;
      }
      parameters.push(parameter);
    }
  };
  visit(input, "", [], new Set([input.typeName]));
  return parameters;
}

function segmentText(segment: TemplateSegment): string {
  if (segment.kind === "literal") return segment.value;
  return segment.kind === "wildcard" ? "*" : "**";
}

function sameChain(a: DescField[], b: DescField[]): boolean {
  return a.length === b.length && a.every((field, index) => field === b[index]);
}

function resolveFieldPath(method: DescMethod, fieldPath: string[], template: PathTemplate): DescField[] {
  const chain: DescField[] = [];
  let message: DescMessage | undefined = method.input;
  for (const name of fieldPath) {
    const field: DescField | undefined = message?.fields.find((candidate) => candidate.name === name);
    if (field === undefined) {
      throw new Error(`${describe(method)}: path template "${template.source}" binds "${fieldPath.join(".")}", but the request message has no field "${name}" there`);
    }
    chain.push(field);
    message = field.fieldKind === "message" ? field.message : undefined;
  }
  return chain;
}

function findField(method: DescMethod, message: DescMessage, name: string, option: string): DescField {
  const field = message.fields.find((candidate) => candidate.name === name);
  if (field === undefined) {
    throw new Error(`${describe(method)}: ${option} "${name}" is not a field of ${message.typeName}`);
  }
  return field;
}

function jsonContent(schema: JsonSchema): Record<string, unknown> {
  return { "application/json": { schema } };
}

function describe(method: DescMethod): string {
  return `${method.parent.typeName}.${method.name}`;
}
