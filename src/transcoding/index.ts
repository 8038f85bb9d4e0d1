/**
 * REST/JSON transcoding of `google.api.http` options onto Connect handlers.
 * See `createTranscoder`.
 */
export { createTranscoder } from "./transcoder";
export type { Transcoder, TranscoderLogger, TranscoderOptions } from "./transcoder";
export type { NodeRequest, NodeResponse } from "./node-http";
export type { SuccessStatusFn, SuccessStatusMap } from "./response-mapping";
export type { BodyBinding, TranscodingRoute } from "./routes";
export { parsePathTemplate } from "./path-template";
export type { PathTemplate, TemplateSegment, TemplateVariable } from "./path-template";
export { decodePathVariables, matchPathTemplate } from "./path-matcher";
export type { PathMatch, PathVariableValue } from "./path-matcher";
export { httpStatusForCode } from "./status";
