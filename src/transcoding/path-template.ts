/**
 * Parser for the path templates of `google.api.HttpRule`, following the grammar in
 * google/api/http.proto:
 *
 *     Template  = "/" Segments [ Verb ] ;
 *     Segments  = Segment { "/" Segment } ;
 *     Segment   = "*" | "**" | LITERAL | Variable ;
 *     Variable  = "{" FieldPath [ "=" Segments ] "}" ;
 *     FieldPath = IDENT { "." IDENT } ;
 *     Verb      = ":" LITERAL ;
 */

/** One segment of a path template, after variables are flattened out. */
export type TemplateSegment =
  | { kind: "literal"; value: string }
  /** `*`: exactly one non-empty path segment. */
  | { kind: "wildcard" }
  /** `**`: zero or more path segments, allowed only as the last segment. */
  | { kind: "deepWildcard" };

/** A `{field.path=segments}` variable and the template segments it captures. */
export interface TemplateVariable {
  /** Proto field names from the request message down to the bound field. */
  fieldPath: string[];
  /** Index of the first captured segment in `PathTemplate.segments`. */
  start: number;
  /** Index after the last captured segment. */
  end: number;
  /**
   * True when the variable captures exactly one segment and no `**`. Such values are
   * fully percent-decoded. Multi-segment values keep `%2F` encoded.
   */
  singleSegment: boolean;
}

export interface PathTemplate {
  /** The template text as written in the proto file. */
  source: string;
  segments: TemplateSegment[];
  variables: TemplateVariable[];
  /** The custom verb without its leading colon, such as `cancel`. */
  verb: string | undefined;
}

const identifierPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Characters that end a literal: the delimiters `/`, `{`, `}` and `=`, and the colon of a verb. */
const literalTerminators = new Set(["/", "{", "}", ":", "="]);

/**
 * Parses a path template such as `/v1/{name=messages/*}:cancel`.
 * Throws an Error naming the template and the position of the first syntax error.
 */
export function parsePathTemplate(source: string): PathTemplate {
  let position = 0;
  const segments: TemplateSegment[] = [];
  const variables: TemplateVariable[] = [];

  const fail = (reason: string): never => {
    throw new Error(`invalid path template "${source}": ${reason} at position ${position}`);
  };

  const parseLiteral = (): string => {
    const start = position;
    while (position < source.length && !literalTerminators.has(source[position])) {
      if (source[position] === "*") {
        fail(`"*" must be a whole segment`);
      }
      position++;
    }
    if (position === start) {
      fail("expected a segment");
    }
    return source.slice(start, position);
  };

  const parseSegments = (insideVariable: boolean): void => {
    for (;;) {
      if (source.startsWith("**", position)) {
        segments.push({ kind: "deepWildcard" });
        position += 2;
      } else if (source[position] === "*") {
        segments.push({ kind: "wildcard" });
        position += 1;
      } else if (source[position] === "{") {
        if (insideVariable) {
          fail("variables must not be nested");
        }
        parseVariable();
      } else {
        segments.push({ kind: "literal", value: parseLiteral() });
      }
      if (source[position] !== "/") {
        return;
      }
      position++;
    }
  };

  const parseVariable = (): void => {
    position++; // "{"
    const nameEnd = source.slice(position).search(/[=}]/);
    if (nameEnd < 0) {
      fail(`missing "}"`);
    }
    const fieldPath = source.slice(position, position + nameEnd).split(".");
    if (!fieldPath.every((name) => identifierPattern.test(name))) {
      fail(`invalid field path "${fieldPath.join(".")}"`);
    }
    position += nameEnd;

    const start = segments.length;
    if (source[position] === "=") {
      position++;
      parseSegments(true);
    } else {
      segments.push({ kind: "wildcard" });
    }
    if (source[position] !== "}") {
      fail(`expected "}"`);
    }
    position++;

    const end = segments.length;
    const singleSegment = end - start === 1 && segments[start].kind !== "deepWildcard";
    variables.push({ fieldPath, start, end, singleSegment });
  };

  if (source[0] !== "/") {
    fail(`expected "/"`);
  }
  position = 1;
  parseSegments(false);

  let verb: string | undefined;
  if (source[position] === ":") {
    position++;
    verb = parseLiteral();
  }
  if (position !== source.length) {
    fail(`unexpected "${source[position]}"`);
  }

  const deepIndex = segments.findIndex((segment) => segment.kind === "deepWildcard");
  if (deepIndex >= 0 && deepIndex !== segments.length - 1) {
    throw new Error(`invalid path template "${source}": "**" must be the last segment`);
  }
  const seen = new Set<string>();
  for (const variable of variables) {
    const name = variable.fieldPath.join(".");
    if (seen.has(name)) {
      throw new Error(`invalid path template "${source}": field "${name}" is bound twice`);
    }
    seen.add(name);
  }

  return { source, segments, variables, verb };
}
