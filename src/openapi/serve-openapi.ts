/**
 * Serves the generated OpenAPI document (gen/openapi/coordinator.openapi.json) at
 * GET /openapi.json, without an API key, because it describes the API and contains no data.
 */
import type http from "node:http";
import type http2 from "node:http2";
import generatedDocument from "../../gen/openapi/coordinator.openapi.json";

export const OPENAPI_PATH = "/openapi.json";

export type OpenApiHandler = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => boolean;

/**
 * Creates a request handler that serves the document for GET and HEAD of /openapi.json (with any
 * query string) and responds 405 to other methods on that path. For every other path it returns
 * false and writes nothing.
 */
export function createOpenApiHandler(document: unknown = generatedDocument): OpenApiHandler {
  const body = Buffer.from(JSON.stringify(document));
  return (request, response) => {
    const path = (request.url ?? "").split("?", 1)[0];
    if (path !== OPENAPI_PATH) return false;

    if (request.method !== "GET" && request.method !== "HEAD") {
      const error = Buffer.from(
        JSON.stringify({ code: 12, message: `method ${request.method} is not allowed on ${OPENAPI_PATH}; use GET`, details: [] }),
      );
      response.writeHead(405, { allow: "GET, HEAD", "content-type": "application/json", "content-length": error.length });
      response.end(error);
      return true;
    }
    response.writeHead(200, { "content-type": "application/json", "content-length": body.length, "cache-control": "no-cache" });
    if (request.method === "HEAD") response.end();
    else response.end(body);
    return true;
  };
}
