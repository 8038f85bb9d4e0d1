import { Colors, embedLength, type APIEmbed } from "discord.js";
import fc from "fast-check";

import { buildMessage } from "../../src/herald/message";
import type { GateResult, JobNotice } from "../../src/herald/notice";

const failedNotice: JobNotice = {
  jobId: "job-123",
  type: "code-task",
  status: "FAILED",
  forge: "github",
  repository: "acme/widgets",
  issueNumber: 42,
  url: "https://github.com/acme/widgets/issues/42",
  summary: "Tried to fix the bug.",
  error: "Gate lint failed",
  gates: [
    { name: "build", passed: true },
    { name: "unit tests", passed: true, message: "120 passed" },
    { name: "lint", passed: false, message: "3 errors in src/app.ts" },
    { name: "e2e", passed: false, message: "timed out\nafter 30 s" },
  ],
  createdAt: "2025-01-01T10:00:00Z",
  startedAt: "2025-01-01T10:01:00Z",
  completedAt: "2025-01-01T10:04:25Z",
};

const completedNotice: JobNotice = {
  jobId: "job-456",
  type: "review",
  status: "COMPLETED",
  repository: "acme/widgets",
  pullRequestNumber: 17,
  url: "https://github.com/acme/widgets/pull/17",
  summary: "Approved with two comments.",
  createdAt: "2025-01-01T10:00:00Z",
  startedAt: "2025-01-01T10:00:05Z",
  completedAt: "2025-01-01T10:00:47Z",
};

function onlyEmbed(notice: JobNotice): APIEmbed {
  const message = buildMessage(notice);
  expect(message.embeds).toHaveLength(1);
  return message.embeds![0];
}

function fieldValue(embed: APIEmbed, name: string): string | undefined {
  return embed.fields?.find((field) => field.name === name)?.value;
}

/** Matches a high surrogate without its low half, or a low surrogate without its high half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function embedTexts(embed: APIEmbed): string[] {
  const fields = embed.fields ?? [];
  return [
    embed.title ?? "",
    embed.description ?? "",
    embed.footer?.text ?? "",
    ...fields.map((field) => field.name),
    ...fields.map((field) => field.value),
  ];
}

/** Asserts each of Discord's embed limits separately, so a failure names the limit. */
function expectWithinEmbedLimits(embed: APIEmbed): void {
  const fields = embed.fields ?? [];
  expect(embed.title?.length ?? 0).toBeLessThanOrEqual(256);
  expect(embed.description?.length ?? 0).toBeLessThanOrEqual(4096);
  expect(fields.length).toBeLessThanOrEqual(25);
  for (const field of fields) {
    expect(field.name.length).toBeGreaterThan(0);
    expect(field.name.length).toBeLessThanOrEqual(256);
    expect(field.value.length).toBeGreaterThan(0);
    expect(field.value.length).toBeLessThanOrEqual(1024);
  }
  expect(embed.footer?.text.length ?? 0).toBeLessThanOrEqual(2048);
  // embedLength is discord.js's own count of the 6000-character total.
  expect(embedLength(embed)).toBeLessThanOrEqual(6000);
  for (const text of embedTexts(embed)) {
    expect(text).not.toMatch(LONE_SURROGATE);
  }
}

function manyGates(count: number, gate: (index: number) => GateResult): GateResult[] {
  return Array.from({ length: count }, (_, index) => gate(index));
}

