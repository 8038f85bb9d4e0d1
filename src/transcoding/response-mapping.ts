import { create, fromJsonString, toJson, type DescMethod, type JsonObject, type Message, type Registry } from "@bufbuild/protobuf";
import type { TranscodingRoute } from "./routes";

/**
 * Chooses the HTTP status of a successful response from the response message, per method.
 * Returning undefined keeps 200. Only the listed methods pay for parsing their response.
 */
export type SuccessStatusFn = (response: Message) => number | undefined;
export type SuccessStatusMap = ReadonlyMap<DescMethod, SuccessStatusFn>;

/**
 * Turns the handler's proto3 JSON response into the REST response. Without
 * `response_body` the JSON passes through unchanged. With it, the body is that field's
 * JSON value: its default when the handler omitted it, or null for an unset message
 * or optional field.
 */
export function buildSuccessResponse(
  route: TranscodingRoute,
  responseJson: string,
  registry: Registry,
  successStatus: SuccessStatusMap | undefined,
): { status: number; body: string } {
  let status = 200;
  const chooseStatus = successStatus?.get(route.method);
  if (chooseStatus !== undefined) {
    const message = fromJsonString(route.method.output, responseJson, { registry, ignoreUnknownFields: true });
    const chosen = chooseStatus(message);
    if (chosen !== undefined) {
      if (!Number.isInteger(chosen) || chosen < 200 || chosen > 599) {
        throw new Error(`successStatus returned ${chosen} for ${route.method.name}; expected an HTTP status from 200 to 599`);
      }
      status = chosen;
    }
  }

  const field = route.responseBody;
  if (field === undefined) {
    return { status, body: responseJson };
  }
  const response = JSON.parse(responseJson) as JsonObject;
  let value = response[field.jsonName] ?? response[field.name];
  if (value === undefined) {
    // Proto3 JSON omits default values, so take the default from an empty message.
    const defaults = toJson(route.method.output, create(route.method.output), { alwaysEmitImplicit: true, registry });
    value = (defaults as JsonObject)[field.jsonName] ?? null;
  }
  return { status, body: JSON.stringify(value) };
}
