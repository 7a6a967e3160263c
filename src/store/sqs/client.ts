import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import type { SqsOptions } from './options.js';

/**
 * Credentials come from the function's role unless given (tests give dummy ones to the local server). With an
 * endpoint override, requests go to it rather than to the host in the queue URL (local servers hand out URLs
 * under names like sqs.<region>.localhost that do not resolve).
 */
export function createSqsClient(options: SqsOptions, credentials?: SQSClientConfig['credentials']): SQSClient {
  return new SQSClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint, useQueueUrlAsEndpoint: false } : {}),
    ...(credentials ? { credentials } : {}),
    maxAttempts: options.maxAttempts,
    requestHandler: { requestTimeout: options.requestTimeoutMs, connectionTimeout: options.requestTimeoutMs, throwOnRequestTimeout: true },
  });
}
