/**
 * The Node request handler for Connect, gRPC and gRPC-Web calls: looks up the universal handler by
 * path and bridges Node's request and response to it. Requests for other paths go to `fallback`.
 * It replaces connectNodeAdapter so that the handlers can be wrapped (see binary-parse-guard.ts)
 * and shared with the REST transcoder.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import type { Logger } from "../logger";
import type { RequestHandler } from "../server";

export function createRpcHandler(handlers: readonly UniversalHandler[], fallback: RequestHandler, logger: Logger): RequestHandler {
  const byPath = new Map(handlers.map((handler) => [handler.requestPath, handler]));
  return (request, response) => {
    const path = (request.url ?? "").split("?", 1)[0];
    const handler = byPath.get(path);
    if (!handler) {
      fallback(request, response);
      return;
    }
    const universalRequest = universalRequestFromNodeRequest(request as never, response as never, undefined, undefined);
    handler(universalRequest)
      .then((universalResponse) => universalResponseToNodeResponse(universalResponse, response as never))
      .catch((reason: unknown) => {
        // Aborted: the client went away while the response was written; there is no one to respond to.
        if (ConnectError.from(reason).code === Code.Aborted) return;
        logger.error({ err: reason, method: handler.method.name }, "writing the response failed");
        if (!response.headersSent) {
          response.writeHead(500);
          response.end();
        } else {
          response.destroy();
        }
      });
  };
}
