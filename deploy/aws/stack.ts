/**
 * dmbridge on AWS: API Gateway (HTTP API) → ingress function → SQS FIFO → worker function, state in DynamoDB,
 * media streamed by a third function through its URL.
 *
 * - A Lambda function is frozen once it answers, so nothing runs after the 200: the ingress verifies, dedupes
 *   and enqueues, then answers; the worker is fed by the queue (one message group per conversation).
 * - HTTP API (payload format 2.0) passes the raw body, base64-encoded when it is not text, so signatures are
 *   checked over the exact bytes. (A REST API would need `binaryMediaTypes: ['*\/*']` for the same.)
 * - Media can be up to 25 MB, above the 6 MB a buffered Lambda response may carry: a function URL in
 *   RESPONSE_STREAM mode serves it. https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html
 * - Secrets never appear in the template or in the functions' environment: the configuration file lives in a
 *   Secrets Manager secret whose ARN the functions get, and read when they start.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { HttpApi, PayloadFormatVersion } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Architecture, Code, Function as LambdaFunction, FunctionUrlAuthType, InvokeMode, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { CHANNELS } from '../../src/channels/index.js';
import { FUNCTION_ENV } from '../../src/entry/lambda-env.js';
import { TABLE_KEY, TABLE_TTL_ATTRIBUTE } from '../../src/store/dynamodb/table.js';
import { QUEUE, VISIBILITY_TIMEOUT_FACTOR } from '../../src/store/sqs/queue.js';
import { BridgeAlarms } from './alarms.js';
import type { FunctionName } from './bundle.js';

export interface DmbridgeStackProps extends StackProps {
  /** Each function's bundle folder (./bundle.ts: index.mjs exporting `handler`), deployed as it is. */
  code: Record<FunctionName, string>;
  /** Name of an existing Secrets Manager secret holding the configuration; without it the stack creates one to fill. */
  configSecretName?: string;
  /** Where the alarm topic sends mail (confirm the subscription); without it, subscribe to the topic yourself. */
  alarmEmail?: string;
}

/** Just under API Gateway's 30-second integration limit; the dedupe claim hold (CLAIM_HOLD_MS) outlasts it. */
const INGRESS_TIMEOUT = Duration.seconds(29);
/** Above `queue.leaseMs` (30 s by default): the worker starts no job in the last `queue.leaseMs` of an invocation. */
const WORKER_TIMEOUT = Duration.seconds(60);
/** Streams up to 25 MB from the platform to Genesys. */
const MEDIA_TIMEOUT = Duration.seconds(60);
/** Messages per worker invocation: SQS's maximum for FIFO event sources. */
const WORKER_BATCH_SIZE = 10;

/** The route of src/http/app.ts that each Genesys Open Messaging integration sends its agents' replies to. */
const GENESYS_WEBHOOK_PATH = '/webhooks/genesys/{connectionId}';

