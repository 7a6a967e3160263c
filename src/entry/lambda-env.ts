/**
 * What the CDK stack (deploy/aws/stack.ts) tells each function through its environment, and the Lambda entries
 * read: where things are, never a secret. The configuration, with every secret in it, is a Secrets Manager
 * secret the functions read at start-up by the ARN given here; the other names are what its `${…}` references
 * use (docs/deploying.md, AWS), so one configuration fits whatever table and queues a deployment created.
 */
export const FUNCTION_ENV = {
  /** ARN (or name) of the Secrets Manager secret holding the dmbridge configuration file (YAML). */
  configSecretArn: 'DMBRIDGE_CONFIG_SECRET_ARN',
  /** The DynamoDB table (src/store/dynamodb/table.ts): `dynamodb.tableName`. */
  tableName: 'DMBRIDGE_DYNAMODB_TABLE',
  /** The SQS FIFO job queue and its FIFO dead-letter queue: `sqs.queueUrl`, `sqs.deadLetterQueueUrl`. */
  queueUrl: 'DMBRIDGE_SQS_QUEUE_URL',
  deadLetterQueueUrl: 'DMBRIDGE_SQS_DEAD_LETTER_QUEUE_URL',
  /** The media function's URL, `server.publicUrl`: media links handed to Genesys and to the platforms start with it. */
  mediaBaseUrl: 'DMBRIDGE_MEDIA_BASE_URL',
} as const;
