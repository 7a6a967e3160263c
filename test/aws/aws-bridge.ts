/**
 * The AWS profile run locally, the way AWS runs it: an ingress function behind an HTTP API (./lambda-http.ts), a
 * worker function fed by the job queue and, if asked, the media function behind its function URL, each a bridge
 * of its own (functions share nothing but the table and the queues), over local DynamoDB and fauxqs. `pollQueue` plays the SQS event source mapping: it receives
 * batches, invokes the worker with them as SQS events and deletes what the answer does not list as failed.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { CHANNELS } from '../../src/channels/index.js';
import { configSchemaFor } from '../../src/config/index.js';
import type { ChannelModule } from '../../src/core/channel.js';
import { ingressHandler, mediaHandler, workerHandler } from '../../src/entry/lambda-handlers.js';
import { composeLambdaBridge, type LambdaBridge } from '../../src/entry/lambda-init.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import type { SqsOptions } from '../../src/store/sqs/options.js';
import type { BridgeProfile, BridgeUnderTest } from '../channels/contract.js';
import { testResolver } from '../helpers.js';
import { startFaultySqs, type FaultySqs } from './faulty-sqs.js';
import { lambdaContext } from './lambda-events.js';
import { installAwsLambdaGlobal, serveFunctionUrl, serveHttpApi, type LocalEndpoint, type StreamingHandler } from './lambda-http.js';
import { CREDENTIALS, createQueues, createTable, localSqsClient, type LocalAwsEndpoints } from './local-aws.js';
import { receiveEvent, settle } from './sqs-event.js';

type WorkerFunction = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface QueuePoller {
  /** Batches handed to the worker so far. */
  readonly invocations: number;
  /** Not inside an invocation right now. */
  idle(): boolean;
  stop(): Promise<void>;
}

/** Lambda's event source mapping for one queue, polling every `everyMs` when the queue gave nothing. */
export function pollQueue(
  sqs: SQSClient,
  queueUrl: string,
  worker: WorkerFunction,
  opts: {
    everyMs?: number;
    timeoutMs?: number;
    onFailedInvocation?: (err: unknown) => void;
    /** Called with each answer before its messages are settled. */
    onAnswer?: (event: SQSEvent, response: SQSBatchResponse) => void;
  } = {},
): QueuePoller {
  const failed = opts.onFailedInvocation ?? ((err: unknown) => console.error('worker invocation failed', err));
  let running = true;
  let busy = false;
  let invocations = 0;
  const loop = (async () => {
    while (running) {
      let got = 0;
      try {
        const event = await receiveEvent(sqs, queueUrl);
        got = event.Records.length;
        if (got > 0) {
          busy = true;
          invocations++;
          // A failed invocation settles nothing: its messages come back after the visibility timeout.
          const response = await worker(event, lambdaContext('dmbridge-worker', opts.timeoutMs ?? 60_000)).catch((err: unknown) => {
            failed(err);
            return undefined;
          });
          if (response) {
            opts.onAnswer?.(event, response);
            await settle(sqs, queueUrl, event, response);
          }
        }
      } catch (err) {
        if (running) console.error('polling the job queue failed', err);
      } finally {
        busy = false;
      }
      if (got === 0 && running) await new Promise((resolve) => setTimeout(resolve, opts.everyMs ?? 20));
    }
  })();
  return {
    get invocations() {
      return invocations;
    },
    idle: () => !busy,
    async stop() {
      running = false;
      await loop;
    },
  };
}

export interface LocalAwsBridge extends BridgeUnderTest {
  ingress: LambdaBridge;
  worker: LambdaBridge;
  /** With `media: true`: the media function and its URL, which is `server.publicUrl` (media links start with it). */
  media?: { lambda: LambdaBridge; url: string };
  queues: SqsOptions;
  /** Between the functions and fauxqs: fails chosen sends, counts what was queued. */
  sqsProxy: FaultySqs;
  /** A client straight to fauxqs, for the test's own looks at the queues. */
  sqs: SQSClient;
  poller: QueuePoller;
}

