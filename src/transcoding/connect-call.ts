import { Code, ConnectError } from "@connectrpc/connect";
import {
  createAsyncIterable,
  readAllBytes,
  type UniversalHandler,
  type UniversalServerRequest,
} from "@connectrpc/connect/protocol";
import { errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { parseTimeout as parseGrpcTimeout } from "@connectrpc/connect/protocol-grpc";
import { invalidArgument } from "./status";

/** The outcome of an in-process Connect unary call. */
export type ConnectCallResult =
  | { kind: "success"; json: string; headers: Record<string, string> }
  | {
      kind: "error";
      error: ConnectError;
      headers: Record<string, string>;
      /** True when the handler did not send a Connect error body, which points to a transcoder bug. */
      unexpected: boolean;
    };

/** Request headers that describe the REST request itself and must not reach the Connect handler. */
const requestHeadersToDrop = new Set([
  "accept-encoding",
  "connection",
  "content-encoding",
  "content-length",
  "content-type",
  "expect",
  "http2-settings",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Response headers that describe the Connect response body, which the transcoder replaces. */
const responseHeadersToDrop = new Set([
  "connection",
  "content-encoding",
  "content-length",
  "content-type",
  "keep-alive",
  "transfer-encoding",
]);

/** Upper bound for reading the handler's response, which the handler's own writeMaxBytes already limits. */
const responseReadMaxBytes = 0xffffffff;

/**
 * Calls the handler as a Connect unary JSON POST to its procedure path, the way a
 * Connect client would, so that its interceptors, validation and deadline apply.
 * Forwards the client's headers (such as `authorization`, `x-api-key` and
 * `x-request-id`) and its signal. A `grpc-timeout` header becomes `connect-timeout-ms`
 * unless the client sent that header too.
 */
export async function callConnectHandler(
  handler: UniversalHandler,
  clientRequest: UniversalServerRequest,
  requestJson: string,
): Promise<ConnectCallResult> {
  const request: UniversalServerRequest = {
    httpVersion: clientRequest.httpVersion,
    method: "POST",
    url: new URL(handler.requestPath, clientRequest.url).toString(),
    header: buildForwardedHeaders(clientRequest.header),
    body: createAsyncIterable([new TextEncoder().encode(requestJson)]),
    signal: clientRequest.signal,
    contextValues: clientRequest.contextValues,
  };

  const response = await handler(request);
  const header = new Headers(response.header);
  const bytes =
    response.body === undefined
      ? new Uint8Array(0)
      : await readAllBytes(response.body, responseReadMaxBytes, header.get("content-length"));
  const headers = forwardableResponseHeaders(header);

  if (response.status === 200) {
    return { kind: "success", json: new TextDecoder().decode(bytes), headers };
  }
  const fallback = new ConnectError(
    `the Connect handler for ${handler.requestPath} returned HTTP ${response.status} without a Connect error body`,
    Code.Internal,
  );
  try {
    return { kind: "error", error: errorFromJsonBytes(bytes, undefined, fallback), headers, unexpected: false };
  } catch {
    return { kind: "error", error: fallback, headers, unexpected: true };
  }
}

function buildForwardedHeaders(clientHeader: Headers): Headers {
  const header = new Headers();
  clientHeader.forEach((value, key) => {
    const isProtocolHeader = (key.startsWith("connect-") && key !== "connect-timeout-ms") || key.startsWith("grpc-");
    if (!requestHeadersToDrop.has(key) && !isProtocolHeader) {
      header.set(key, value);
    }
  });
  header.set("content-type", "application/json");
  header.set("connect-protocol-version", "1");

  const grpcTimeout = clientHeader.get("grpc-timeout");
  if (grpcTimeout !== null && !header.has("connect-timeout-ms")) {
    const timeout = parseGrpcTimeout(grpcTimeout, Number.MAX_SAFE_INTEGER);
    if (timeout.error !== undefined || timeout.timeoutMs === undefined) {
      throw invalidArgument(
        `invalid grpc-timeout header "${grpcTimeout}": expected up to 8 digits and a unit H, M, S, m, u or n`,
      );
    }
    header.set("connect-timeout-ms", String(Math.ceil(timeout.timeoutMs)));
  }
  return header;
}

/**
 * Returns the handler's response headers that may reach the REST client. Trailers
 * keep the `trailer-` prefix that the Connect protocol gives them in unary responses.
 */
function forwardableResponseHeaders(header: Headers): Record<string, string> {
  const result: Record<string, string> = {};
  header.forEach((value, key) => {
    if (!responseHeadersToDrop.has(key) && !key.startsWith("connect-")) {
      result[key] = value;
    }
  });
  return result;
}
