export { createGrpcHealthService, DEFAULT_WATCH_INTERVAL_MS } from "./grpc-health-service";
export type { GrpcHealthOptions, GrpcHealthService, ServerHealth } from "./grpc-health-service";
