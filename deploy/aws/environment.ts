/**
 * What the stack tells each function through its environment: where things are, never a secret. The
 * configuration (with every secret in it) is a Secrets Manager secret the function reads at start-up by the
 * ARN given here.
 */
export const FUNCTION_ENV = {
  /** ARN of the Secrets Manager secret holding the dmbridge configuration file (YAML). */
  configSecretArn: 'DMBRIDGE_CONFIG_SECRET_ARN',
  /** The DynamoDB table (src/store/dynamodb/table.ts). */
  tableName: 'DMBRIDGE_DYNAMODB_TABLE',
  /** The SQS FIFO job queue and its FIFO dead-letter queue. */
  queueUrl: 'DMBRIDGE_SQS_QUEUE_URL',
  deadLetterQueueUrl: 'DMBRIDGE_SQS_DEAD_LETTER_QUEUE_URL',
  /** The media function's URL: media links handed to Genesys and Instagram start with it. */
  mediaBaseUrl: 'DMBRIDGE_MEDIA_BASE_URL',
} as const;
