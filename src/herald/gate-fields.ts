import type { APIEmbedField } from "discord.js";

import { EMBED_LIMITS } from "./embed-limits";
import type { GateResult } from "./notice";
import { toSingleLine, truncate } from "./text";

/**
 * Bounds of one gate's line, so a few long gate messages cannot crowd out the rest. The minimum
 * leaves room for the icon, the longest name and part of the message.
 */
const GATE_LINE_MIN = 120;
const GATE_LINE_MAX = 1000;
const GATE_NAME_MAX = 100;

const CONTINUED_NAME = "Gates (continued)";

/** Returns the length that all gates would take as embed fields if no budget applied. */
export function estimateGateFieldsLength(gates: readonly GateResult[]): number {
  if (gates.length === 0) return 0;

  const linesLength = gates.reduce((sum, gate) => sum + formatGateLine(gate, GATE_LINE_MAX).length + 1, 0);
  const fieldCount = Math.ceil(linesLength / EMBED_LIMITS.fieldValue);
  return linesLength + headingFor(gates).length + (fieldCount - 1) * CONTINUED_NAME.length;
}

/**
 * Lists the gates as lines such as "❌ **lint**: 3 errors" in fields of at most 1024 characters,
 * in the order given. The fields take at most `budget` characters, names and values together,
 * and at most `maxFields` fields. When not every gate fits, failed gates are kept before passed
 * ones and a last line counts the gates left out, such as "… and 7 more gates (2 failed, 5 passed)".
 * Returns no fields when even that summary does not fit.
 */
export function buildGateFields(gates: readonly GateResult[], budget: number, maxFields: number): APIEmbedField[] {
  if (gates.length === 0 || maxFields <= 0) return [];

  const lineMax = Math.min(GATE_LINE_MAX, Math.max(GATE_LINE_MIN, Math.floor(budget / gates.length) - 1));
  const lines = gates.map((gate) => formatGateLine(gate, lineMax));

  const heading = headingFor(gates);
  const allIndexes = [...gates.keys()];
  const everything = packGateLines(gates, lines, new Set(allIndexes), heading, maxFields);
  if (everything !== undefined && fieldsLength(everything) <= budget) return everything;

  // Not every gate fits. First pass: pick lines by priority with an estimated cost, reserving
  // room for the longest possible summary line. The headings of continued fields are only known
  // after packing, so the second pass drops the lowest-priority lines until the fields fit.
  // Failed gates sort first and keep their order among themselves, because sort is stable.
  const priority = [...allIndexes].sort((a, b) => Number(gates[a].passed) - Number(gates[b].passed));
  const shownIndexes = new Set<number>();
  let used = heading.length + summarizeOmitted(gates, allIndexes).length + 1;
  for (const index of priority) {
    const cost = lines[index].length + 1;
    if (used + cost > budget) continue;
    shownIndexes.add(index);
    used += cost;
  }

  const dropOrder = priority.filter((index) => shownIndexes.has(index)).reverse();
  for (;;) {
    const fields = packGateLines(gates, lines, shownIndexes, heading, maxFields);
    if (fields !== undefined && fieldsLength(fields) <= budget) return fields;

    const dropped = dropOrder.shift();
    if (dropped === undefined) return [];
    shownIndexes.delete(dropped);
  }
}

/** Returns the characters that fields count toward the embed total: names and values. */
export function fieldsLength(fields: readonly APIEmbedField[]): number {
  return fields.reduce((sum, field) => sum + field.name.length + field.value.length, 0);
}

function headingFor(gates: readonly GateResult[]): string {
  const passed = gates.filter((gate) => gate.passed).length;
  return `Gates (${passed} of ${gates.length} passed)`;
}

/** Formats a gate as one line of at most `maxLength` characters. */
function formatGateLine(gate: GateResult, maxLength: number): string {
  const icon = gate.passed ? "✅" : "❌";
  const name = truncate(toSingleLine(gate.name), GATE_NAME_MAX) || "(unnamed gate)";
  const head = `${icon} **${name}**`;

  const message = gate.message === undefined ? "" : toSingleLine(gate.message);
  if (message === "") return head;

  const separator = ": ";
  return head + separator + truncate(message, Math.max(1, maxLength - head.length - separator.length));
}

/** Describes the gates that are not shown, or returns "" when every gate is shown. */
function summarizeOmitted(gates: readonly GateResult[], omittedIndexes: readonly number[]): string {
  const failed = omittedIndexes.filter((index) => !gates[index].passed).length;
  const passed = omittedIndexes.length - failed;

  const omitted = failed + passed;
  if (omitted === 0) return "";
  const counts = [failed > 0 ? `${failed} failed` : "", passed > 0 ? `${passed} passed` : ""].filter(Boolean);
  return `… and ${omitted} more ${omitted === 1 ? "gate" : "gates"} (${counts.join(", ")})`;
}

/**
 * Packs the shown lines, in the gates' order, and the summary of the others into fields of at
 * most 1024 characters. Returns undefined when they need more than `maxFields` fields.
 */
function packGateLines(
  gates: readonly GateResult[],
  lines: readonly string[],
  shownIndexes: ReadonlySet<number>,
  heading: string,
  maxFields: number,
): APIEmbedField[] | undefined {
  const omitted = [...gates.keys()].filter((index) => !shownIndexes.has(index));
  const entries = lines.filter((_, index) => shownIndexes.has(index));
  const summary = summarizeOmitted(gates, omitted);
  if (summary !== "") entries.push(summary);

  const values: string[] = [];
  let current = "";
  for (const entry of entries) {
    if (current === "") {
      current = entry;
    } else if (current.length + 1 + entry.length <= EMBED_LIMITS.fieldValue) {
      current += "\n" + entry;
    } else {
      values.push(current);
      current = entry;
    }
  }
  if (current !== "") values.push(current);

  if (values.length > maxFields) return undefined;
  return values.map((value, index) => ({ name: index === 0 ? heading : CONTINUED_NAME, value }));
}
