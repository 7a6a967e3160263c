/**
 * Settings of the DynamoDB state of the AWS profile (conversations, records, locks, pauses, dedupe claims,
 * attempt counters). The CDK app creates the table and hands its name to the functions; `endpoint` points the
 * client at DynamoDB Local or dynalite in tests.
 */
import { z } from 'zod';

export const dynamodbOptionsSchema = z.strictObject({
  /** https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html */
  tableName: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be 3-255 letters, digits, dot, dash or underscore'),
  /** Defaults to the region the function runs in (AWS_REGION). */
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1').optional(),
  endpoint: z.url().optional(),
  /**
   * One request's deadline, retries apart: the ingress must answer 503 well before API Gateway gives up on it
   * (30 s), and a DynamoDB call normally answers in milliseconds.
   */
  requestTimeoutMs: z.number().int().min(100).max(60_000).default(3000),
  /** Attempts per call, the first included (the SDK's retry with backoff). */
  maxAttempts: z.number().int().min(1).max(10).default(3),
});

export type DynamoDbOptions = z.output<typeof dynamodbOptionsSchema>;
