/**
 * How long an agent's reply may stay undelivered: a bounded time (`queue.replyDeadlineMs`, from when the bridge
 * accepted it), after which the agent gets a Failed receipt instead of waiting while the bridge retries for hours
 * (design.md, guarantee 5). The same for every channel; the channels only classify their errors.
 *
 * - A failure that could still be retried becomes final once the deadline has passed, or when the platform asks
 *   to be left alone (Retry-After, a rate-limit pause) until after it.
 * - The account's rate-limit pause is waited out here rather than by the queue: a pause that lasts past the
 *   deadline fails the reply at once.
 */
import type { ChannelLabels } from '../core/channel.js';
import type { Clock } from '../core/clock.js';
import { PermanentError, RetryableError } from '../core/errors.js';
import type { Pauses } from '../core/store.js';

export interface ReplyDeadline {
  /** Epoch ms after which the reply is given up. */
  at: number;
  /** Throws when the account is paused: retryable while the pause ends before the deadline, else final. */
  waitForAccount(pauseKey: string): Promise<void>;
  /** The error to fail this attempt with: `error` itself, or a final one when no retry could land in time. */
  settle(error: unknown): Promise<unknown>;
}

export function replyDeadline(deps: { pauses: Pauses; clock: Clock; deadlineMs: number; labels: ChannelLabels }, acceptedAt: number): ReplyDeadline {
  const { pauses, clock, deadlineMs, labels } = deps;
  const at = acceptedAt + deadlineMs;
  const within = `within ${duration(deadlineMs)}`;
  return {
    at,
    async waitForAccount(pauseKey) {
      const until = await pauses.pausedUntil(pauseKey);
      const now = clock();
      if (until <= now) return;
      if (until >= at) {
        throw new PermanentError(
          `${labels.platform} is limiting how many messages this account may send until after the time the bridge may take to deliver a reply (${within}); the message was not sent. Send it again later.`,
          { reason: 'RateLimited' },
        );
      }
      throw new RetryableError(`waiting until ${new Date(until).toISOString()} for ${labels.platform}'s rate limit on this account`, {
        retryAfterMs: until - now,
        reason: 'RateLimited',
      });
    },
    async settle(error) {
      if (error instanceof PermanentError || !(error instanceof Error)) return error;
      const now = clock();
      const retryAfterMs = error instanceof RetryableError ? (error.retryAfterMs ?? 0) : 0;
      if (now < at && now + retryAfterMs < at) return error;
      // The platform's pause still holds for the account's other replies, though this one is given up.
      if (error instanceof RetryableError && error.pauseKey) await pauses.pause(error.pauseKey, now + retryAfterMs);
      const reason = error instanceof RetryableError ? error.reason : 'GeneralError';
      const sentence = error instanceof RetryableError ? error.message : `dmbridge could not deliver this message because of an internal error (${error.message}).`;
      return new PermanentError(`${sentence} (not delivered ${within})`, { reason, cause: error });
    },
  };
}

/** `5 minutes`, `90 seconds`. */
function duration(ms: number): string {
  return ms >= 120_000 && ms % 60_000 === 0 ? `${ms / 60_000} minutes` : `${Math.round(ms / 1000)} seconds`;
}
