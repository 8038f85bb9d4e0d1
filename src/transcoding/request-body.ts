import type { Readable } from "node:stream";
import type { IncomingHttpHeaders } from "node:http";
import type { JsonValue } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { invalidArgument, TranscodingError } from "./status";

/**
 * Reads and parses a JSON request body of at most `maxBytes` bytes.
 * Returns undefined when the body is empty.
 *
 * Errors: 413 when the body is larger than `maxBytes`, 415 when a non-empty body is
 * not `application/json` in UTF-8 or has a Content-Encoding, and 400 when it is not
 * valid UTF-8 or JSON. The 400 message gives the position of a JSON syntax error.
 */
export async function readJsonBody(
  request: Readable & { headers: IncomingHttpHeaders },
  maxBytes: number,
): Promise<JsonValue | undefined> {
  const declaredLength = Number(request.headers["content-length"] ?? 0);
  if (declaredLength > maxBytes) {
    throw new TranscodingError(
      `request body is ${declaredLength} bytes, more than the maximum of ${maxBytes} bytes`,
      Code.ResourceExhausted,
      413,
    );
  }

  const bytes = await readBytes(request, maxBytes);
  if (bytes.length === 0) {
    return undefined;
  }
  checkContentHeaders(request.headers);

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw invalidArgument("request body is not valid UTF-8");
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw invalidArgument(`request body is not valid JSON: ${describeSyntaxError(error, text)}`);
  }
}

function checkContentHeaders(headers: IncomingHttpHeaders): void {
  const encoding = headers["content-encoding"]?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== "" && encoding !== "identity") {
    throw new TranscodingError(
      `Content-Encoding "${encoding}" is not supported; send the request body uncompressed`,
      Code.InvalidArgument,
      415,
    );
  }

  const contentType = headers["content-type"];
  const [mediaType, ...parameters] = (contentType ?? "").split(";").map((part) => part.trim().toLowerCase());
  const charset = parameters.find((parameter) => parameter.startsWith("charset="))?.slice("charset=".length);
  const isUtf8 = charset === undefined || /^"?utf-?8"?$/.test(charset);
  if (mediaType !== "application/json" || !isUtf8) {
    const actual = contentType === undefined ? "no Content-Type" : `"${contentType}"`;
    throw new TranscodingError(
      `request body must be application/json in UTF-8, got ${actual}`,
      Code.InvalidArgument,
      415,
    );
  }
}

/**
 * Collects the body with event listeners instead of `for await`, because leaving a
 * `for await` loop early destroys the request, and with it the socket that must still
 * carry the 413 response.
 */
function readBytes(request: Readable, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (request.readableEnded) {
      reject(new Error("the request body was already read before the transcoder got the request"));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", onError);
      request.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        // Discard the rest, so that the connection stays usable after the 413.
        request.resume();
        reject(
          new TranscodingError(
            `request body is larger than the maximum of ${maxBytes} bytes`,
            Code.ResourceExhausted,
            413,
          ),
        );
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      cleanup();
      // Errors on a request stream come from the connection, such as a client reset.
      reject(new TranscodingError(`reading the request body failed: ${error.message}`, Code.Canceled, 499));
    };
    const onClose = () => {
      cleanup();
      reject(new TranscodingError("client closed the request before its body ended", Code.Canceled, 499));
    };
    request.on("data", onData);
    request.once("end", onEnd);
    request.once("error", onError);
    request.once("close", onClose);
  });
}

/** Returns the parser's message, with the line and column when it names a position. */
function describeSyntaxError(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = /at position (\d+)/.exec(message);
  if (position === null) {
    return message;
  }
  const before = text.slice(0, Number(position[1]));
  const line = before.split("\n").length;
  const column = before.length - before.lastIndexOf("\n");
  return `${message} (line ${line}, column ${column})`;
}
