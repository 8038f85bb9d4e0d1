/** Id and token of a Discord webhook, the two parts of its URL that identify it. */
export interface WebhookCredentials {
  id: string;
  token: string;
}

/** Matches the end of a webhook URL's path: `/webhooks/<id>/<token>`, with an optional slash. */
const WEBHOOK_PATH = /\/webhooks\/(\d{1,20})\/([\w-]+)\/?$/;

/**
 * Reads the webhook id and token from a webhook URL such as
 * `https://discord.com/api/webhooks/<id>/<token>`. Any http or https host is accepted, so a test
 * double can be named too. Returns undefined for any other form. The Herald sends to its API base
 * URL, not to this URL's host.
 */
export function parseWebhookUrl(webhookUrl: string): WebhookCredentials | undefined {
  let url: URL;
  try {
    url = new URL(webhookUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;

  const match = WEBHOOK_PATH.exec(url.pathname);
  if (match === null) return undefined;
  return { id: match[1], token: match[2] };
}
