import { formatDuration } from "../../src/herald/duration";
import { countCharacters, splitBudget, toSingleLine, truncate, truncateWithCount } from "../../src/herald/text";
import { parseWebhookUrl } from "../../src/herald/webhook-url";

describe("truncate", () => {
  test("short text unchanged", () => {
    expect(truncate("hello", 5)).toBe("hello");
  });

  test("long text ends with ellipsis", () => {
    expect(truncate("hello world", 8)).toBe("hello w…");
  });

  test("trailing space before ellipsis removed", () => {
    expect(truncate("hello world", 7)).toBe("hello…");
  });

  test("no room for ellipsis gives empty text", () => {
    expect(truncate("hello", 0)).toBe("");
  });

  test("surrogate pair never split", () => {
    // "a😀" is 3 code units, so a 3-unit budget keeps "a" and the ellipsis.
    expect(truncate("a😀b", 3)).toBe("a…");
  });

  test("family emoji kept whole", () => {
    const family = "👨‍👩‍👧‍👦";
    expect(truncate(`ab${family}c`, family.length + 2)).toBe("ab…");
    expect(truncate(`ab${family}cd`, family.length + 3)).toBe(`ab${family}…`);
  });

  test("oversized grapheme cut at code point", () => {
    const zalgo = "Z" + "\u0301".repeat(50);

    const cut = truncate(zalgo, 10);

    expect(cut).toBe("Z" + "\u0301".repeat(8) + "…");
  });
});

describe("truncateWithCount", () => {
  test("short text unchanged", () => {
    expect(truncateWithCount("abc", 3)).toBe("abc");
  });

  test("cut text states omitted count", () => {
    const text = "a".repeat(2_000);

    const cut = truncateWithCount(text, 100);

    expect(cut.length).toBeLessThanOrEqual(100);
    expect(cut).toMatch(/^a+… \([\d,]+ more characters\)$/);
    const keptLength = cut.indexOf("…");
    expect(cut).toBe(`${"a".repeat(keptLength)}… (${(2_000 - keptLength).toLocaleString("en-US")} more characters)`);
  });

  test("count is in code points", () => {
    const cut = truncateWithCount("😀".repeat(100), 50);

    const keptCount = countCharacters(cut.slice(0, cut.indexOf("…")));
    expect(cut).toBe(`${"😀".repeat(keptCount)}… (${100 - keptCount} more characters)`);
  });

  test("tiny budget falls back to ellipsis", () => {
    expect(truncateWithCount("a".repeat(100), 10)).toBe("aaaaaaaaa…");
  });
});

describe("splitBudget", () => {
  test.each([
    [100, 30, 40, [30, 40]],
    [100, 30, 400, [30, 70]],
    [100, 400, 30, [70, 30]],
    [100, 400, 400, [50, 50]],
    [101, 400, 400, [50, 51]],
  ])("total %p for needs %p and %p", (total, needA, needB, expected) => {
    expect(splitBudget(total, needA, needB)).toEqual(expected);
  });
});

describe("toSingleLine", () => {
  test("line breaks and runs of spaces collapse", () => {
    expect(toSingleLine("  a\n\tb   c \r\n")).toBe("a b c");
  });
});

describe("formatDuration", () => {
  test.each([
    [0, "0 ms"],
    [850, "850 ms"],
    [1_000, "1 s"],
    [59_999, "59 s"],
    [60_000, "1 min"],
    [205_000, "3 min 25 s"],
    [3_600_000, "1 h"],
    [8_100_000, "2 h 15 min"],
    [86_400_000, "1 d"],
    [360_000_000, "4 d 4 h"],
  ])("%p ms is %p", (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });
});

describe("parseWebhookUrl", () => {
  test.each([
    ["https://discord.com/api/webhooks/123456789012345678/abc-DEF_123", "123456789012345678", "abc-DEF_123"],
    ["https://discord.com/api/v10/webhooks/123456789012345678/token/", "123456789012345678", "token"],
    ["https://canary.discord.com/api/webhooks/1/token?wait=true", "1", "token"],
    ["http://127.0.0.1:8080/api/webhooks/42/token", "42", "token"],
  ])("%p is read", (url, id, token) => {
    expect(parseWebhookUrl(url)).toEqual({ id, token });
  });

  test.each([
    "discord.com/api/webhooks/1/token",
    "ftp://discord.com/api/webhooks/1/token",
    "https://discord.com/api/webhooks/not-a-number/token",
    "https://discord.com/api/webhooks/1",
    "https://discord.com/api/webhooks/1/token/slack",
    "",
  ])("%p is rejected", (url) => {
    expect(parseWebhookUrl(url)).toBeUndefined();
  });
});
