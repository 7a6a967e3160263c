/**
 * The job queue and its dead-letter queue as the CDK app deploys them and the local tests create them.
 */

/** The function timeout times six, at least: AWS's advice for queues that feed a Lambda function. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

export const QUEUE = {
  /** Messages of a group (a conversation) are delivered one at a time, in order. */
  fifo: true,
  /** Deduplication ids come from the jobs' dedupe keys (src/store/sqs/message.ts). */
  contentBasedDeduplication: false,
  /**
   * High-throughput FIFO: the 300 messages a second limit applies per message group, not per queue. A dedupe
   * key always belongs to the same conversation, so deduplicating within a group loses nothing.
   * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/high-throughput-fifo.html
   */
  deduplicationScope: 'messageGroup',
  fifoThroughputLimit: 'perMessageGroupId',
  /** The longest SQS keeps a message: a long outage of the far side delays work but does not lose it. */
  retentionSeconds: 14 * 24 * 3600,
  /**
   * Only a backstop: the worker counts attempts in DynamoDB and moves a given-up job to the dead-letter queue
   * itself. Receives also count the waits behind a pause or behind a failing job of the same conversation, so
   * this is far above `queue.maxAttempts`.
   */
  maxReceiveCount: 100,
} as const;
