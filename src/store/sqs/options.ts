/**
 * Settings of the AWS profile's queue: the SQS FIFO queue the intakes send jobs to and the worker function
 * consumes, and the FIFO dead-letter queue the worker moves given-up jobs to. The CDK app creates both and
 * hands their URLs to the functions; `endpoint` points the client at a local SQS server in tests.
 */
import { z } from 'zod';

const fifoQueueUrl = z.url().refine((url) => url.endsWith('.fifo'), 'must be the URL of a FIFO queue (its name ends in .fifo)');

export const sqsOptionsSchema = z.strictObject({
  queueUrl: fifoQueueUrl,
  deadLetterQueueUrl: fifoQueueUrl,
  /** Defaults to the region the function runs in (AWS_REGION). */
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1').optional(),
  endpoint: z.url().optional(),
  /** One request's deadline, retries apart: the ingress must answer 503 well before API Gateway's 30 s. */
  requestTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
  /** Attempts per call, the first included (the SDK's retry with backoff). */
  maxAttempts: z.number().int().min(1).max(10).default(3),
});

export type SqsOptions = z.output<typeof sqsOptionsSchema>;
