/**
 * One port for every transport. A cleartext HTTP/2 server cannot accept HTTP/1.1, so the listener
 * reads the first bytes of each connection: the HTTP/2 connection preface sends it to the HTTP/2
 * server (gRPC, Connect and gRPC-Web over h2c), anything else to the HTTP/1.1 server (curl,
 * Connect and gRPC-Web over HTTP/1.1). With a certificate, one TLS server offers both through ALPN.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

export type RequestHandler = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface ServerOptions {
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Time allowed for a client to send a whole request's headers. */
  headersTimeoutMs?: number;
  /** Time allowed for a whole HTTP/1.1 request, headers and body; a slow sender is cut off after it. */
  requestTimeoutMs?: number;
  /** An idle connection is closed after this long. */
  idleTimeoutMs?: number;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** A listening server on one port, with a close that waits for open requests to finish. */
export interface PortServer {
  server: net.Server;
  /** Stops accepting connections, lets in-flight requests finish, and closes idle connections. */
  close(graceMs: number): Promise<void>;
}

export function createPortServer(handler: RequestHandler, options: ServerOptions = {}): PortServer {
  const idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
  if (options.tlsCertFile && options.tlsKeyFile) {
    const server = http2.createSecureServer(
      { cert: readFileSync(options.tlsCertFile), key: readFileSync(options.tlsKeyFile), allowHTTP1: true },
      handler,
    );
    server.setTimeout(idleTimeoutMs);
    return { server, close: (graceMs) => closeServer(server, [], graceMs) };
  }

  const http1 = http.createServer(
    {
      headersTimeout: options.headersTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
      keepAliveTimeout: 5_000,
    },
    handler,
  );
  const h2c = http2.createServer({}, handler);
  h2c.setTimeout(idleTimeoutMs);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2c.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });

  const server = net.createServer((socket) => routeConnection(socket, http1, h2c, options.headersTimeoutMs ?? 10_000));
  return {
    server,
    close: async (graceMs) => {
      http1.closeIdleConnections();
      for (const session of sessions) session.close();
      await closeServer(server, [http1], graceMs);
    },
  };
}

/** Reads until the bytes match or rule out the HTTP/2 preface, then hands the socket over with the bytes put back. */
function routeConnection(socket: net.Socket, http1: http.Server, h2c: http2.Http2Server, firstBytesTimeoutMs: number): void {
  let received = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), firstBytesTimeoutMs);
  socket.on("error", () => socket.destroy());
  const onData = (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    const compared = Math.min(received.length, PREFACE.length);
    const isHttp2 = received.subarray(0, compared).equals(PREFACE.subarray(0, compared));
    if (isHttp2 && received.length < PREFACE.length) return;
    clearTimeout(timer);
    socket.removeListener("data", onData);
    socket.pause();
    socket.unshift(received);
    if (isHttp2) {
      // The HTTP/2 session reads the bytes put back itself; resuming here would drop them.
      h2c.emit("connection", socket);
    } else {
      http1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
}

function closeServer(server: net.Server, inner: http.Server[], graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      for (const httpServer of inner) httpServer.closeAllConnections();
      resolve();
    }, graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    for (const httpServer of inner) httpServer.close();
  });
}
