/**
 * TikTok's part in delivering agent replies (src/jobs/reply.ts): the 48-hour and message-count rules,
 * the send bodies (addressed to TikTok's conversation id, not to the customer), images uploaded first.
 */
import type { ChannelReplier } from '../../core/channel.js';
import type { Clock } from '../../core/clock.js';
import type { OutboundMessageCommand } from '../../core/commands.js';
import type { ConversationState } from '../../core/conversation.js';
import type { TikTokClient } from './api-client.js';
import type { TikTokConnection } from './config.js';
import { tiktokPauseKey } from './errors.js';
import { buildTikTokSendRequests, buildTikTokTyping, type TikTokSendStep } from './send.js';
import { decideTikTokReply, tiktokReplyWindow } from './window.js';

/** The reply steps, each carrying its conversation id and window end so `send` needs nothing else. */
interface AddressedStep {
  step: TikTokSendStep;
  conversationId: string;
}

/**
 * A conversation that started from a mention, a comment or an EEA message has no TikTok conversation id:
 * TikTok offers no way to answer it by DM (tiktok-messaging.md key facts 28, 36).
 */
const NO_THREAD =
  'This customer reached the brand through a TikTok mention, a comment or from the EEA/UK, which TikTok does not ' +
  'let a business answer by direct message. Reply on TikTok itself.';

export function createTikTokReplier(connection: TikTokConnection, client: TikTokClient, clock: Clock): ChannelReplier {
  const stepsFor = (command: OutboundMessageCommand, conversationId: string) =>
    buildTikTokSendRequests(command, { businessId: connection.businessId, conversationId });
  return {
    pauseKey: tiktokPauseKey(connection.businessId),
    decide(command, conversation, now) {
      if (!conversation.threadId) return { send: false, reason: 'MessageNotAllowed', sentence: NO_THREAD };
      // Counted against TikTok's caps as a whole: a reply is never cut off halfway through the budget.
      const verdict = decideTikTokReply({ conversation, now, messages: stepsFor(command, conversation.threadId).length });
      return verdict.send ? { send: true } : { send: false, reason: verdict.reason, sentence: verdict.sentence };
    },
    build(command, _decision, conversation) {
      const conversationId = conversation.threadId!;
      return stepsFor(command, conversationId).map((step): AddressedStep => ({ step, conversationId }));
    },
    send(request, conversation) {
      const { step, conversationId } = request as AddressedStep;
      const endsAt = tiktokReplyWindow(conversation, clock()).endsAt;
      const opts = endsAt !== undefined ? { windowClosedAt: endsAt } : {};
      if (step.kind === 'image') {
        return client.sendImageFromUrl(conversationId, step.url, { ...opts, ...(step.mime ? { mime: step.mime } : {}), ...(step.filename ? { filename: step.filename } : {}) });
      }
      return client.send(step.body, opts);
    },
    async sendTyping(_customerId, conversation: ConversationState) {
      // Whether a typing indicator counts against TikTok's message budget is unconfirmed: only when unlimited.
      if (!conversation.threadId || tiktokReplyWindow(conversation, clock()).remaining !== undefined) return;
      await client.send(buildTikTokTyping(connection.businessId, conversation.threadId));
    },
  };
}
