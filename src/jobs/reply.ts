/**
 * The job that delivers one agent reply to the customer's platform, then reports the outcome to Genesys.
 * Channel-neutral: each channel module plugs in a ChannelReplier (window rule, request building, sending).
 *
 * - The window is checked before the first call; a reply that may not be sent never reaches the platform.
 * - A reply of several parts (long text, attachments) records its progress after each part, so a retry
 *   resumes where it failed instead of sending the first parts twice.
 * - Each platform message id is linked to the Genesys message id, so the platform's echo of our own send is
 *   recognised (even when it arrives before the send call returned: echoes run after the reply, in the same
 *   queue) and the customer's reactions and reads can name the agent message they refer to.
 * - Delivered once every part was accepted. Failed (with the reason and a sentence for the agent) when the
 *   platform's rules refuse it (PlatformRefusal: the window closed, the customer blocked the brand) — the job is
 *   then done, since nothing is broken — or when the job is dead-lettered: rejected for another reason, or out of
 *   retries, which an operator should look at.
 * - One info line per reply with its ids and outcome, never its text.
 */
import { z } from 'zod';
import type { ChannelReplier, ConnectionDirectory, LinkedConnection, ReplyVerdict } from '../core/channel.js';
import type { Clock } from '../core/clock.js';
import type { OutboundCommand, OutboundMessageCommand } from '../core/commands.js';
import { conversationKey, replyQueueKey } from '../core/conversation.js';
import type { ConversationState } from '../core/conversation.js';
import { PermanentError, PlatformRefusal, RetryableError, type GenesysReasonCode } from '../core/errors.js';
import { retryStoreWrite } from '../core/store-retry.js';
import { withoutFutureWindow } from '../core/event-time.js';
import type { JobHandler } from '../core/jobs.js';
import type { Conversations, JobSink, NewJob, Pauses, Records } from '../core/store.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { defineJobKind, type PayloadOf } from './kinds.js';
import { PLATFORM_MESSAGE, linkTtlMs, type PlatformMessageLink } from './links.js';
import { outboundCommandSchema } from './payloads.js';
import { rememberOffer } from './offers.js';
import { receiptJob } from './receipt.js';
import { replyDeadline } from './reply-deadline.js';

/** Delivery progress of one Genesys message, kept between attempts. */
interface ReplyProgress {
  sent: number;
  total: number;
  tag?: string;
}

const PROGRESS = 'reply-progress';

export const replyJobKind = defineJobKind('reply.send', 1, z.object({ connectionId: z.string(), command: outboundCommandSchema }));
export type ReplyPayload = PayloadOf<typeof replyJobKind>;

/** The job for one agent message, ordered with the echoes and reads of the customer's replies queue. */
export function replyJob(connectionId: string, command: OutboundCommand): NewJob {
  return replyJobKind.job(
    { connectionId, command },
    { dedupeKey: `genesys:${connectionId}:${command.genesysMessageId}`, conversationKey: replyQueueKey(connectionId, command.customerId) },
  );
}

