/**
 * Discord's limits for embeds, in characters, as the "Embed Limits" table of Discord's developer
 * documentation lists them. The per-part limits match the validators of EmbedBuilder in
 * @discordjs/builders 1.15. The total covers the title, description, field names and values,
 * footer text and author name of all embeds in a message.
 *
 * The Herald measures text in UTF-16 code units (`string.length`). A code point is one or two
 * units, so a text within these limits by that measure is also within them if Discord counts
 * code points.
 */
export const EMBED_LIMITS = {
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footerText: 2048,
  authorName: 256,
  total: 6000,
} as const;