export interface LocalAwsBridgeOptions {
  /** A configuration as an operator writes it; its store settings are replaced by the AWS profile's. */
  raw: Record<string, unknown>;
  channels?: readonly ChannelModule[];
  visibilityTimeoutSeconds?: number;
  logger?: Logger;
  /** false: no worker polls the queue (the test invokes it itself). */
  poll?: boolean;
  media?: boolean;
}

export async function startLocalAwsBridge(endpoints: LocalAwsEndpoints, opts: LocalAwsBridgeOptions): Promise<LocalAwsBridge> {
  const [table, { deadLetterQueueArn: _arn, ...queues }] = await Promise.all([createTable(endpoints), createQueues(endpoints, opts.visibilityTimeoutSeconds ?? 30)]);
  const sqsProxy = await startFaultySqs(endpoints.sqs.endpoint);
  const channels = opts.channels;
  let mediaFunction: StreamingHandler | undefined;
  let mediaUrl: LocalEndpoint | undefined;
  if (opts.media) {
    installAwsLambdaGlobal();
    // The URL exists before the function is composed (it is in the configuration), as on AWS.
    const late = (...args: never[]) => mediaFunction!(...args);
    mediaUrl = await serveFunctionUrl(awslambda.streamifyResponse(late as never));
  }
  const raw = opts.raw as { server?: Record<string, unknown> };
  const config = configSchemaFor(channels ?? CHANNELS).parse({
    ...opts.raw,
    ...(mediaUrl ? { server: { ...raw.server, publicUrl: `${mediaUrl.url}/` } } : {}),
    store: 'aws',
    dynamodb: table,
    sqs: { ...queues, endpoint: sqsProxy.endpoint },
  });
  const compose = () => composeLambdaBridge(config, { logger: opts.logger ?? silentLogger, credentials: CREDENTIALS, resolveHost: testResolver(), ...(channels ? { channels } : {}) });
  const ingress = compose();
  const worker = compose();
  const media = mediaUrl ? compose() : undefined;
  if (media) mediaFunction = mediaHandler(media);
  const api = await serveHttpApi(ingressHandler(ingress));
  const sqs = localSqsClient(endpoints);
  const handle = workerHandler(worker);
  const poller = opts.poll === false ? { invocations: 0, idle: () => true, stop: async () => undefined } : pollQueue(sqs, queues.queueUrl, handle);
  const skipped = async (reason?: string) => {
    let sum = 0;
    for (const fn of [ingress, worker]) {
      for (const v of (await fn.bridge.metrics.eventsSkipped.get()).values) if (reason === undefined || v.labels.reason === reason) sum += v.value;
    }
    return sum;
  };
  return {
    url: api.url,
    config,
    ingress,
    worker,
    ...(media && mediaUrl ? { media: { lambda: media, url: mediaUrl.url } } : {}),
    queues,
    sqsProxy,
    sqs,
    poller,
    jobsStored: async () => sqsProxy.accepted(),
    async drained() {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queues.queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
      );
      return poller.idle() && Number(Attributes?.ApproximateNumberOfMessages) === 0 && Number(Attributes?.ApproximateNumberOfMessagesNotVisible) === 0;
    },
    skipped,
    async close() {
      await poller.stop();
      await Promise.all([api.close(), mediaUrl?.close()]);
      await Promise.all([ingress.store.close(), worker.store.close(), media?.store.close(), sqsProxy.close()]);
      sqs.destroy();
    },
  };
}

/** The AWS profile for the channel contract suite (test/channels/contract.ts). */
export function awsLambdaProfile(local: { readonly endpoints: LocalAwsEndpoints }): BridgeProfile {
  return {
    name: 'AWS Lambda profile',
    start: (raw, channels) => startLocalAwsBridge(local.endpoints, { raw, channels }),
  };
}
