/**
 * Rewrites the `grpc-message` header and trailer of gRPC responses to the minimal percent-encoding
 * of the gRPC HTTP/2 protocol: printable ASCII except `%` stays as it is, every other byte becomes
 * `%XX`. Connect-ES 2.1 encodes the message with encodeURIComponent, which also escapes `:` and
 * `,`, while grpc-js 1.14 decodes it with decodeURI, which leaves `%3A` and `%2C` as they are, so
 * grpc-js clients would see "invalid id%3A must be ...". Both forms decode the same with a full
 * percent-decoder, such as grpcio's.
 * See https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md (Status-Message).
 */
import type { OutgoingHttpHeaders } from "node:http";
import type { RequestHandler } from "../server";

export function percentEncodeGrpcMessage(message: string): string {
  let encoded = "";
  for (const byte of Buffer.from(message, "utf8")) {
    encoded += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return encoded;
}

function rewrite(headers: unknown): void {
  if (headers === null || typeof headers !== "object") return;
  const fields = headers as OutgoingHttpHeaders;
  const value = fields["grpc-message"];
  if (typeof value !== "string") return;
  try {
    fields["grpc-message"] = percentEncodeGrpcMessage(decodeURIComponent(value));
  } catch {
    // Not valid percent-encoding: leave it as the handler wrote it.
  }
}

/** Wraps a handler so that responses to gRPC requests (not gRPC-Web) carry the minimal encoding. */
export function withGrpcMessageEncoding(handler: RequestHandler): RequestHandler {
  return (request, response) => {
    const contentType = request.headers["content-type"] ?? "";
    if (contentType.startsWith("application/grpc") && !contentType.startsWith("application/grpc-web")) {
      const writeHead = response.writeHead.bind(response) as (...args: unknown[]) => unknown;
      const addTrailers = response.addTrailers.bind(response) as (headers: unknown) => void;
      (response as { writeHead: unknown }).writeHead = (...args: unknown[]) => {
        for (const arg of args) rewrite(arg);
        return writeHead(...args);
      };
      (response as { addTrailers: unknown }).addTrailers = (headers: unknown) => {
        rewrite(headers);
        addTrailers(headers);
      };
    }
    handler(request, response);
  };
}
