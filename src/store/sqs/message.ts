/**
 * A job as an SQS FIFO message: the body carries the job, the message group is its conversation (one message
 * of a group in flight at a time, in order), the deduplication id is derived from its dedupe key.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagegroupid-property.html
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Job, NewJob } from '../../core/store.js';

/**
 * SQS's limit for one message and for one SendMessageBatch call (body and attributes):
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
 */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/** MessageGroupId and MessageDeduplicationId: up to 128 of these characters. */
const SQS_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;

const jobMessageSchema = z.object({
  v: z.literal(1),
  id: z.string().min(1),
  dedupeKey: z.string().min(1),
  conversationKey: z.string().min(1),
  kind: z.string().min(1),
  payload: z.unknown(),
  createdAt: z.number().int(),
});

export interface JobMessage {
  body: string;
  groupId: string;
  deduplicationId: string;
  jobId: string;
}

/**
 * A job's id is the hash of its dedupe key: stable across redeliveries and resends, so what a handler derives
 * from it (the Genesys message id) is the same every time. It is also the message's deduplication id.
 */
export function jobIdOf(dedupeKey: string): string {
  return createHash('sha256').update(dedupeKey).digest('hex');
}

/** The conversation key as it is when SQS accepts it (readable in the console), else its hash. */
export function groupIdOf(conversationKey: string): string {
  return SQS_ID.test(conversationKey) ? conversationKey : `sha256:${createHash('sha256').update(conversationKey).digest('hex')}`;
}

export function encodeJob(job: NewJob, createdAt: number): JobMessage {
  const id = jobIdOf(job.dedupeKey);
  const body = asciiJson({
    v: 1,
    id,
    dedupeKey: job.dedupeKey,
    conversationKey: job.conversationKey,
    kind: job.kind,
    payload: job.payload ?? null,
    createdAt,
  });
  const bytes = Buffer.byteLength(body);
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new Error(`a ${job.kind} job of ${bytes} bytes is larger than an SQS message may be (${MAX_MESSAGE_BYTES} bytes)`);
  }
  return { body, groupId: groupIdOf(job.conversationKey), deduplicationId: id, jobId: id };
}

/**
 * JSON with every non-ASCII character escaped (`é` as `\u00e9`). SQS refuses a body holding a character outside the
 * XML character range (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html),
 * and local SQS servers refuse some it accepts (emoji): ASCII passes everywhere and parses back the same.
 */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A job without its attempts (they are counted in DynamoDB), or why the body is not one. */
export function decodeJob(body: string): { ok: true; job: Omit<Job, 'attempts'> } | { ok: false; error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { ok: false, error: 'the message body is not JSON' };
  }
  const result = jobMessageSchema.safeParse(parsed);
  if (!result.success) return { ok: false, error: `the message body is not a dmbridge job (${result.error.issues[0]?.message ?? 'invalid'})` };
  const { v: _version, ...job } = result.data;
  return { ok: true, job };
}
