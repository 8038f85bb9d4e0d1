import net from "node:net";
import { type TestApp, startTestApp } from "../support/test-app";

let harness: TestApp;

beforeAll(async () => {
  harness = await startTestApp("slow", { HEADERS_TIMEOUT_MS: "500", REQUEST_TIMEOUT_MS: "1000" });
});

afterAll(async () => {
  await harness.close();
});

/** Opens a connection, sends `first`, then one byte every 100 ms; resolves with how long the server kept it open. */
function trickle(first: string): Promise<number> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(harness.port, "127.0.0.1", () => socket.write(first));
    const timer = setInterval(() => socket.write("x"), 100);
    const done = () => {
      clearInterval(timer);
      resolve(performance.now() - started);
    };
    socket.on("close", done);
    socket.on("error", () => socket.destroy());
    socket.resume();
    setTimeout(() => socket.destroy(), 10_000).unref();
  });
}

test("closes an HTTP/1.1 connection whose headers arrive too slowly", async () => {
  const openMs = await trickle("POST /coordinator/jobs HTTP/1.1\r\nHost: localhost\r\nX-Slow: ");
  expect(openMs).toBeLessThan(3000);
});

test("closes a connection that never finishes its first bytes", async () => {
  const openMs = await new Promise<number>((resolve) => {
    const started = performance.now();
    const socket = net.connect(harness.port, "127.0.0.1", () => socket.write("PRI * HTTP/2.0\r\n"));
    socket.on("close", () => resolve(performance.now() - started));
    socket.on("error", () => socket.destroy());
    setTimeout(() => socket.destroy(), 10_000).unref();
  });
  expect(openMs).toBeLessThan(3000);
});
