/** Status, headers and the fully read body of a fetch response. */
export interface ReadResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: unknown;
}

export async function send(baseUrl: string, path: string, init: RequestInit = {}): Promise<ReadResponse> {
  const response = await fetch(baseUrl + path, init);
  const text = await response.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Sends `body` as JSON with the given method. */
export function sendJson(baseUrl: string, method: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  return send(baseUrl, path, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}
