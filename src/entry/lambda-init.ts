/**
 * What each function of the AWS profile does once, in Lambda's init phase (before its first invocation): read the
 * configuration file from Secrets Manager, validate it with the one schema (src/config.ts), and compose the bridge
 * over the AWS store (jobs in SQS FIFO, state in DynamoDB). Nothing here runs in the background afterwards: a
 * function is frozen between invocations, so all its work happens inside one.
 *
 * The secret holds the same YAML file the Node server reads. Its `${NAME}` references are filled from the
 * function's environment (src/entry/lambda-env.ts), which names the table, the queues and the media URL of this
 * deployment and holds no secret.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { composeBridge, type ComposedBridge } from '../bridge.js';
import { ConfigError, parseConfig, type Config } from '../config/index.js';
import type { ChannelModule } from '../core/channel.js';
import { systemClock, type Clock } from '../core/clock.js';
import { createLogger, type Logger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import type { Resolver } from '../net/media-fetch.js';
import type { DynamoDbOptions } from '../store/dynamodb/options.js';
import { AwsStore } from '../store/sqs/open.js';
import type { SqsOptions } from '../store/sqs/options.js';
import { FUNCTION_ENV } from './lambda-env.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export type AwsConfig = Config & { store: 'aws'; dynamodb: DynamoDbOptions; sqs: SqsOptions };

export interface LambdaBridge {
  config: AwsConfig;
  logger: Logger;
  store: AwsStore;
  bridge: ComposedBridge;
  clock: Clock;
}

export interface ComposeLambdaOptions {
  logger?: Logger;
  clock?: Clock;
  /** The channel registry; tests pass their own. */
  channels?: readonly ChannelModule[];
  /** Only for local servers: on AWS the function's role provides them. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** How media hosts are resolved; tests give one that asks no real DNS. */
  resolveHost?: Resolver;
}

/** The start-up of a deployed function: the configuration from the secret its environment names, then the bridge. */
export async function initLambda(env: NodeJS.ProcessEnv = process.env): Promise<LambdaBridge> {
  return composeLambdaBridge(await readConfigSecret(env));
}

/**
 * The configuration file from Secrets Manager, validated. Errors name the secret and the key, never a value.
 * The client reads region, credentials and (in tests) AWS_ENDPOINT_URL_SECRETS_MANAGER from the environment.
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
 */
export async function readConfigSecret(env: NodeJS.ProcessEnv, client?: SecretsManagerClient): Promise<Config> {
  const secretId = env[FUNCTION_ENV.configSecretArn];
  if (!secretId) throw new ConfigError(`${FUNCTION_ENV.configSecretArn} is not set: it must name the Secrets Manager secret holding the configuration`);
  const sm = client ?? new SecretsManagerClient({ maxAttempts: 3 });
  let text: string;
  try {
    const answer = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
    const value = answer.SecretString ?? (answer.SecretBinary ? Buffer.from(answer.SecretBinary).toString('utf8') : undefined);
    if (value === undefined) throw new ConfigError(`secret ${secretId}: holds no value; put the configuration file in it`);
    text = value;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const name = err instanceof Error ? err.name : 'Error';
    throw new ConfigError(`secret ${secretId}: cannot be read (${name}: ${err instanceof Error ? err.message : String(err)})`);
  } finally {
    if (!client) sm.destroy();
  }
  return parseConfig(text, env, `secret ${secretId}`);
}

/** The bridge over the AWS store, from a validated configuration whose store is `aws`. */
export function composeLambdaBridge(config: Config, opts: ComposeLambdaOptions = {}): LambdaBridge {
  if (config.store !== 'aws' || !config.dynamodb || !config.sqs) {
    throw new ConfigError(`store: the AWS Lambda functions run on store: aws (with dynamodb: and sqs:), not on ${config.store.split(':')[0]}`);
  }
  const aws = config as AwsConfig;
  const logger = opts.logger ?? createLogger(config.log.level);
  const clock = opts.clock ?? systemClock;
  const store = new AwsStore({
    dynamodb: aws.dynamodb,
    sqs: aws.sqs,
    dedupeRetentionMs: config.dedupeRetentionDays * DAY_MS,
    logger,
    clock,
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  // No process metrics: per execution environment they say nothing that CloudWatch does not, and the event-loop
  // delay histogram samples on a timer of its own.
  const metrics = createMetrics({ defaultMetrics: false });
  const bridge = composeBridge({ config, logger, store, clock, metrics, ...(opts.channels ? { channels: opts.channels } : {}), ...(opts.resolveHost ? { resolveHost: opts.resolveHost } : {}) });
  return { config: aws, logger, store, bridge, clock };
}
