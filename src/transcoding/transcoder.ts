import { createRegistry, type DescService, type Registry } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { universalRequestFromNodeRequest } from "@connectrpc/connect-node";
import { file_google_rpc_error_details } from "../../gen/es/google/rpc/error_details_pb";
import { callConnectHandler } from "./connect-call";
import { splitRequestTarget, writeJson, type NodeRequest, type NodeResponse } from "./node-http";
import { normalizePath } from "./path-matcher";
import { readJsonBody } from "./request-body";
import { buildRequestJson } from "./request-message";
import { buildSuccessResponse, type SuccessStatusMap } from "./response-mapping";
import { findRoute, isUnderPrefix, servedPathPrefixes, type RouteLookup } from "./route-lookup";
import { buildRoutes, type TranscodingRoute } from "./routes";
import { buildErrorResponse, invalidArgument, TranscodingError } from "./status";

/** Structured logger with the argument order of pino: details first, then the message. */
export interface TranscoderLogger {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface TranscoderOptions {
  /** Services whose methods' google.api.http options become routes. */
  services: DescService[];
  /**
   * Handlers from `createConnectRouter().handlers`, with the Connect protocol enabled
   * (the default). Every transcoded call goes through one of them, so interceptors,
   * validation and deadlines match gRPC and Connect.
   */
  handlers: UniversalHandler[];
  /** Types for google.protobuf.Any in requests and error details. google.rpc error details are always added. */
  registry: Registry;
  /** Maximum request body size in bytes. A larger body gets 413. */
  maxBodyBytes: number;
  /** Chooses the HTTP status of a successful response of some methods, for example 503 for an unhealthy health check. */
  successStatus?: SuccessStatusMap;
  /** Context values for the handlers, as in `connectNodeAdapter`. */
  contextValues?: (request: NodeRequest) => ContextValues;
  /** Receives internal failures and dropped error details. Defaults to the console. */
  logger?: TranscoderLogger;
}

export interface Transcoder {
  /**
   * Serves a REST request. Returns false, without touching the response, when the path
   * is outside every served prefix, so that the caller can pass the request on.
   */
  handle(request: NodeRequest, response: NodeResponse): Promise<boolean>;
  /** All routes, most specific first. */
  readonly routes: readonly TranscodingRoute[];
  /** Path prefixes under which unknown paths get 404 instead of returning false. */
  readonly pathPrefixes: readonly string[];
}

const consoleLogger: TranscoderLogger = {
  warn: (details, message) => console.warn(message, details),
  error: (details, message) => console.error(message, details),
};

/**
 * Creates a REST/JSON transcoder for the `google.api.http` options of the services.
 * Throws when an option is invalid or a method with an option has no handler.
 */
export function createTranscoder(options: TranscoderOptions): Transcoder {
  if (!Number.isInteger(options.maxBodyBytes) || options.maxBodyBytes < 0) {
    throw new Error(`maxBodyBytes must be a non-negative integer, got ${options.maxBodyBytes}`);
  }
  const logger = options.logger ?? consoleLogger;
  const registry = createRegistry(options.registry, file_google_rpc_error_details);
  const routes = buildRoutes(options.services);
  const pathPrefixes = servedPathPrefixes(routes);

  const handlersByPath = new Map(options.handlers.map((handler) => [handler.requestPath, handler]));
  const handlerFor = (route: TranscodingRoute) => handlersByPath.get(`/${route.method.parent.typeName}/${route.method.name}`);
  // Checked in declaration order, so that the error names the first method without a handler.
  const methods = options.services.flatMap((service) => service.methods);
  const unserved = methods.find((method) => routes.some((route) => route.method === method && handlerFor(route) === undefined));
  if (unserved !== undefined) {
    throw new Error(
      `no handler for ${unserved.parent.typeName}.${unserved.name}; register the service on the router before creating the transcoder`,
    );
  }

  async function serveRoute(
    lookup: RouteLookup,
    request: NodeRequest,
    response: NodeResponse,
    rawPath: string,
    query: URLSearchParams,
  ) {
    if (lookup.kind === "notFound") {
      throw new TranscodingError(`no route matches ${request.method} ${rawPath}`, Code.NotFound, 404);
    }
    if (lookup.kind === "methodNotAllowed") {
      const allow = lookup.allowedMethods.join(", ");
      const message = `method ${request.method} is not allowed for this path; use ${allow}`;
      throw new TranscodingError(message, Code.Unimplemented, 405, [], { allow });
    }

    const { route, match } = lookup;
    if (request.headers.host === undefined && !("authority" in request)) {
      throw invalidArgument("request has no Host header");
    }
    const contextValues = options.contextValues?.(request);
    const clientRequest = universalRequestFromNodeRequest(request, response, undefined, contextValues);
    const body = await readJsonBody(request, options.maxBodyBytes);
    const requestJson = JSON.stringify(buildRequestJson(route, match, query, body, registry));
    const result = await callConnectHandler(handlerFor(route)!, clientRequest, requestJson);

    if (result.kind === "error") {
      if (result.unexpected) {
        logger.error({ err: result.error, route: route.template.source }, "Connect handler returned an invalid error response");
      }
      return buildErrorResponse(result.error, registry, logDroppedDetail, result.headers);
    }
    const success = buildSuccessResponse(route, result.json, registry, options.successStatus);
    return { status: success.status, headers: result.headers, body: success.body };
  }

  function logDroppedDetail(typeUrl: string, reason: unknown) {
    logger.warn({ typeUrl, err: reason }, "dropped an error detail whose type is not in the registry");
  }

  async function handle(request: NodeRequest, response: NodeResponse): Promise<boolean> {
    const { rawPath, query } = splitRequestTarget(request.url ?? "/");
    const lookup = findRoute(routes, request.method ?? "", rawPath);
    const normalizedPath = normalizePath(rawPath);
    if (lookup.kind === "notFound" && !pathPrefixes.some((prefix) => isUnderPrefix(normalizedPath, prefix))) {
      return false;
    }

    let reply: { status: number; headers: Record<string, string>; body: unknown };
    try {
      reply = await serveRoute(lookup, request, response, rawPath, query);
    } catch (error) {
      if (error instanceof TranscodingError) {
        reply = buildErrorResponse(error, registry, logDroppedDetail);
      } else {
        // Anything else is a bug or an I/O failure. A plain Error's message stays out
        // of the response, because it may describe server internals.
        logger.error({ err: error, method: request.method, url: request.url }, "transcoding failed");
        const failure = error instanceof ConnectError ? error : new ConnectError("internal error", Code.Internal);
        reply = buildErrorResponse(failure, registry, logDroppedDetail);
      }
    }

    try {
      writeJson(response, reply.status, reply.headers, reply.body, request.method === "HEAD");
    } catch (error) {
      logger.error({ err: error, method: request.method, url: request.url }, "writing the response failed");
      response.destroy();
    }
    return true;
  }

  return { handle, routes, pathPrefixes };
}