describe("buildMessage content", () => {
  test("failed job with four gates", () => {
    expect(buildMessage(failedNotice)).toEqual({
      embeds: [
        {
          title: "Job failed: code-task · acme/widgets#42",
          url: "https://github.com/acme/widgets/issues/42",
          color: 0xed4245,
          description: "Tried to fix the bug.\n\n**Error**\n```\nGate lint failed\n```",
          fields: [
            { name: "Type", value: "code-task", inline: true },
            { name: "Source", value: "acme/widgets (github)\n[Issue #42](https://github.com/acme/widgets/issues/42)", inline: true },
            { name: "Duration", value: "3 min 25 s", inline: true },
            {
              name: "Gates (2 of 4 passed)",
              value: "✅ **build**\n✅ **unit tests**: 120 passed\n❌ **lint**: 3 errors in src/app.ts\n❌ **e2e**: timed out after 30 s",
            },
          ],
          footer: { text: "Job ID: job-123" },
          timestamp: "2025-01-01T10:04:25.000Z",
        },
      ],
      allowed_mentions: { parse: [] },
    });
  });

  test("completed job is green", () => {
    const embed = onlyEmbed(completedNotice);

    expect(embed.color).toBe(Colors.Green);
    expect(embed.title).toBe("Job completed: review · acme/widgets#17");
    expect(embed.url).toBe("https://github.com/acme/widgets/pull/17");
    expect(embed.description).toBe("Approved with two comments.");
    expect(fieldValue(embed, "Source")).toBe("acme/widgets\n[Pull request #17](https://github.com/acme/widgets/pull/17)");
    expect(fieldValue(embed, "Duration")).toBe("42 s");
  });

  test.each([
    ["CANCELLED", "Job cancelled: review · acme/widgets#17"],
    ["TIMED_OUT", "Job timed out: review · acme/widgets#17"],
    ["", "Job status changed: review · acme/widgets#17"],
  ])("status %p is grey with title %p", (status, title) => {
    const embed = onlyEmbed({ ...completedNotice, status });

    expect(embed.color).toBe(Colors.Grey);
    expect(embed.title).toBe(title);
  });

  test.each(["COMPLETED", "FAILED", "CANCELLED"])("mentions disabled for status %s", (status) => {
    const notice: JobNotice = {
      ...failedNotice,
      status,
      summary: "@everyone look <@123> and <@&456>",
      error: "@here broke",
    };

    const message = buildMessage(notice);

    expect(message.allowed_mentions).toEqual({ parse: [] });
    expect(message.content).toBeUndefined();
    expect(message.embeds![0].description).toContain("@everyone look <@123> and <@&456>");
  });

  test("issue and pull request both listed", () => {
    const embed = onlyEmbed({ ...completedNotice, issueNumber: 3 });

    expect(embed.title).toBe("Job completed: review · acme/widgets#17");
    expect(fieldValue(embed, "Source")).toBe(
      "acme/widgets\nIssue #3\n[Pull request #17](https://github.com/acme/widgets/pull/17)",
    );
  });

  test("number without repository", () => {
    const embed = onlyEmbed({ ...failedNotice, repository: undefined, forge: undefined, url: undefined });

    expect(embed.title).toBe("Job failed: code-task · issue #42");
    expect(fieldValue(embed, "Source")).toBe("Issue #42");
    expect(embed.url).toBeUndefined();
  });

  test("notice without source", () => {
    const notice: JobNotice = { jobId: "job-1", type: "cleanup", status: "COMPLETED", createdAt: "2025-01-01T10:00:00Z" };

    const embed = onlyEmbed(notice);

    expect(embed.title).toBe("Job completed: cleanup");
    expect(embed.fields).toEqual([{ name: "Type", value: "cleanup", inline: true }]);
    expect(embed.description).toBeUndefined();
    expect(embed.url).toBeUndefined();
    expect(embed.timestamp).toBe("2025-01-01T10:00:00.000Z");
  });

  test("link without numbers shown in source", () => {
    const embed = onlyEmbed({ ...completedNotice, repository: undefined, pullRequestNumber: undefined });

    expect(fieldValue(embed, "Source")).toBe("https://github.com/acme/widgets/pull/17");
  });

  test.each(["javascript:alert(1)", "not a url", "ftp://example.com/file"])("invalid url %p left out", (url) => {
    const embed = onlyEmbed({ ...failedNotice, url });

    expect(embed.url).toBeUndefined();
    expect(fieldValue(embed, "Source")).toBe("acme/widgets (github)\nIssue #42");
  });

  test("url parentheses percent-encoded", () => {
    const embed = onlyEmbed({ ...failedNotice, url: "https://example.com/a_(b)" });

    expect(embed.url).toBe("https://example.com/a_%28b%29");
    expect(fieldValue(embed, "Source")).toContain("[Issue #42](https://example.com/a_%28b%29)");
  });

  test("duration from creation when never started", () => {
    const embed = onlyEmbed({ ...failedNotice, startedAt: undefined });

    expect(fieldValue(embed, "Duration")).toBe("4 min 25 s (since created)");
  });

  test.each([
    ["missing completion", { completedAt: undefined }],
    ["invalid completion", { completedAt: "yesterday-ish" }],
    ["completion before start", { completedAt: "2025-01-01T09:00:00Z" }],
  ])("duration left out for %s", (_, change) => {
    const embed = onlyEmbed({ ...failedNotice, ...change });

    expect(fieldValue(embed, "Duration")).toBeUndefined();
  });

  test("invalid timestamps leave out timestamp", () => {
    const embed = onlyEmbed({ ...failedNotice, createdAt: "nope", startedAt: undefined, completedAt: undefined });

    expect(embed.timestamp).toBeUndefined();
  });

  test("backticks in error cannot close code block", () => {
    const embed = onlyEmbed({ ...failedNotice, summary: undefined, error: "before ``` after ````" });

    expect(embed.description).toBe("**Error**\n```\nbefore `\u200b`\u200b` after `\u200b`\u200b`\u200b`\n```");
    expect(embed.description!.match(/```/g)).toHaveLength(2);
  });

  test("blank gate name and message", () => {
    const embed = onlyEmbed({ ...failedNotice, gates: [{ name: "  ", passed: false, message: " \n " }] });

    expect(fieldValue(embed, "Gates (0 of 1 passed)")).toBe("❌ **(unnamed gate)**");
  });

  test("completed job lists its gates", () => {
    const embed = onlyEmbed({ ...completedNotice, gates: [{ name: "tests", passed: true }] });

    expect(fieldValue(embed, "Gates (1 of 1 passed)")).toBe("✅ **tests**");
  });
});

describe("buildMessage limits", () => {
  test("huge error cut with count", () => {
    const error = "x".repeat(100_000);

    const embed = onlyEmbed({ ...failedNotice, summary: undefined, gates: undefined, error });

    expectWithinEmbedLimits(embed);
    const description = embed.description!;
    expect(description.length).toBeGreaterThan(4000);
    expect(description.startsWith("**Error**\n```\nxxx")).toBe(true);
    expect(description.endsWith("\n```")).toBe(true);
    const match = /\n(x+)… \(([\d,]+) more characters\)\n```$/.exec(description);
    expect(match).not.toBeNull();
    const keptLength = match![1].length;
    const omitted = Number(match![2].replace(/,/g, ""));
    expect(keptLength + omitted).toBe(100_000);
  });

  test("huge summary and error share description", () => {
    const embed = onlyEmbed({ ...failedNotice, gates: undefined, summary: "s".repeat(50_000), error: "e".repeat(50_000) });

    expectWithinEmbedLimits(embed);
    const [summary, error] = embed.description!.split("\n\n**Error**\n");
    expect(summary).toMatch(/^s+… \([\d,]+ more characters\)$/);
    expect(error).toMatch(/^```\ne+… \([\d,]+ more characters\)\n```$/);
    expect(Math.abs(summary.length - error.length)).toBeLessThan(50);
  });

  test("100 gates summarised with failures first", () => {
    // The ten failed gates come last, so keeping the first gates that fit would hide them all.
    const gates = manyGates(100, (index) => ({
      name: `gate-${index}`,
      passed: index < 90,
      message: `result ${index} `.repeat(20),
    }));

    const embed = onlyEmbed({ ...failedNotice, gates });

    expectWithinEmbedLimits(embed);
    const gateFields = embed.fields!.filter((field) => field.name.startsWith("Gates"));
    expect(gateFields[0].name).toBe("Gates (90 of 100 passed)");
    const lines = gateFields.flatMap((field) => field.value.split("\n"));
    const summary = lines.at(-1)!;
    const match = /^… and (\d+) more gates \((\d+) passed\)$/.exec(summary);
    expect(match).not.toBeNull();
    const gateLines = lines.slice(0, -1);
    for (let index = 90; index < 100; index++) {
      expect(gateLines.some((line) => line.startsWith(`❌ **gate-${index}**`))).toBe(true);
    }
    expect(gateLines.length + Number(match![1])).toBe(100);
    expect(Number(match![2])).toBe(Number(match![1]));
  });

  test("shown gates keep their order", () => {
    const gates = manyGates(100, (index) => ({ name: `gate-${index}`, passed: index % 2 === 0, message: "m".repeat(200) }));

    const embed = onlyEmbed({ ...failedNotice, gates });

    const names = embed
      .fields!.filter((field) => field.name.startsWith("Gates"))
      .flatMap((field) => field.value.split("\n"))
      .map((line) => /\*\*gate-(\d+)\*\*/.exec(line)?.[1])
      .filter((index): index is string => index !== undefined)
      .map(Number);
    expect(names.length).toBeGreaterThan(5);
    expect(names).toEqual([...names].sort((a, b) => a - b));
  });

  test("100 gates with 5000-character messages", () => {
    const gates = manyGates(100, (index) => ({ name: `gate-${index}`, passed: index % 3 !== 0, message: "m".repeat(5000) }));

    const embed = onlyEmbed({ ...failedNotice, gates });

    expectWithinEmbedLimits(embed);
    const lines = embed.fields!.filter((field) => field.name.startsWith("Gates")).flatMap((field) => field.value.split("\n"));
    const gateLines = lines.slice(0, -1);
    expect(gateLines.every((line) => line.endsWith("…"))).toBe(true);
    const failedShown = gateLines.filter((line) => line.startsWith("❌")).length;
    expect(failedShown).toBe(34);
    expect(lines.at(-1)).toBe(`… and ${100 - gateLines.length} more gates (${100 - gateLines.length} passed)`);
  });

  test("few gates with 5000-character messages", () => {
    const gates = manyGates(4, (index) => ({ name: `gate-${index}`, passed: false, message: "m".repeat(5000) }));

    const embed = onlyEmbed({ ...failedNotice, gates });

    expectWithinEmbedLimits(embed);
    const lines = embed.fields!.filter((field) => field.name.startsWith("Gates")).flatMap((field) => field.value.split("\n"));
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(line.length).toBeGreaterThan(500);
    }
  });

  test("every part oversized at once", () => {
    const notice: JobNotice = {
      jobId: "j".repeat(10_000),
      type: "t".repeat(10_000),
      status: "FAILED",
      forge: "f".repeat(10_000),
      repository: "r".repeat(10_000),
      issueNumber: 1,
      pullRequestNumber: 2,
      url: `https://example.com/${"p".repeat(1_900)}`,
      summary: "s".repeat(100_000),
      error: "e".repeat(100_000),
      gates: manyGates(100, (index) => ({ name: "n".repeat(1000), passed: index % 2 === 0, message: "m".repeat(5000) })),
      createdAt: "2025-01-01T10:00:00Z",
      completedAt: "2025-01-01T10:00:01Z",
    };

    const embed = onlyEmbed(notice);

    expectWithinEmbedLimits(embed);
    expect(embed.title!.endsWith("…")).toBe(true);
    expect(embed.footer!.text.endsWith("…")).toBe(true);
    expect(embed.description).toContain("**Error**");
    expect(embed.fields!.some((field) => field.name.startsWith("Gates"))).toBe(true);
  });

  test("cuts keep emoji and graphemes whole", () => {
    const family = "👨‍👩‍👧‍👦";
    const notice: JobNotice = {
      ...failedNotice,
      type: "類".repeat(300),
      summary: family.repeat(3_000),
      error: "é".repeat(3_000) + "🇯🇵".repeat(3_000),
      gates: manyGates(100, (index) => ({ name: `門${index}`, passed: false, message: family.repeat(500) })),
    };

    const embed = onlyEmbed(notice);

    expectWithinEmbedLimits(embed);
    const summary = embed.description!.split("\n\n")[0];
    const keptSummary = summary.slice(0, summary.indexOf("…"));
    expect(keptSummary.length % family.length).toBe(0);
    expect(keptSummary.replaceAll(family, "")).toBe("");
  });

  test("random notices stay within limits", () => {
    const text = (maxLength: number) => fc.string({ unit: "grapheme", maxLength, size: "max" });
    const gate = fc.record({ name: text(300), passed: fc.boolean(), message: fc.option(text(6_000), { nil: undefined }) });
    const notice = fc.record({
      jobId: text(300),
      type: text(300),
      status: fc.constantFrom("COMPLETED", "FAILED", "CANCELLED", "RUNNING"),
      repository: fc.option(text(300), { nil: undefined }),
      issueNumber: fc.option(fc.nat(), { nil: undefined }),
      pullRequestNumber: fc.option(fc.nat(), { nil: undefined }),
      url: fc.option(fc.webUrl(), { nil: undefined }),
      summary: fc.option(text(8_000), { nil: undefined }),
      error: fc.option(text(8_000), { nil: undefined }),
      gates: fc.option(fc.array(gate, { maxLength: 120, size: "max" }), { nil: undefined }),
      createdAt: fc.constant("2025-01-01T10:00:00Z"),
    });

    fc.assert(
      fc.property(notice, (generated) => {
        expectWithinEmbedLimits(onlyEmbed(generated));
      }),
      // Shrinking notices this large takes minutes, so a failure reports the first example.
      { numRuns: 60, endOnFailure: true },
    );
  });
});
