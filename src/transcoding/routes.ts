import { getOption, hasOption, type DescField, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { http } from "../../gen/es/google/api/annotations_pb";
import type { HttpRule } from "../../gen/es/google/api/http_pb";
import { compareTemplateSpecificity } from "./path-matcher";
import { parsePathTemplate, type PathTemplate } from "./path-template";

/** Mapping of the HTTP request body onto the request message. */
export type BodyBinding =
  | { kind: "none" }
  /** `body: "*"`: the body is the request message, minus the fields bound by the path. */
  | { kind: "whole" }
  /** `body: "field"`: the body is the value of one top-level request field. */
  | { kind: "field"; field: DescField };

/** One HTTP binding of an RPC, from its `google.api.http` option or one of its `additional_bindings`. */
export interface TranscodingRoute {
  /** Upper-case HTTP method, or "*" for a custom rule that accepts any method. */
  httpMethod: string;
  template: PathTemplate;
  method: DescMethod;
  body: BodyBinding;
  /** The response field sent as the HTTP body, or undefined to send the whole response. */
  responseBody: DescField | undefined;
  /** The field chain bound by each path variable, in the order of `template.variables`. */
  pathFields: DescField[][];
}

/**
 * Builds the routes of every method that has a `google.api.http` option, most specific
 * template first. Throws an Error naming the method when an option is invalid, for
 * example when a template names a missing field or the method is streaming.
 */
export function buildRoutes(services: DescService[]): TranscodingRoute[] {
  const routes: TranscodingRoute[] = [];
  for (const service of services) {
    for (const method of service.methods) {
      if (!hasOption(method, http)) {
        continue;
      }
      const rule = getOption(method, http);
      routes.push(buildRoute(method, rule));
      for (const binding of rule.additionalBindings) {
        if (binding.additionalBindings.length > 0) {
          throw new Error(`${describeMethod(method)}: additional_bindings must not contain additional_bindings`);
        }
        routes.push(buildRoute(method, binding));
      }
    }
  }
  return routes.sort((a, b) => compareTemplateSpecificity(a.template, b.template));
}

function buildRoute(method: DescMethod, rule: HttpRule): TranscodingRoute {
  if (method.methodKind !== "unary") {
    throw new Error(`${describeMethod(method)}: only unary methods can have a google.api.http option`);
  }

  let httpMethod: string;
  let templateText: string;
  switch (rule.pattern.case) {
    case "get":
    case "put":
    case "post":
    case "delete":
    case "patch":
      httpMethod = rule.pattern.case.toUpperCase();
      templateText = rule.pattern.value;
      break;
    case "custom":
      httpMethod = rule.pattern.value.kind === "*" ? "*" : rule.pattern.value.kind.toUpperCase();
      templateText = rule.pattern.value.path;
      break;
    default:
      throw new Error(`${describeMethod(method)}: google.api.http rule has no HTTP method and path`);
  }

  const template = parsePathTemplate(templateText);
  const pathFields = template.variables.map((variable) =>
    resolvePathField(method, template, variable.fieldPath),
  );

  let body: BodyBinding = { kind: "none" };
  if (rule.body === "*") {
    body = { kind: "whole" };
  } else if (rule.body !== "") {
    body = { kind: "field", field: findTopLevelField(method, method.input, rule.body, "body") };
  }
  const responseBody =
    rule.responseBody === ""
      ? undefined
      : findTopLevelField(method, method.output, rule.responseBody, "response_body");

  return { httpMethod, template, method, body, responseBody, pathFields };
}

/** Resolves a template's field path by proto field names and checks that it ends in a singular scalar or enum. */
function resolvePathField(method: DescMethod, template: PathTemplate, fieldPath: string[]): DescField[] {
  const chain: DescField[] = [];
  let message: DescMessage | undefined = method.input;
  for (const name of fieldPath) {
    const field: DescField | undefined = message?.fields.find((candidate) => candidate.name === name);
    if (message === undefined || field === undefined) {
      throw new Error(
        `${describeMethod(method)}: path template "${template.source}" binds "${fieldPath.join(".")}", ` +
          `but the request message has no field "${name}" there`,
      );
    }
    chain.push(field);
    message = field.fieldKind === "message" ? field.message : undefined;
  }
  const leaf = chain[chain.length - 1];
  if (leaf.fieldKind !== "scalar" && leaf.fieldKind !== "enum") {
    throw new Error(
      `${describeMethod(method)}: path template "${template.source}" binds "${fieldPath.join(".")}", ` +
        `which is a ${leaf.fieldKind} field; path variables must bind singular scalar or enum fields`,
    );
  }
  return chain;
}

function findTopLevelField(method: DescMethod, message: DescMessage, name: string, option: string): DescField {
  const field = message.fields.find((candidate) => candidate.name === name);
  if (field === undefined) {
    throw new Error(`${describeMethod(method)}: ${option} "${name}" is not a field of ${message.typeName}`);
  }
  return field;
}

function describeMethod(method: DescMethod): string {
  return `${method.parent.typeName}.${method.name}`;
}
