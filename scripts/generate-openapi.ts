/**
 * Writes gen/openapi/coordinator.openapi.json, the OpenAPI 3.1 document of the REST paths, from
 * the protobuf-es descriptors in gen/es. Run it after buf generate: `npx tsx scripts/generate-openapi.ts`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CoordinatorJobsService } from "../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { StatusSchema } from "../gen/es/google/rpc/status_pb";
import { version } from "../package.json";
import { buildOpenApiDocument } from "../src/openapi/openapi-document";

export const OPENAPI_FILE = path.resolve(__dirname, "../gen/openapi/coordinator.openapi.json");

/** Returns the document as written to OPENAPI_FILE: two-space indented JSON with a final newline. */
export function renderOpenApiDocument(): string {
  const document = buildOpenApiDocument({
    services: [CoordinatorJobsService],
    title: "coordinator-jobs REST API",
    version,
    description:
      "REST/JSON bindings of coordinator.v1.CoordinatorJobsService, transcoded from its google.api.http options. " +
      "The same port serves the service over gRPC, gRPC-Web and Connect.",
    errorMessage: StatusSchema,
    // Must match the methods that createAuthInterceptor (src/rpc/interceptors.ts) lets through without a key.
    openMethods: ["coordinator.v1.CoordinatorJobsService.GetHealth"],
    // Must match the successStatus option of the transcoder in src/app.ts.
    extraSuccessStatuses: {
      "coordinator.v1.CoordinatorJobsService.GetHealth": {
        "503": "The service is NOT_SERVING; the body is the GetHealthResponse with the failing dependencies.",
      },
    },
  });
  return `${JSON.stringify(document, null, 2)}\n`;
}

if (require.main === module) {
  mkdirSync(path.dirname(OPENAPI_FILE), { recursive: true });
  writeFileSync(OPENAPI_FILE, renderOpenApiDocument());
  console.log(`wrote ${path.relative(process.cwd(), OPENAPI_FILE)}`);
}
