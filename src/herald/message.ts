import { Colors, type APIEmbed, type APIEmbedField, type RESTPostAPIWebhookWithTokenJSONBody } from "discord.js";

import { formatDuration, parseTimestamp } from "./duration";
import { EMBED_LIMITS } from "./embed-limits";
import { buildGateFields, estimateGateFieldsLength, fieldsLength } from "./gate-fields";
import type { JobNotice } from "./notice";
import { splitBudget, toSingleLine, truncate, truncateWithCount } from "./text";

/** JSON body of Discord's Execute Webhook request. */
export type WebhookMessage = RESTPostAPIWebhookWithTokenJSONBody;

/**
 * Caps below Discord's own limits for the parts whose length the notice does not need, so the
 * summary, the error and the gates keep most of the 6000 characters.
 */
const TYPE_MAX = 256;
const REPOSITORY_MAX = 200;
const FOOTER_MAX = 256;
/** Discord documents no length limit for an embed URL; longer links are left out as a precaution. */
const URL_MAX = 2048;

const ERROR_HEADING = "**Error**";
const PARAGRAPH_BREAK = "\n\n";

/**
 * Builds the Discord webhook message for a job notice. It has one embed, coloured by outcome.
 * The title links to the issue or pull request. Fields show the job's type, source, duration
 * and gates, the description shows the summary and the error, and the footer shows the job id.
 *
 * Every text is cut to fit Discord's embed limits, and no cut is silent. A cut summary or error
 * ends with a count such as "… (95,000 more characters)", gates that do not fit are counted in a
 * last line such as "… and 7 more gates (2 failed, 5 passed)", and other texts end with "…".
 *
 * The message allows no mentions, so "@everyone" or "<@123>" in the notice's text pings nobody.
 */
export function buildMessage(notice: JobNotice): WebhookMessage {
  const link = parseWebLink(notice.url);
  const title = truncate(toSingleLine(buildTitle(notice)), EMBED_LIMITS.title);
  const footer = truncate(`Job ID: ${toSingleLine(notice.jobId)}`, FOOTER_MAX);
  const detailFields = buildDetailFields(notice, link);

  // The summary, the error and the gates share what the fixed parts leave of the total.
  const available = EMBED_LIMITS.total - title.length - footer.length - fieldsLength(detailFields);
  const summary = notice.summary?.trim() ?? "";
  const error = notice.error === undefined ? "" : protectCodeBlock(notice.error.trim());
  const gates = notice.gates ?? [];

  const descriptionNeed = Math.min(EMBED_LIMITS.description, joinDescription(summary, error).length);
  const [, gatesBudget] = splitBudget(available, descriptionNeed, estimateGateFieldsLength(gates));
  const gateFields = buildGateFields(gates, gatesBudget, EMBED_LIMITS.fields - detailFields.length);
  const descriptionBudget = Math.min(EMBED_LIMITS.description, available - fieldsLength(gateFields));
  const description = buildDescription(summary, error, descriptionBudget);

  const embed: APIEmbed = {
    title,
    color: colorFor(notice.status),
    fields: [...detailFields, ...gateFields],
    footer: { text: footer },
  };
  if (link !== undefined) embed.url = link;
  if (description !== "") embed.description = description;

  const shownTime = parseTimestamp(notice.completedAt) ?? parseTimestamp(notice.startedAt) ?? parseTimestamp(notice.createdAt);
  if (shownTime !== undefined) embed.timestamp = new Date(shownTime).toISOString();

  return { embeds: [embed], allowed_mentions: { parse: [] } };
}

function colorFor(status: string): number {
  if (status === "COMPLETED") return Colors.Green;
  if (status === "FAILED") return Colors.Red;
  return Colors.Grey;
}

/** Returns "Job completed", "Job failed", or the status in words, such as "Job timed out". */
function headlineFor(status: string): string {
  if (status === "COMPLETED") return "Job completed";
  if (status === "FAILED") return "Job failed";
  const words = toSingleLine(status.replace(/_/g, " ")).toLowerCase();
  return words === "" ? "Job status changed" : `Job ${words}`;
}

function buildTitle(notice: JobNotice): string {
  const type = toSingleLine(notice.type) || "(no type)";
  const reference = referenceFor(notice);
  return reference === undefined ? `${headlineFor(notice.status)}: ${type}` : `${headlineFor(notice.status)}: ${type} · ${reference}`;
}

/** Returns the short reference of the job's source, such as "acme/widgets#42" or "issue #42". */
function referenceFor(notice: JobNotice): string | undefined {
  const repository = repositoryName(notice);
  const number = notice.pullRequestNumber ?? notice.issueNumber;
  if (repository !== undefined && number !== undefined) return `${repository}#${number}`;
  if (repository !== undefined) return repository;
  if (notice.pullRequestNumber !== undefined) return `pull request #${notice.pullRequestNumber}`;
  if (notice.issueNumber !== undefined) return `issue #${notice.issueNumber}`;
  return undefined;
}

