/**
 * The AWS profile's Inbox and JobSink: dedupe keys claimed in DynamoDB (src/store/dynamodb/claims.ts),
 * customer-message facts recorded there, jobs sent to the SQS FIFO queue. It resolves only once every new job
 * is in the queue; otherwise it rejects (the intake answers 503 and the platform delivers again) after freeing
 * the keys of the jobs that were not sent, so the next delivery takes them as new, never as duplicates.
 *
 * Order within a conversation: the n-th job of a message group is sent only after its (n-1)-th is in the queue,
 * so a failed send is never overtaken by a later job of its conversation. Jobs of different groups share
 * SendMessageBatch calls (10 entries, 256 KB per call).
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
 */
import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import type { Clock } from '../../core/clock.js';
import { RetryableError } from '../../core/errors.js';
import type { Conversations, EnqueueResult, Inbox, InboxBatch, JobSink, NewJob } from '../../core/store.js';
import type { Logger } from '../../logger.js';
import type { ClaimOutcome, DedupeClaims } from '../dynamodb/claims.js';
import { encodeJob, MAX_MESSAGE_BYTES, type JobMessage } from './message.js';

export interface SqsInboxOptions {
  sqs: SQSClient;
  queueUrl: string;
  claims: DedupeClaims;
  conversations: Conversations;
  clock: Clock;
  logger: Logger;
}

const MAX_BATCH_ENTRIES = 10;

interface Outgoing {
  job: NewJob;
  message: JobMessage;
}

export class SqsInbox implements Inbox, JobSink {
  constructor(private readonly opts: SqsInboxOptions) {}

  enqueue(jobs: NewJob[]): Promise<EnqueueResult> {
    return this.accept({ jobs, customerMessages: [] });
  }

  async accept(batch: InboxBatch): Promise<EnqueueResult> {
    const unique = new Map<string, NewJob>();
    for (const job of batch.jobs) if (!unique.has(job.dedupeKey)) unique.set(job.dedupeKey, job);
    const createdAt = this.opts.clock();
    // Encoding first: a job too large for SQS fails the call before anything is claimed.
    const outgoing: Outgoing[] = [...unique.values()].map((job) => ({ job, message: encodeJob(job, createdAt) }));
    const holder = randomUUID();

    const [claims, facts] = await Promise.all([
      Promise.allSettled(outgoing.map((o) => this.opts.claims.claim(o.job.dedupeKey, holder))),
      Promise.allSettled(batch.customerMessages.map((f) => this.opts.conversations.recordCustomerMessage(f.conversationKey, f.at, f.threadId))),
    ]);
    const claimed = outgoing.filter((_, i) => outcome(claims[i]!) === 'claimed');
    const failure = [...claims, ...facts].find((r) => r.status === 'rejected');
    const held = outgoing.filter((_, i) => outcome(claims[i]!) === 'held');
    if (failure || held.length > 0) {
      await this.release(claimed, holder);
      if (failure) throw failure.reason;
      throw new RetryableError(
        `${held.length} of these jobs (first: ${held[0]!.job.kind}) are being enqueued by another delivery right now; deliver again later`,
      );
    }

    const { sent, error } = await this.send(claimed);
    const sentKeys = new Set(sent.map((o) => o.job.dedupeKey));
    await this.confirm(sent, holder);
    if (error) {
      await this.release(claimed.filter((o) => !sentKeys.has(o.job.dedupeKey)), holder);
      throw error;
    }
    return { accepted: claimed.length, duplicates: batch.jobs.length - claimed.length };
  }

  /**
   * Sends in rounds: round n holds the n-th job of every group, so no job is sent before the earlier jobs of
   * its conversation are in the queue. A group whose job failed sends nothing more.
   */
  private async send(jobs: Outgoing[]): Promise<{ sent: Outgoing[]; error?: Error }> {
    const groups = new Map<string, Outgoing[]>();
    for (const o of jobs) groups.set(o.message.groupId, [...(groups.get(o.message.groupId) ?? []), o]);
    const sent: Outgoing[] = [];
    const stopped = new Set<string>();
    let error: Error | undefined;
    for (let round = 0; ; round++) {
      const due = [...groups.entries()].filter(([groupId, list]) => !stopped.has(groupId) && round < list.length).map(([, list]) => list[round]!);
      if (due.length === 0) return error ? { sent, error } : { sent };
      const results = await Promise.all(chunk(due).map((entries) => this.sendBatch(entries)));
      for (const result of results) {
        sent.push(...result.sent);
        for (const o of result.failed) stopped.add(o.message.groupId);
        error ??= result.error;
      }
    }
  }

  private async sendBatch(batch: Outgoing[]): Promise<{ sent: Outgoing[]; failed: Outgoing[]; error?: Error }> {
    const entries: SendMessageBatchRequestEntry[] = batch.map((o, i) => ({
      Id: String(i),
      MessageBody: o.message.body,
      MessageGroupId: o.message.groupId,
      MessageDeduplicationId: o.message.deduplicationId,
    }));
    try {
      const answer = await this.opts.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.opts.queueUrl, Entries: entries }));
      const failed = new Map((answer.Failed ?? []).map((f) => [f.Id, f]));
      const first = answer.Failed?.[0];
      const result = { sent: batch.filter((_, i) => !failed.has(String(i))), failed: batch.filter((_, i) => failed.has(String(i))) };
      if (!first) return result;
      return { ...result, error: new Error(`SQS refused ${failed.size} of ${batch.length} messages: ${first.Code} ${first.Message ?? ''}`.trim()) };
    } catch (err) {
      // Unknown whether SQS took them: a resend carries the same deduplication ids, which SQS drops for 5 minutes.
      return { sent: [], failed: batch, error: err instanceof Error ? err : new Error(String(err)) };
    }
  }

  /** A confirmation that fails leaves a hold that lapses: a later delivery is sent again (a duplicate, never a loss). */
  private async confirm(jobs: Outgoing[], holder: string): Promise<void> {
    const results = await Promise.allSettled(jobs.map((o) => this.opts.claims.confirm(o.job.dedupeKey, holder)));
    const lost = results.filter((r) => r.status === 'rejected' || !r.value).length;
    if (lost > 0) this.opts.logger.warn({ jobs: jobs.length, unconfirmed: lost }, 'queued jobs whose dedupe keys could not be confirmed');
  }

  /** A release that fails leaves a hold that lapses by itself (CLAIM_HOLD_MS). */
  private async release(jobs: Outgoing[], holder: string): Promise<void> {
    const results = await Promise.allSettled(jobs.map((o) => this.opts.claims.release(o.job.dedupeKey, holder)));
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed > 0) this.opts.logger.warn({ jobs: jobs.length, unreleased: failed }, 'dedupe keys of unsent jobs could not be released');
  }
}

function outcome(result: PromiseSettledResult<ClaimOutcome>): ClaimOutcome | 'failed' {
  return result.status === 'fulfilled' ? result.value : 'failed';
}

/** Up to 10 entries and 256 KB of bodies per call. */
function chunk(jobs: Outgoing[]): Outgoing[][] {
  const chunks: Outgoing[][] = [];
  let current: Outgoing[] = [];
  let bytes = 0;
  for (const o of jobs) {
    const size = Buffer.byteLength(o.message.body);
    if (current.length === MAX_BATCH_ENTRIES || (current.length > 0 && bytes + size > MAX_MESSAGE_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(o);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
