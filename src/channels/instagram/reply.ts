/**
 * Instagram's part in delivering agent replies (src/jobs/reply.ts): the 24-hour / HUMAN_AGENT window rule, the
 * Send API bodies, and the Graph calls.
 */
import type { ChannelReplier } from '../../core/channel.js';
import type { AgentAttachments } from '../../core/media.js';
import type { InstagramConnection } from './config.js';
import { decideInstagramReply, instagramReplyWindow } from './window.js';
import { graphPauseKey } from './errors.js';
import type { GraphClient } from './graph-client.js';
import { buildInstagramSendRequests, buildTypingRequest, type GraphSendBody } from './send.js';

/** Meta fetches an agent's attachment by URL, without the bridge's Genesys token: it is given a /media link. */
export function createInstagramReplier(connection: InstagramConnection, graph: GraphClient, attachments: Pick<AgentAttachments, 'link'>): ChannelReplier {
  const mediaUrl = (url: string) => attachments.link(connection.id, url);
  return {
    pauseKey: graphPauseKey(connection.accountId),
    decide(command, conversation, now) {
      const verdict = decideInstagramReply({
        lastInboundAt: conversation.lastInboundAt,
        now,
        originatingEntity: command.originatingEntity,
        humanAgentTag: connection.humanAgentTag,
      });
      return verdict.send ? verdict : { send: false, reason: verdict.reason, sentence: verdict.sentence };
    },
    build(command, decision) {
      return buildInstagramSendRequests(command, { mediaUrl, ...(decision.tag === 'HUMAN_AGENT' ? { tag: 'HUMAN_AGENT' } : {}) });
    },
    send(request, conversation) {
      const { standardEndsAt } = instagramReplyWindow(conversation.lastInboundAt);
      return graph.send(request as GraphSendBody, standardEndsAt !== undefined ? { windowClosedAt: standardEndsAt } : {});
    },
    async sendTyping(customerId) {
      await graph.send(buildTypingRequest(customerId));
    },
  };
}
