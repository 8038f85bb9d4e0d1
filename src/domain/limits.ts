/**
 * Bounds on what a request may store. Each is checked before any write, and each refusal names
 * the field. The sizes are of the JSON text in UTF-16 code units, as JavaScript measures strings.
 */
export const LIMITS = {
  requestIdLength: 200,
  typeLength: 100,
  queueLength: 100,
  maxPriority: 2_097_152,
  forgeLength: 50,
  repositoryLength: 200,
  urlLength: 2048,
  eventLength: 100,
  deliveryIdLength: 200,
  messageLength: 4000,
  summaryLength: 10_000,
  errorLength: 10_000,
  gateCount: 100,
  gateNameLength: 100,
  stepNameLength: 100,
  phaseLength: 100,
  payloadJsonLength: 64 * 1024,
  resultJsonLength: 256 * 1024,
  gateDetailsJsonLength: 16 * 1024,
  jsonDepth: 32,
  defaultPageSize: 100,
  maxPageSize: 1000,
} as const;
