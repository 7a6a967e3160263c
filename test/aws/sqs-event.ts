/**
 * Reading the local SQS queue the way Lambda's event source mapping does: ReceiveMessage with every system
 * attribute, each message turned into the SQSRecord Lambda would hand the function, and the messages the
 * function did not report failed deleted afterwards.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html (the example SQS FIFO event)
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { REGION } from './local-aws.js';

export async function receiveEvent(sqs: SQSClient, queueUrl: string, visibilityTimeoutSeconds?: number): Promise<SQSEvent> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
      ...(visibilityTimeoutSeconds !== undefined ? { VisibilityTimeout: visibilityTimeoutSeconds } : {}),
    }),
  );
  return { Records: (Messages ?? []).map((m) => toRecord(m, queueUrl)) };
}

/** What Lambda does with a function's answer: deletes every message not listed as failed. */
export async function settle(sqs: SQSClient, queueUrl: string, event: SQSEvent, response: SQSBatchResponse): Promise<void> {
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const done = event.Records.filter((r) => !failed.has(r.messageId));
  for (let i = 0; i < done.length; i += 10) {
    const entries = done.slice(i, i + 10).map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle }));
    const answer = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    if (answer.Failed?.length) throw new Error(`could not delete ${answer.Failed.length} messages: ${answer.Failed[0]!.Code}`);
  }
}

/** Every message now in the queue, in delivery order, deleting each (one per group per receive, as fauxqs gives them). */
export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<SQSRecord[]> {
  const all: SQSRecord[] = [];
  for (;;) {
    const event = await receiveEvent(sqs, queueUrl);
    if (event.Records.length === 0) return all;
    all.push(...event.Records);
    await settle(sqs, queueUrl, event, { batchItemFailures: [] });
  }
}

/** The record Lambda builds from a received message: the same fields, camel-cased, with the queue's ARN. */
export function toRecord(message: Message, queueUrl: string): SQSRecord {
  const [account, name] = new URL(queueUrl).pathname.split('/').filter(Boolean);
  const a = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? '',
      SenderId: a.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? '',
      ...(a.SequenceNumber ? { SequenceNumber: a.SequenceNumber } : {}),
      ...(a.MessageGroupId ? { MessageGroupId: a.MessageGroupId } : {}),
      ...(a.MessageDeduplicationId ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([key, v]) => [
        key,
        { dataType: v.DataType!, ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}), stringListValues: [], binaryListValues: [] },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:${account}:${name}`,
    awsRegion: REGION,
  };
}