export function createReplyHandler(deps: {
  store: JobSink & Conversations & Records & Pauses;
  connections: ConnectionDirectory;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Called after receipt jobs were stored, to wake the worker. */
  onEnqueued: () => void;
  /** How long after the bridge accepted it a reply may stay undelivered before it is given up (./reply-deadline.ts). */
  deadlineMs: number;
  /** The job's lease (`queue.leaseMs`), taken just before it runs: how long recording a sent part may be retried. */
  leaseMs: number;
}): JobHandler<ReplyPayload> {
  const { store, clock, logger } = deps;

  function linkedOf(connectionId: string): LinkedConnection {
    const linked = deps.connections.get(connectionId);
    if (!linked) throw new PermanentError(`The bridge no longer has a connection "${connectionId}"; the reply was not sent.`, { reason: 'InvalidDestination' });
    return linked;
  }

  /** The agent's Failed receipt, saying how far a reply of several parts got. */
  async function reportFailure(connectionId: string, command: OutboundMessageCommand, error: Error): Promise<void> {
    const progress = await store.getRecord<ReplyProgress>(PROGRESS, `${connectionId}:${command.genesysMessageId}`);
    const { reason, sentence } = failureFor(error);
    const partial = progress && progress.sent > 0 ? `Only ${progress.sent} of ${progress.total} parts reached the customer. ` : '';
    await store.enqueue([
      receiptJob({
        connectionId,
        genesysMessageId: command.genesysMessageId,
        customerId: command.customerId,
        status: 'Failed',
        time: clock(),
        reason,
        message: partial + sentence,
      }),
    ]);
    deps.metrics.jobs.inc({ kind: replyJobKind.kind, outcome: `failed_${reason}` });
    deps.onEnqueued();
  }

  async function deliver(connectionId: string, command: OutboundMessageCommand, replier: ChannelReplier, leaseEndsAt: number): Promise<void> {
    const progressKey = `${connectionId}:${command.genesysMessageId}`;
    const [saved, stored] = await Promise.all([
      store.getRecord<ReplyProgress>(PROGRESS, progressKey),
      store.getConversation(conversationKey(connectionId, command.customerId)),
    ]);
    const { conversation, dropped } = withoutFutureWindow(stored, clock());
    if (dropped) logger.error({ connectionId, lastInboundAt: stored.lastInboundAt }, "the conversation's last customer message is dated in the future; the reply window is treated as unknown");
    let decision: Extract<ReplyVerdict, { send: true }>;
    if (saved) {
      // Already under way: finish with the decision taken before the first part, whatever the clock says now.
      decision = saved.tag ? { send: true, tag: saved.tag } : { send: true };
    } else {
      const verdict = replier.decide(command, conversation, clock());
      if (!verdict.send) throw new PlatformRefusal(verdict.sentence, { reason: verdict.reason });
      decision = verdict;
    }
    const requests = replier.build(command, decision, conversation);
    const progress: ReplyProgress = { sent: saved?.sent ?? 0, total: requests.length, ...(decision.tag ? { tag: decision.tag } : {}) };
    for (let part = progress.sent; part < requests.length; part++) {
      const result = await sendPart(replier, requests[part], conversation, progress);
      const expiresAt = clock() + linkTtlMs;
      progress.sent = part + 1;
      const sent = { ...progress };
      // The part has reached the customer: recording that is retried while the lease lasts (every write here is
      // safe to repeat), or a store failure of a moment would make the retried job send the part again.
      await retryStoreWrite(
        async () => {
          if (result.messageId) {
            const link: PlatformMessageLink = { origin: 'bridge', genesysMessageId: command.genesysMessageId, part, snippet: snippetOf(command) };
            await store.putRecord(PLATFORM_MESSAGE, `${connectionId}:${result.messageId}`, link, expiresAt);
          }
          await store.putRecord(PROGRESS, progressKey, sent, expiresAt);
          if (result.pauseUntil) await store.pause(replier.pauseKey, result.pauseUntil);
        },
        {
          until: leaseEndsAt,
          clock,
          onRetry: (err, retry) => logger.warn({ err, connectionId, genesysMessageId: command.genesysMessageId, part: part + 1, retry }, 'recording a sent reply part failed; trying again'),
        },
      );
      // A count, not safe to repeat: once. Should it fail, the job resumes after this part, which is recorded.
      await store.recordReplySent(conversationKey(connectionId, command.customerId));
    }
    logger.info(
      { connectionId, genesysMessageId: command.genesysMessageId, parts: requests.length, outcome: 'Delivered', ...(decision.tag ? { tag: decision.tag } : {}) },
      'agent reply delivered',
    );
    await rememberOffer(store, connectionId, command, clock());
    await store.enqueue([
      receiptJob({ connectionId, genesysMessageId: command.genesysMessageId, customerId: command.customerId, status: 'Delivered', time: clock() }),
    ]);
    deps.onEnqueued();
  }

  return {
    // A message waits out its account's pause itself, so that a pause past its deadline fails it at once.
    pauseKeys({ connectionId, command }) {
      const linked = deps.connections.get(connectionId);
      return linked && command.kind === 'typing' ? [linked.clients.replier.pauseKey] : [];
    },
    async run({ connectionId, command }, job) {
      const leaseEndsAt = clock() + deps.leaseMs;
      const linked = linkedOf(connectionId);
      const replier = linked.clients.replier;
      if (command.kind === 'typing') {
        // Best effort: a typing indicator that arrives late is worse than none, so it is never retried.
        const conversation = await store.getConversation(conversationKey(connectionId, command.customerId));
        await replier.sendTyping(command.customerId, conversation).catch((err: unknown) => {
          logger.debug({ err, connectionId }, 'typing indicator not sent');
        });
        return;
      }
      const deadline = replyDeadline({ pauses: store, clock, deadlineMs: deps.deadlineMs, labels: linked.channel.labels }, job.createdAt);
      try {
        await deadline.waitForAccount(replier.pauseKey);
        await deliver(connectionId, command, replier, leaseEndsAt);
      } catch (err) {
        // The platform's rules said no (window closed, customer blocked): the receipt tells the agent, the job is done.
        if (!(err instanceof PlatformRefusal)) throw await deadline.settle(err);
        await reportFailure(connectionId, command, err);
        logger.info({ connectionId, genesysMessageId: command.genesysMessageId, outcome: 'Failed', reason: err.reason }, 'agent reply refused by the platform rules');
      }
    },
    async onDeadLetter({ connectionId, command }, error) {
      if (command.kind !== 'message') return;
      await reportFailure(connectionId, command, error);
      logger.warn({ connectionId, genesysMessageId: command.genesysMessageId, outcome: 'Failed', reason: failureFor(error).reason }, 'agent reply not delivered');
    },
  };
}

async function sendPart(replier: ChannelReplier, request: unknown, conversation: ConversationState, progress: ReplyProgress) {
  try {
    return await replier.send(request, conversation);
  } catch (err) {
    if (progress.sent > 0 && err instanceof Error) err.message = `${err.message} (part ${progress.sent + 1} of ${progress.total})`;
    throw err;
  }
}

/** Classified errors carry their own reason and agent sentence; anything else is a bug, said plainly. */
function failureFor(error: Error): { reason: GenesysReasonCode; sentence: string } {
  if (error instanceof PermanentError || error instanceof RetryableError) return { reason: error.reason, sentence: error.message };
  return { reason: 'GeneralError', sentence: `dmbridge could not deliver this message because of an internal error (${error.message}). Please try again.` };
}

/** The start of the agent's words, so a reaction or read can say which message it was about. */
function snippetOf(command: OutboundMessageCommand): string {
  const text = (command.text ?? command.fallbackText ?? command.attachments[0]?.filename ?? '').trim();
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
