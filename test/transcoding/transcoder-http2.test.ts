import * as http2 from "node:http2";
import { startCoordinatorServer, type CoordinatorHarness } from "./coordinator-harness";

let harness: CoordinatorHarness;
let session: http2.ClientHttp2Session;

beforeEach(async () => {
  harness = await startCoordinatorServer({ http2: true, maxBodyBytes: 1024 });
  session = http2.connect(harness.baseUrl);
});

afterEach(async () => {
  await new Promise<void>((resolve) => session.close(resolve));
  await harness.close();
});

/** Sends one HTTP/2 request and reads the whole response. */
function request(headers: http2.OutgoingHttpHeaders, body?: string) {
  return new Promise<{ status: number; headers: http2.IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const stream = session.request(headers);
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let text = "";
    stream.setEncoding("utf8");
    stream.on("response", (received) => (responseHeaders = received));
    stream.on("data", (chunk: string) => (text += chunk));
    stream.on("end", () => resolve({ status: Number(responseHeaders[":status"]), headers: responseHeaders, text }));
    stream.on("error", reject);
    stream.end(body);
  });
}

describe("transcoder over HTTP/2", () => {
  test("POST creates job", async () => {
    const response = await request(
      { ":method": "POST", ":path": "/api/coordinator/jobs", "content-type": "application/json", authorization: "Bearer h2" },
      JSON.stringify({ requestId: "r-1", type: "code-task" }),
    );

    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(response.text)).toMatchObject({ job: { id: "job-1", requestId: "r-1" }, created: true });
    expect(harness.calls[0].headers.authorization).toBe("Bearer h2");
  });

  test("GET binds path and query", async () => {
    const response = await request({ ":method": "GET", ":path": "/coordinator/jobs/job%2F3?page_size=2" });

    expect(response.status).toBe(200);
    expect(harness.calls[0].request).toEqual({ id: "job/3", pageSize: 2 });
  });

  test("body over limit is 413", async () => {
    const response = await request(
      { ":method": "POST", ":path": "/coordinator/jobs", "content-type": "application/json" },
      JSON.stringify({ type: "x".repeat(2000) }),
    );

    expect(response.status).toBe(413);
    expect(JSON.parse(response.text)).toEqual({
      code: 8,
      message: "request body is larger than the maximum of 1024 bytes",
      details: [],
    });
  });

  test("wrong method is 405 with Allow", async () => {
    const response = await request({ ":method": "DELETE", ":path": "/coordinator/health" });

    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe("GET, HEAD");
  });
});
