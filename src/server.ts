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
    const tracker = new ConnectionTracker();
    server.removeAllListeners("request");
    server.on("request", tracker.wrap(handler));
    server.on("connection", (socket: net.Socket) => tracker.addSocket(socket));
    server.on("session", (session) => tracker.addSession(session));
    return { server, close: (graceMs) => tracker.close(server, graceMs) };
  }

  const tracker = new ConnectionTracker();
  const tracked = tracker.wrap(handler);
  const http1 = http.createServer(
    {
      headersTimeout: options.headersTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
      keepAliveTimeout: 5_000,
      // Node checks the two timeouts above only this often (30 s by default).
      connectionsCheckingInterval: Math.min(1000, options.headersTimeoutMs ?? 1000),
    },
    tracked,
  );
  // Node starts the checks behind headersTimeout and requestTimeout when an http.Server emits
  // 'listening'. This one never listens itself (it is handed sockets), so the event is emitted by hand.
  http1.emit("listening");
  const h2c = http2.createServer({}, tracked);
  h2c.setTimeout(idleTimeoutMs);
  h2c.on("session", (session) => tracker.addSession(session));

  // http.Server turns Nagle's algorithm off (TCP_NODELAY) only on sockets it accepts itself, so the
  // HTTP/1.1 sockets handed over here would keep it and could hold back a response's second write.
  const server = net.createServer({ noDelay: true }, (socket) => {
    tracker.addSocket(socket);
    routeConnection(socket, http1, h2c, options.headersTimeoutMs ?? 10_000);
  });
  return { server, close: (graceMs) => tracker.close(server, graceMs) };
}

/**
 * Tracks sockets, HTTP/2 sessions and in-flight requests so that close can stop accepting, let the
 * requests in progress finish within the grace period, and then end every connection.
 */
class ConnectionTracker {
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private inFlight = 0;
  private closing = false;
  private drained: (() => void) | undefined;

  wrap(handler: RequestHandler): RequestHandler {
    return (request, response) => {
      this.inFlight += 1;
      // Tell HTTP/1.1 clients not to reuse a connection that is about to close.
      if (this.closing && request.httpVersionMajor === 1) response.setHeader("connection", "close");
      response.once("close", () => {
        this.inFlight -= 1;
        if (this.closing && this.inFlight === 0) this.drained?.();
      });
      handler(request, response);
    };
  }

  addSocket(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  addSession(session: http2.ServerHttp2Session): void {
    this.sessions.add(session);
    session.once("close", () => this.sessions.delete(session));
    if (this.closing) session.close();
  }

  async close(server: net.Server, graceMs: number): Promise<void> {
    this.closing = true;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of this.sessions) session.close();
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, graceMs).unref();
      });
    }
    for (const socket of this.sockets) socket.destroy();
    await stopped;
  }
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
