/**
 * Text helpers for fitting free text into Discord's length limits. Lengths are UTF-16 code units
 * (`string.length`), and a cut never splits a grapheme cluster, so an emoji, a flag or a letter
 * with its combining marks stays whole.
 */

const ELLIPSIS = "…";

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

const counts = new Intl.NumberFormat("en-US");

/** Counts the Unicode code points of `text`, which is how a reader counts characters. */
export function countCharacters(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * Returns the longest prefix of `text` that is at most `maxLength` code units long and ends on a
 * grapheme boundary. A single grapheme longer than `maxLength`, such as a letter with hundreds of
 * combining marks, is cut at a code point boundary instead.
 */
function prefixWithin(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  if (maxLength <= 0) return "";

  let end = 0;
  for (const { index, segment } of graphemes.segment(text)) {
    const next = index + segment.length;
    if (next > maxLength) break;
    end = next;
  }
  if (end > 0) return text.slice(0, end);

  const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
  const cut = isHighSurrogate(text.charCodeAt(maxLength - 1)) ? maxLength - 1 : maxLength;
  return text.slice(0, cut);
}

/** Shortens `text` to at most `maxLength` code units and ends it with "…" when it was cut. */
export function truncate(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  if (maxLength < ELLIPSIS.length) return "";
  return prefixWithin(text, maxLength - ELLIPSIS.length).trimEnd() + ELLIPSIS;
}

/**
 * Shortens `text` to at most `maxLength` code units and, when it was cut, ends it with
 * "… (N more characters)" so the reader knows how much is missing. Falls back to a plain "…"
 * when `maxLength` has no room for the count.
 */
export function truncateWithCount(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;

  const total = countCharacters(text);
  const describe = (omitted: number) => `${ELLIPSIS} (${counts.format(omitted)} more characters)`;
  // The count is at most `total`, so this suffix is at least as long as the final one.
  const longestSuffix = describe(total);
  if (maxLength < longestSuffix.length + 1) return truncate(text, maxLength);

  const keptPrefix = prefixWithin(text, maxLength - longestSuffix.length).trimEnd();
  return keptPrefix + describe(total - countCharacters(keptPrefix));
}

/** Collapses every run of whitespace, line breaks included, into one space, for one-line text. */
export function toSingleLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/**
 * Divides `total` units between two parts that need `needA` and `needB`. Each part gets what it
 * needs when both fit. Otherwise a part that needs at most half gets all it needs and the other
 * part gets the rest, and when both need more than half each gets half.
 */
export function splitBudget(total: number, needA: number, needB: number): [number, number] {
  if (needA + needB <= total) return [needA, needB];

  const half = Math.floor(total / 2);
  if (needA <= half) return [needA, total - needA];
  if (needB <= half) return [total - needB, needB];
  return [half, total - half];
}
