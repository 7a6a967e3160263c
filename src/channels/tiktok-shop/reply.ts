/**
 * TikTok Shop's part in delivering agent replies (the core's reply job runs it): the window rules first, on the
 * bridge's state and before any call (window.ts), then one platform message per step, addressed to the conversation
 * (ConversationState.threadId). Before the first step TikTok's own verdict is checked (`can_send_message`, so that a
 * conversation TikTok closed is refused before sending) and the conversation reopened when the window said so; then
 * the buyer's messages are marked read (the CS app rules ask for it before replying: reference §5 Receipts) — best
 * effort, a failed Mark Read never holds back the reply. TikTok Shop has no typing indicator (reference §6, "Not
 * possible").
 */
import type { ChannelReplier } from '../../core/channel.js';
import type { AgentAttachments } from '../../core/media.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { TikTokShopClient } from './api-client.js';
import type { TikTokShopConnection } from './config.js';
import { tiktokShopPauseKey } from './errors.js';
import { downloadAgentImage } from './media.js';
import { buildTikTokShopSendSteps, imageBody, type TikTokShopSendStep } from './send.js';
import { REOPEN_TAG, decideTikTokShopReply, tiktokShopClosesAt } from './window.js';

/** One step of a reply; the steps of one build share `target`, which a reopen may re-point. */
interface AddressedStep {
  step: TikTokShopSendStep;
  target: { conversationId: string };
  first: boolean;
  reopen: boolean;
}

export function createTikTokShopReplier(
  connection: TikTokShopConnection,
  client: TikTokShopClient,
  opts: { attachments: Pick<AgentAttachments, 'download'>; logger?: Logger },
): ChannelReplier {
  const logger = opts.logger ?? silentLogger;
  return {
    pauseKey: tiktokShopPauseKey(connection.shopId),
    decide(_command, conversation, now) {
      return decideTikTokShopReply(conversation, now, { reopenClosedConversations: connection.reopenClosedConversations });
    },
    build(command, verdict, conversation) {
      const target = { conversationId: conversation.threadId! };
      return buildTikTokShopSendSteps(command).map((step, i): AddressedStep => ({ step, target, first: i === 0, reopen: verdict.tag === REOPEN_TAG }));
    },
    async send(request, conversation) {
      const { step, target, first, reopen } = request as AddressedStep;
      const closesAt = tiktokShopClosesAt(conversation);
      if (first) {
        target.conversationId = await client.prepareReply(target.conversationId, reopen && closesAt !== undefined ? { closedAt: closesAt } : {});
        await client.markRead(target.conversationId).catch((err: unknown) => logger.warn({ err, connectionId: connection.id }, 'tiktok_shop.mark_read_failed'));
      }
      const sendOpts = closesAt !== undefined ? { windowClosedAt: closesAt } : {};
      if (step.kind === 'message') return client.sendMessage(target.conversationId, step.body, sendOpts);
      const { bytes, mime } = await downloadAgentImage(step.url, opts.attachments, step.filename);
      const uploaded = await client.uploadImage(bytes, mime, step.filename ?? `image.${mime.split('/')[1]}`);
      return client.sendMessage(target.conversationId, imageBody(uploaded), sendOpts);
    },
    async sendTyping() {
      // TikTok Shop chat has no typing indicator.
    },
  };
}