export class DmbridgeStack extends Stack {
  constructor(scope: Construct, id: string, props: DmbridgeStackProps) {
    super(scope, id, props);

    const table = new Table(this, 'State', {
      partitionKey: { name: TABLE_KEY.name, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Conversations, dedupe keys and tokens outlive a stack that is deleted by mistake.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const fifo = {
      fifo: QUEUE.fifo,
      contentBasedDeduplication: QUEUE.contentBasedDeduplication,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      retentionPeriod: Duration.seconds(QUEUE.retentionSeconds),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    };
    const deadLetterQueue = new Queue(this, 'DeadLetterQueue', fifo);
    const queue = new Queue(this, 'Jobs', {
      ...fifo,
      visibilityTimeout: Duration.seconds(WORKER_TIMEOUT.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: QUEUE.maxReceiveCount },
    });

    const config = props.configSecretName
      ? Secret.fromSecretNameV2(this, 'Config', props.configSecretName)
      : new Secret(this, 'Config', {
          description: 'The dmbridge configuration file (YAML). Replace this generated value with the file: aws secretsmanager put-secret-value',
        });

    const environment = {
      [FUNCTION_ENV.configSecretArn]: config.secretArn,
      [FUNCTION_ENV.tableName]: table.tableName,
      [FUNCTION_ENV.queueUrl]: queue.queueUrl,
      [FUNCTION_ENV.deadLetterQueueUrl]: deadLetterQueue.queueUrl,
    };
    const bundled = (name: string, dir: string, settings: { description: string; timeout: Duration; memorySize: number; environment: Record<string, string> }) => {
      const fn = new LambdaFunction(this, name, {
        ...settings,
        code: Code.fromAsset(dir),
        handler: 'index.handler',
        runtime: Runtime.NODEJS_22_X,
        architecture: Architecture.ARM_64,
        logGroup: new LogGroup(this, `${name}Logs`, { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
      });
      table.grantReadWriteData(fn);
      config.grantRead(fn);
      return fn;
    };

    const media = bundled('Media', props.code.media, {
      description: 'dmbridge media: streams GET /media/{token} from the platform',
      timeout: MEDIA_TIMEOUT,
      memorySize: 512,
      environment,
    });
    // The token in the path is HMAC-signed and expires; the function refuses anything else (no open proxy).
    const mediaUrl = media.addFunctionUrl({ authType: FunctionUrlAuthType.NONE, invokeMode: InvokeMode.RESPONSE_STREAM });

    const withMedia = { ...environment, [FUNCTION_ENV.mediaBaseUrl]: mediaUrl.url };
    const ingress = bundled('Ingress', props.code.ingress, {
      description: 'dmbridge ingress: verifies, dedupes and enqueues webhooks, then answers',
      timeout: INGRESS_TIMEOUT,
      memorySize: 1024,
      environment: withMedia,
    });
    queue.grantSendMessages(ingress);

    const worker = bundled('Worker', props.code.worker, {
      description: 'dmbridge worker: runs the queued jobs (to Genesys, to the platforms)',
      timeout: WORKER_TIMEOUT,
      memorySize: 1024,
      environment: withMedia,
    });
    queue.grantSendMessages(worker);
    deadLetterQueue.grantSendMessages(worker);
    // Failed messages are reported one by one, so one failure never sends the whole batch back.
    worker.addEventSource(new SqsEventSource(queue, { batchSize: WORKER_BATCH_SIZE, reportBatchItemFailures: true }));

    const api = new HttpApi(this, 'Api', {
      description: 'dmbridge webhooks (Instagram, TikTok, Genesys)',
      defaultIntegration: new HttpLambdaIntegration('Ingress', ingress, { payloadFormatVersion: PayloadFormatVersion.VERSION_2_0 }),
    });
    // The configuration is the same for every function, so each must resolve all its ${…} references. The media
    // function mints no media links, and its own URL cannot be in its environment (the URL depends on the
    // function): it gets the API's, where the ingress would serve a link too (buffered, so up to 6 MB).
    media.addEnvironment(FUNCTION_ENV.mediaBaseUrl, api.apiEndpoint);

    const alarms = new Topic(this, 'Alarms', { displayName: 'dmbridge alarms' });
    if (props.alarmEmail) alarms.addSubscription(new EmailSubscription(props.alarmEmail));
    new BridgeAlarms(this, 'Alarm', {
      queue,
      deadLetterQueue,
      functions: { Ingress: ingress, Worker: worker, Media: media },
      topic: alarms,
      oldestMessageAge: Duration.minutes(30),
    });

    const webhook = (path: string) => `${api.apiEndpoint}${path}`;
    // One output per registered channel (src/channels/index.ts): the URL to register with that platform.
    for (const channel of CHANNELS) {
      new CfnOutput(this, `${channel.labels.platform.replace(/[^A-Za-z0-9]/g, '')}WebhookUrl`, {
        value: webhook(channel.webhook.path),
        description: `${channel.labels.platform}: the webhook callback URL to register with the platform (docs/deploying.md, AWS)`,
      });
    }
    new CfnOutput(this, 'GenesysWebhookUrl', {
      value: webhook(GENESYS_WEBHOOK_PATH),
      description: 'Genesys Cloud > Open Messaging integration > Outbound Notification Webhook URL, with {connectionId} replaced by the connection id',
    });
    new CfnOutput(this, 'WebhookBaseUrl', {
      value: api.apiEndpoint,
      description: 'server.webhookBaseUrl in the configuration that dmbridge genesys setup and doctor read (docs/deploying.md, AWS)',
    });
    new CfnOutput(this, 'MediaBaseUrl', { value: mediaUrl.url, description: 'Media links handed to Genesys start with this URL' });
    new CfnOutput(this, 'ConfigSecretArn', { value: config.secretArn, description: 'Put the dmbridge configuration file (YAML) in this secret' });
    new CfnOutput(this, 'AlarmTopicArn', { value: alarms.topicArn, description: 'Subscribe to this topic to receive the alarms' });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: deadLetterQueue.queueUrl, description: 'Jobs dmbridge gave up on, with their errors' });
    // What the configuration's ${DMBRIDGE_…} references are on AWS, for `dmbridge doctor` run from a machine.
    new CfnOutput(this, 'TableName', { value: table.tableName, description: 'DMBRIDGE_DYNAMODB_TABLE, for dmbridge doctor' });
    new CfnOutput(this, 'QueueUrl', { value: queue.queueUrl, description: 'DMBRIDGE_SQS_QUEUE_URL, for dmbridge doctor' });
  }
}
