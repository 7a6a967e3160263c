/**
 * The three functions of the AWS profile, each over a bridge composed once per execution environment
 * (./lambda-init.ts). A function is frozen as soon as it answers, so each one finishes all its work first:
 *
 * - ingress (API Gateway): the same Hono app as the Node server, through hono/aws-lambda, which takes HTTP API
 *   (payload 2.0) and REST API (1.0) events and decodes base64 bodies to the exact bytes the signatures cover.
 *   The intakes answer 200 only once the jobs are in the queue (AwsStore.accept), 503 when they are not.
 * - worker (SQS event source mapping): each batch through the same job runner and outcome decision as the Node
 *   worker (src/queue/run-job.ts, src/queue/sqs-consumer.ts), with partial batch failures.
 * - media (function URL, RESPONSE_STREAM): GET /media/{token} streamed, so a video above Lambda's 6 MB buffered
 *   response limit gets through. https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Hono } from 'hono';
import { handle, streamHandle } from 'hono/aws-lambda';
import { refuse } from '../intake/refuse.js';
import { runJob, type RunJobDeps } from '../queue/run-job.js';
import { consumeSqsBatch } from '../queue/sqs-consumer.js';
import type { LambdaBridge } from './lambda-init.js';

export function ingressHandler(lambda: LambdaBridge) {
  return handle(lambda.bridge.app);
}

/**
 * A job is started only while at least `queue.leaseMs` of the invocation remain: the time a job may take, as
 * under the Node worker (the function's timeout must be longer; the CDK stack's is 60 s against 30 s).
 */
export function workerHandler(lambda: LambdaBridge): (event: SQSEvent, context: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<SQSBatchResponse> {
  const { config, store, bridge, clock, logger } = lambda;
  const deps: RunJobDeps = {
    routes: bridge.routes,
    pauses: store,
    clock,
    maxAttempts: config.queue.maxAttempts,
    backoff: { baseMs: config.queue.backoffBaseMs, maxMs: config.queue.backoffMaxMs },
    logger,
  };
  return (event, context) =>
    consumeSqsBatch(event, (job) => runJob(job, deps), store.consumer, {
      metrics: bridge.metrics,
      mayStart: () => context.getRemainingTimeInMillis() > config.queue.leaseMs,
    });
}

/** Only the media route: the function URL is public, and webhooks belong to the API. */
export function mediaHandler(lambda: LambdaBridge) {
  const media = new Hono();
  media.get('/media/:token', (c) => lambda.bridge.app.fetch(c.req.raw));
  media.notFound(() => refuse('NOT_FOUND', 'no such route'));
  return streamHandle(media);
}
