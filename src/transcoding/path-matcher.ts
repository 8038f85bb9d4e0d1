import type { PathTemplate } from "./path-template";

/** A path variable's value, percent-decoded as its template requires. */
export interface PathVariableValue {
  fieldPath: string[];
  value: string;
}

/** Raised when a matched variable contains invalid percent-encoding or UTF-8. */
export class PathDecodingError extends Error {
  constructor(
    readonly fieldPath: string[],
    readonly rawValue: string,
  ) {
    super(`path segment "${rawValue}" for field "${fieldPath.join(".")}" is not valid percent-encoded UTF-8`);
    this.name = "PathDecodingError";
  }
}

/** A template that matched a path, with the raw (still encoded) text of each variable. */
export interface PathMatch {
  template: PathTemplate;
  rawValues: { fieldPath: string[]; raw: string; singleSegment: boolean }[];
}

const unreservedCharacter = /^[A-Za-z0-9\-._~]$/;

/**
 * Decodes percent-encoded unreserved characters (RFC 3986 section 6.2.2.2), so that
 * `/v1/%6Dessages` matches the literal `messages`. Reserved characters such as `%2F`
 * stay encoded, because they must never act as delimiters.
 */
export function normalizePath(rawPath: string): string {
  return rawPath.replace(/%([0-9A-Fa-f]{2})/g, (escape: string, hex: string) => {
    const character = String.fromCharCode(parseInt(hex, 16));
    return unreservedCharacter.test(character) ? character : escape;
  });
}

/**
 * Matches a raw request path (without the query string) against a template.
 * Splitting happens on the raw path, so an encoded `%2F` never separates segments.
 * Returns undefined when the path does not match.
 */
export function matchPathTemplate(template: PathTemplate, rawPath: string): PathMatch | undefined {
  if (!rawPath.startsWith("/")) {
    return undefined;
  }
  const pathSegments = normalizePath(rawPath).slice(1).split("/");

  if (template.verb !== undefined) {
    const suffix = `:${template.verb}`;
    const last = pathSegments[pathSegments.length - 1];
    if (!last.endsWith(suffix)) {
      return undefined;
    }
    pathSegments[pathSegments.length - 1] = last.slice(0, -suffix.length);
  }

  // spans[i] is the range of path segments that template segment i consumed.
  const spans: [number, number][] = [];
  let next = 0;
  for (const segment of template.segments) {
    if (segment.kind === "deepWildcard") {
      spans.push([next, pathSegments.length]);
      next = pathSegments.length;
      continue;
    }
    if (next >= pathSegments.length) {
      return undefined;
    }
    const text = pathSegments[next];
    if (segment.kind === "literal" && text !== segment.value) {
      return undefined;
    }
    if (segment.kind === "wildcard" && text === "") {
      return undefined;
    }
    spans.push([next, next + 1]);
    next++;
  }
  if (next !== pathSegments.length) {
    return undefined;
  }

  const rawValues = template.variables.map((variable) => {
    const from = spans[variable.start][0];
    const to = spans[variable.end - 1][1];
    return {
      fieldPath: variable.fieldPath,
      raw: pathSegments.slice(from, to).join("/"),
      singleSegment: variable.singleSegment,
    };
  });
  return { template, rawValues };
}

/**
 * Percent-decodes the variables of a match. Single-segment values are fully decoded,
 * so `%2F` becomes a slash in the value. Multi-segment values are decoded except for
 * `%2F` and `%2f`, which stay as written, as google/api/http.proto requires.
 * Throws PathDecodingError for malformed escapes or invalid UTF-8.
 */
export function decodePathVariables(match: PathMatch): PathVariableValue[] {
  return match.rawValues.map(({ fieldPath, raw, singleSegment }) => {
    try {
      const value = singleSegment ? decodeURIComponent(raw) : decodeKeepingSlashEscapes(raw);
      return { fieldPath, value };
    } catch {
      throw new PathDecodingError(fieldPath, raw);
    }
  });
}

function decodeKeepingSlashEscapes(raw: string): string {
  // The capturing group keeps each %2F in the split output, at odd indexes.
  return raw
    .split(/(%2[Ff])/)
    .map((part, index) => (index % 2 === 1 ? part : decodeURIComponent(part)))
    .join("");
}

/**
 * Orders templates so that the most specific one is tried first. A custom verb wins.
 * Otherwise the first segment that differs decides: a literal beats `*`, `*` beats a
 * template that has already ended, and that beats `**`. Equal templates keep their order.
 */
export function compareTemplateSpecificity(a: PathTemplate, b: PathTemplate): number {
  const verbOrder = Number(b.verb !== undefined) - Number(a.verb !== undefined);
  if (verbOrder !== 0) {
    return verbOrder;
  }
  const rank = (template: PathTemplate, index: number): number => {
    const segment = template.segments[index];
    if (segment === undefined) {
      return 2;
    }
    return { literal: 0, wildcard: 1, deepWildcard: 3 }[segment.kind];
  };
  const length = Math.max(a.segments.length, b.segments.length);
  for (let index = 0; index < length; index++) {
    const difference = rank(a, index) - rank(b, index);
    if (difference !== 0) {
      return difference;
    }
  }
  return 0;
}
