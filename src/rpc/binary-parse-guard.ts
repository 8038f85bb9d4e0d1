/**
 * Rejects undecodable protobuf request bodies with INVALID_ARGUMENT. Connect-ES 2.1 reports a
 * failed binary parse as INTERNAL (HTTP 500 for the Connect protocol), which blames the server for
 * the client's bad input; JSON parse failures are already INVALID_ARGUMENT. The guard decodes the
 * body of unary calls once before the handler does and, when that fails, returns the error itself
 * in the form of the call's protocol. Compressed bodies pass through unchecked.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import type { Logger } from "../logger";
import { percentEncodeGrpcMessage } from "./grpc-message";

type BinaryProtocol = "connect" | "grpc" | "grpc-web";

function binaryProtocol(contentType: string): BinaryProtocol | undefined {
  const type = contentType.split(";")[0].trim().toLowerCase();
  if (type === "application/proto") return "connect";
  if (type === "application/grpc" || type === "application/grpc+proto") return "grpc";
  if (type === "application/grpc-web" || type === "application/grpc-web+proto") return "grpc-web";
  return undefined;
}

async function readAll(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Uint8Array | undefined> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    length += chunk.byteLength;
    if (length > maxBytes) return undefined;
  }
  return Buffer.concat(chunks, length);
}

/** Returns the message bytes of the first gRPC envelope, or undefined when it is compressed or cut short. */
function firstEnvelope(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.byteLength < 5 || (bytes[0] & 0b1) !== 0) return undefined;
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1);
  if (bytes.byteLength < 5 + length) return undefined;
  return bytes.subarray(5, 5 + length);
}

function errorResponse(protocol: BinaryProtocol, contentType: string, error: ConnectError): UniversalServerResponse {
  if (protocol === "connect") {
    const status = error.code === Code.ResourceExhausted ? 429 : 400;
    return { status, header: new Headers({ "content-type": "application/json" }), body: replay(errorToJsonBytes(error, {})) };
  }
  const header = new Headers({
    "content-type": contentType,
    "grpc-status": String(error.code),
    "grpc-message": percentEncodeGrpcMessage(error.rawMessage),
  });
  return { status: 200, header };
}

async function* replay(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

export function guardBinaryParse(handler: UniversalHandler, maxBodyBytes: number, logger: Logger): UniversalHandler {
  if (handler.method.methodKind !== "unary") return handler;
  const guarded = async (request: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const contentType = request.header.get("content-type") ?? "";
    const protocol = binaryProtocol(contentType);
    const encoding = request.header.get("content-encoding");
    const body = request.body;
    if (!protocol || (encoding && encoding !== "identity") || !isAsyncIterable(body)) return handler(request);

    // The limit counts the message; gRPC framing adds a 5-byte prefix.
    const bytes = await readAll(body, maxBodyBytes + 5);
    if (bytes === undefined) {
      const error = new ConnectError(`request body is larger than the limit of ${maxBodyBytes} bytes`, Code.ResourceExhausted);
      logger.info({ method: handler.method.name, code: "ResourceExhausted" }, "rpc");
      return errorResponse(protocol, contentType, error);
    }
    const message = protocol === "connect" ? bytes : firstEnvelope(bytes);
    if (message !== undefined) {
      try {
        fromBinary(handler.method.input, message);
      } catch (cause) {
        const reason = cause instanceof Error ? cause.message : String(cause);
        const error = new ConnectError(`invalid ${handler.method.input.typeName} message: ${reason}`, Code.InvalidArgument);
        logger.info({ method: handler.method.name, code: "InvalidArgument", reason: error.rawMessage }, "rpc");
        return errorResponse(protocol, contentType, error);
      }
    }
    return handler({ ...request, body: replay(bytes) });
  };
  return Object.assign(guarded, handler);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return value !== null && typeof value === "object" && Symbol.asyncIterator in value;
}
