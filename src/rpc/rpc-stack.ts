/**
 * The request handler behind the one port: a Connect router with the service's interceptors and
 * body limits, the binary parse guard, the REST transcoder, and the grpc-message rewrite. The
 * service and `npm run bench:transport` both build theirs here, so the benchmark measures the
 * same stack.
 */
import { type DescService, createRegistry } from "@bufbuild/protobuf";
import { type ConnectRouter, createConnectRouter } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { file_google_rpc_error_details } from "../../gen/es/google/rpc/error_details_pb";
import type { ApiKey } from "../config";
import type { Logger } from "../logger";
import type { RequestHandler } from "../server";
import { type SuccessStatusMap, createTranscoder } from "../transcoding";
import { guardBinaryParse } from "./binary-parse-guard";
import { withGrpcMessageEncoding } from "./grpc-message";
import { type CallObserver, createAuthInterceptor, createDeadlineInterceptor, createLoggingInterceptor } from "./interceptors";
import { createRpcHandler } from "./node-handler";

export interface RpcStackOptions {
  apiKeys: ApiKey[];
  defaultDeadlineMs: number;
  maxBodyBytes: number;
  logger: Logger;
  /** Registers every service on the router. */
  register: (router: ConnectRouter) => void;
  /** Services also served as REST/JSON from their google.api.http annotations. */
  restServices: DescService[];
  /** HTTP status of successful REST responses that are not 200, per method. */
  successStatus?: SuccessStatusMap;
  /** Receives each call's method, code and duration, for metrics. */
  observe?: CallObserver;
  /** Serves paths that are neither RPC methods nor REST routes, and returns true when it responded. */
  serveOther?: RequestHandlerWithResult;
}

type RequestHandlerWithResult = (...args: Parameters<RequestHandler>) => boolean;

export function createRpcStack(options: RpcStackOptions): RequestHandler {
  const { logger, maxBodyBytes } = options;
  const router = createConnectRouter({
    interceptors: [
      createLoggingInterceptor(logger, options.observe),
      createAuthInterceptor(options.apiKeys, logger),
      createDeadlineInterceptor(options.defaultDeadlineMs),
    ],
    readMaxBytes: maxBodyBytes,
    acceptCompression: [compressionGzip, compressionBrotli],
    // Compressing small responses costs more CPU than it saves on loopback and LAN links.
    compressMinBytes: 16 * 1024,
  });
  options.register(router);

  const handlers = router.handlers.map((handler) => guardBinaryParse(handler, maxBodyBytes, logger));
  const transcoder = createTranscoder({
    services: options.restServices,
    handlers,
    registry: createRegistry(file_google_rpc_error_details),
    maxBodyBytes,
    logger,
    successStatus: options.successStatus,
  });
  const notFound: RequestHandler = (request, response) => {
    if (options.serveOther?.(request, response)) return;
    void transcoder.handle(request, response).then((handled) => {
      if (handled) return;
      const path = (request.url ?? "/").split("?", 1)[0];
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ code: 5, message: `no route matches ${request.method} ${path}`, details: [] }));
    });
  };
  return withGrpcMessageEncoding(createRpcHandler(handlers, notFound, logger));
}
