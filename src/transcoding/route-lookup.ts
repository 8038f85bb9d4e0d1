import { matchPathTemplate, type PathMatch } from "./path-matcher";
import type { TranscodingRoute } from "./routes";

export type RouteLookup =
  | { kind: "matched"; route: TranscodingRoute; match: PathMatch }
  /** The path matches at least one route, but none for this HTTP method. */
  | { kind: "methodNotAllowed"; allowedMethods: string[] }
  | { kind: "notFound" };

/**
 * Finds the first route, in the order of `routes`, whose template matches the raw
 * path and whose method matches. HEAD is served by GET routes unless a route binds
 * HEAD itself.
 */
export function findRoute(routes: TranscodingRoute[], httpMethod: string, rawPath: string): RouteLookup {
  const pathMatches: { route: TranscodingRoute; match: PathMatch }[] = [];
  for (const route of routes) {
    const match = matchPathTemplate(route.template, rawPath);
    if (match !== undefined) {
      pathMatches.push({ route, match });
    }
  }
  if (pathMatches.length === 0) {
    return { kind: "notFound" };
  }

  const accepts = (route: TranscodingRoute, method: string) =>
    route.httpMethod === "*" || route.httpMethod === method;
  const exact = pathMatches.find(({ route }) => accepts(route, httpMethod));
  if (exact !== undefined) {
    return { kind: "matched", ...exact };
  }
  if (httpMethod === "HEAD") {
    const get = pathMatches.find(({ route }) => accepts(route, "GET"));
    if (get !== undefined) {
      return { kind: "matched", ...get };
    }
  }

  const allowedMethods = new Set(pathMatches.map(({ route }) => route.httpMethod));
  if (allowedMethods.has("GET")) {
    allowedMethods.add("HEAD");
  }
  return { kind: "methodNotAllowed", allowedMethods: [...allowedMethods].sort() };
}

/**
 * Returns the path prefixes that the routes claim, so that an unknown path under one
 * of them gets a 404 instead of falling through to other handlers. A prefix is the run
 * of literal segments before the first variable or wildcard, so `/v1/{name=messages/*}`
 * claims `/v1`. For a template without variables or wildcards and with more than one
 * segment the last segment is dropped, so that `/coordinator/health` claims `/coordinator`.
 */
export function servedPathPrefixes(routes: TranscodingRoute[]): string[] {
  const prefixes = new Set<string>();
  for (const { template } of routes) {
    const starts = [
      ...template.variables.map((variable) => variable.start),
      template.segments.findIndex((segment) => segment.kind !== "literal"),
    ].filter((index) => index >= 0);
    const fixedCount = starts.length === 0 ? template.segments.length : Math.min(...starts);
    let literals = template.segments.slice(0, fixedCount);
    if (starts.length === 0 && literals.length > 1) {
      literals = literals.slice(0, -1);
    }
    prefixes.add("/" + literals.map((segment) => (segment.kind === "literal" ? segment.value : "")).join("/"));
  }
  // Keep only the shortest prefixes, because a longer one adds nothing.
  const sorted = [...prefixes].sort((a, b) => a.length - b.length);
  return sorted.filter(
    (prefix, index) => !sorted.slice(0, index).some((shorter) => isUnderPrefix(prefix, shorter)),
  );
}

/** Returns true when the raw path equals the prefix or continues it with a slash. */
export function isUnderPrefix(rawPath: string, prefix: string): boolean {
  if (prefix === "/") {
    return true;
  }
  return rawPath === prefix || rawPath.startsWith(prefix + "/");
}
