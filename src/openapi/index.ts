export { buildOpenApiDocument } from "./openapi-document";
export type { OpenApiOptions } from "./openapi-document";
export { createOpenApiHandler, OPENAPI_PATH } from "./serve-openapi";
export type { OpenApiHandler } from "./serve-openapi";
