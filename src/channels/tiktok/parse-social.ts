/**
 * Comments on the business's videos and mentions of the brand: not DMs, and a business cannot answer them by DM
 * (tiktok-messaging.md key fact 36). Pure.
 */
import type { z } from 'zod';
import type { ParseResult } from '../../core/events.js';
import { customerBase, dedupeKey, definedOnly, httpUrl, nonEmpty, skip, type EventContext } from './parse-context.js';
import type { commentContentSchema, mentionContentSchema } from './schema.js';

/** A business may message only someone who wrote to it first (key facts 11, 36): the agent must answer on TikTok. */
const NOT_BY_DM_MENTION = 'This mention cannot be answered by DM: TikTok lets a business message only people who have written to it. Reply on TikTok.';
const NOT_BY_DM_COMMENT = 'This comment cannot be answered by DM: TikTok lets a business message only people who have written to it. Reply on TikTok.';

/** What they are, for the agent and Architect: not a `TikTok DM` (`dmbridge.source`). */
export const MENTION_LABEL = 'TikTok mention';
export const COMMENT_LABEL = 'TikTok comment';

/**
 * `comment.update` on the business's videos. Only a new comment is shown (as a message that cannot be answered
 * by DM); deletes and visibility changes are skipped. Ids are big ints kept exact by the lossless parse.
 */
export function parseComment(content: z.output<typeof commentContentSchema>, ctx: EventContext, out: ParseResult): void {
  if (content.unique_identifier === ctx.businessId) return skip(out, 'own_comment');
  if (content.comment_action !== 'insert') return skip(out, 'comment_action', content.comment_action.slice(0, 40));
  const timestamp = content.timestamp ?? ctx.envelopeMs;
  if (timestamp === undefined) return skip(out, 'malformed', `${ctx.event}: no timestamp`);
  const parent = content.parent_comment_id !== undefined && content.parent_comment_id !== '0' ? content.parent_comment_id : undefined;
  const isReply = content.comment_type === 'reply' || parent !== undefined;
  const label = isReply
    ? `💬 replied to a comment on your TikTok video ${content.video_id}`
    : `💬 commented on your TikTok video ${content.video_id}`;
  const text = nonEmpty(content.text);
  out.events.push({
    ...customerBase(ctx, content.unique_identifier, dedupeKey(ctx, 'comment', `${content.comment_id}:${content.comment_action}`), timestamp),
    subtype: 'comment',
    label: COMMENT_LABEL,
    messageId: `comment:${content.comment_id}`,
    // Most sources say the text is not sent (§12): the agent then learns that there is a comment to look at.
    text: `${text ? `${label}: “${text}”` : `${label} (TikTok does not send the text: read it on TikTok)`}\n${NOT_BY_DM_COMMENT}`,
    attributes: definedOnly({
      'dmbridge.replyable': 'false',
      'dmbridge.tiktok.videoId': content.video_id,
      'dmbridge.tiktok.commentId': content.comment_id,
      'dmbridge.tiktok.parentCommentId': parent,
    }),
    opensWindow: false,
  });
}

/**
 * `brand.mention.event`: someone mentioned the brand in a video caption or a comment (2–3 h late). The customer
 * is `unique_identifier`, the author of the mention; `open_id_of_mentioned_user` is the brand itself. A mention
 * cannot be answered by DM (key fact 36). Privacy changes of a mentioning video are skipped.
 */
export function parseMention(content: z.output<typeof mentionContentSchema>, ctx: EventContext, out: ParseResult): void {
  const type = content.type_of_event ?? 'CREATE';
  if (type !== 'CREATE' && type !== 'EDIT') return skip(out, 'mention_update', type.slice(0, 40));
  if (content.unique_identifier === ctx.businessId) return skip(out, 'own_mention');
  // Mentions carry no event time of their own (video_create_time is the video's).
  const timestamp = ctx.envelopeMs;
  if (timestamp === undefined) return skip(out, 'malformed', `${ctx.event}: no create_time`);
  const commentId = content.comment_id !== undefined && content.comment_id !== '0' ? content.comment_id : undefined;
  // TikTok's sample writes "VIDEO MENTION", the field definition VIDEO_MENTION: match loosely.
  const inComment = commentId !== undefined || /COMMENT/i.test(content.mention_type ?? '');
  const url = httpUrl(content.share_url);
  const where = inComment ? 'in a comment on a TikTok video' : 'in a TikTok video';
  const caption = inComment ? undefined : nonEmpty(content.video_caption);
  // A video mention's link is the author's own video, `https://www.tiktok.com/@<username>/video/<id>`: it names them.
  const username = inComment || url === undefined ? undefined : /^\/@([^/]+)\/video\//.exec(new URL(url).pathname)?.[1];
  const who = username ? `@${username} ` : '';
  const lines = [
    url ? `📣 ${who}mentioned the brand ${where}: ${url}` : `📣 ${who}mentioned the brand ${where} (id ${content.video_id})`,
    caption === undefined ? undefined : `“${caption}”`,
    NOT_BY_DM_MENTION,
  ];
  const id = `${content.video_id}:${content.comment_id ?? '0'}:${type}`;
  out.events.push({
    ...customerBase(ctx, content.unique_identifier, dedupeKey(ctx, 'mention', id), timestamp),
    subtype: inComment ? 'comment_mention' : 'mention',
    label: MENTION_LABEL,
    messageId: `mention:${id}`,
    text: lines.filter((l) => l !== undefined).join('\n'),
    attributes: definedOnly({
      'dmbridge.replyable': 'false',
      'dmbridge.tiktok.username': username,
      'dmbridge.tiktok.videoId': content.video_id,
      'dmbridge.tiktok.commentId': commentId,
    }),
    opensWindow: false,
  });
}