function repositoryName(notice: JobNotice): string | undefined {
  const repository = notice.repository === undefined ? "" : toSingleLine(notice.repository);
  return repository === "" ? undefined : truncate(repository, REPOSITORY_MAX);
}

/**
 * Returns `url` normalised when it is an absolute http or https URL, because Discord rejects the
 * whole message for an invalid embed URL. Parentheses are percent-encoded so the URL can also
 * close a Markdown link.
 */
function parseWebLink(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return undefined;
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return undefined;

  const href = parsed.href.replace(/\(/g, "%28").replace(/\)/g, "%29");
  return href.length <= URL_MAX ? href : undefined;
}

function buildDetailFields(notice: JobNotice, link: string | undefined): APIEmbedField[] {
  const fields: APIEmbedField[] = [
    { name: "Type", value: truncate(toSingleLine(notice.type), TYPE_MAX) || "(no type)", inline: true },
  ];

  const source = buildSource(notice, link);
  if (source !== "") fields.push({ name: "Source", value: source, inline: true });

  const duration = describeDuration(notice);
  if (duration !== undefined) fields.push({ name: "Duration", value: duration, inline: true });

  return fields;
}

/**
 * Lists the repository, the issue and the pull request, one a line. `link` goes on the pull
 * request when there is one, because the notice's URL belongs to the item that the title names.
 */
function buildSource(notice: JobNotice, link: string | undefined): string {
  const render = (withLink: boolean): string => {
    const lines: string[] = [];
    const repository = repositoryName(notice);
    if (repository !== undefined) {
      const forge = notice.forge === undefined ? "" : truncate(toSingleLine(notice.forge), 50);
      lines.push(forge === "" ? repository : `${repository} (${forge})`);
    }

    const pullRequest = notice.pullRequestNumber;
    const issue = notice.issueNumber;
    const linked = withLink && link !== undefined;
    if (issue !== undefined) {
      const text = `Issue #${issue}`;
      lines.push(linked && pullRequest === undefined ? `[${text}](${link})` : text);
    }
    if (pullRequest !== undefined) {
      const text = `Pull request #${pullRequest}`;
      lines.push(linked ? `[${text}](${link})` : text);
    }
    if (linked && issue === undefined && pullRequest === undefined) lines.push(link);

    return lines.join("\n");
  };

  // A link too long for the field is dropped whole, because a cut link would point elsewhere.
  const withLink = render(true);
  if (withLink.length <= EMBED_LIMITS.fieldValue) return withLink;
  return truncate(render(false), EMBED_LIMITS.fieldValue);
}

/**
 * Describes the time from start to completion, or from creation when the job never recorded a
 * start. Returns undefined when a timestamp is missing or invalid, or the end is before the start.
 */
function describeDuration(notice: JobNotice): string | undefined {
  const end = parseTimestamp(notice.completedAt);
  const started = parseTimestamp(notice.startedAt);
  const start = started ?? parseTimestamp(notice.createdAt);
  if (end === undefined || start === undefined || end < start) return undefined;

  const duration = formatDuration(end - start);
  return started === undefined ? `${duration} (since created)` : duration;
}

/**
 * Breaks up every run of backticks in error text with zero-width spaces, so the text cannot
 * close the code block that shows it.
 */
function protectCodeBlock(text: string): string {
  return text.replace(/`(?=`)/g, "`\u200b");
}

function errorBlock(text: string): string {
  return `${ERROR_HEADING}\n\`\`\`\n${text}\n\`\`\``;
}

function joinDescription(summary: string, error: string): string {
  const parts = [summary, error === "" ? "" : errorBlock(error)].filter((part) => part !== "");
  return parts.join(PARAGRAPH_BREAK);
}

/**
 * Builds the description from the summary and the error, within `budget` characters. When both
 * do not fit, they share the budget as `splitBudget` decides, and the error is cut inside its
 * code block so the block stays closed.
 */
function buildDescription(summary: string, error: string, budget: number): string {
  const full = joinDescription(summary, error);
  if (full.length <= budget) return full;
  if (error === "") return truncateWithCount(summary, budget);

  const blockOverhead = errorBlock("").length;
  const separatorLength = summary === "" ? 0 : PARAGRAPH_BREAK.length;
  const [summaryBudget, errorBudget] = splitBudget(budget - separatorLength, summary.length, blockOverhead + error.length);
  const errorTextBudget = errorBudget - blockOverhead;
  if (errorTextBudget < 1) return truncateWithCount(summary, budget);

  return joinDescription(truncateWithCount(summary, summaryBudget), truncateWithCount(error, errorTextBudget));
}
