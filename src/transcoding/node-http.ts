import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { universalResponseToNodeResponse } from "@connectrpc/connect-node";

export type NodeRequest = IncomingMessage | Http2ServerRequest;

/**
 * An http, https or http2 server response, typed as `connectNodeAdapter` types it, so
 * that its `fallback` can pass its response on.
 */
export type NodeResponse = Parameters<typeof universalResponseToNodeResponse>[1];

/** Splits a request target into the raw (still percent-encoded) path and the query parameters. */
export function splitRequestTarget(target: string): { rawPath: string; query: URLSearchParams } {
  // An absolute-form target ("http://host/path") comes from clients that talk to a proxy.
  let relative = target;
  if (!target.startsWith("/")) {
    try {
      const url = new URL(target);
      relative = url.pathname + url.search;
    } catch {
      // A target that is not a URL, such as the "*" of "OPTIONS *", matches no route.
      return { rawPath: "", query: new URLSearchParams() };
    }
  }
  const queryStart = relative.indexOf("?");
  if (queryStart < 0) {
    return { rawPath: relative, query: new URLSearchParams() };
  }
  return { rawPath: relative.slice(0, queryStart), query: new URLSearchParams(relative.slice(queryStart + 1)) };
}

/**
 * Writes a JSON response with Content-Type and Content-Length. Does nothing when the
 * headers are already sent or the connection is gone.
 */
export function writeJson(
  response: NodeResponse,
  status: number,
  headers: Record<string, string>,
  body: unknown,
  omitBody: boolean,
): void {
  if (response.headersSent || response.destroyed) {
    return;
  }
  const bytes = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  const allHeaders: OutgoingHttpHeaders = {
    ...headers,
    "content-type": "application/json",
    "content-length": bytes.length,
  };
  const writable = response as unknown as {
    writeHead(status: number, headers: OutgoingHttpHeaders): void;
    end(data?: Uint8Array): void;
  };
  writable.writeHead(status, allHeaders);
  writable.end(omitBody ? undefined : bytes);
}
